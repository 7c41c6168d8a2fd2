"""Settle what drifted between our pending verifications and the provider (e.g. after a crash).

Two kinds of drift:
- stuck provisioning: we charged and wrote a pending row but never stored a number (the process
  died around the upstream call). Replaying the purchase with the same idempotency key returns
  the number if the upstream sold one; we give it back upstream and refund the customer.
- pending rows whose upstream rental ended (cancelled, timed out, refunded, reported): we fetch
  its messages once more — a code wins — and otherwise settle and refund.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from providers.base import ProviderError, ProviderRejected, ProviderUnavailable, RentalState
from providers.registry import get_provider
from verifications import services
from verifications.models import Verification

log = logging.getLogger(__name__)
Status = Verification.Status
STUCK_AFTER = timedelta(minutes=5)
ENDED_UPSTREAM = {RentalState.CANCELLED, RentalState.EXPIRED, RentalState.REFUNDED, RentalState.REPORTED}


@dataclass
class Report:
    checked: int = 0
    settled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"reconcile: {self.checked} pending checked, {len(self.settled)} settled, {len(self.skipped)} skipped (provider unavailable)"


def reconcile(*, dry_run: bool = False, limit: int = 500) -> Report:
    """Compare pending verifications with the provider and settle the drifted ones."""
    report = Report()
    now = timezone.now()
    pending = (Verification.objects.filter(status=Status.PENDING).select_related("service", "country")
               .order_by("created_at")[:limit])
    for verification in pending:
        report.checked += 1
        try:
            if not verification.provider_ref:
                if verification.created_at <= now - STUCK_AFTER:
                    _settle_stuck(verification, report, dry_run=dry_run)
                continue
            _settle_ended(verification, report, dry_run=dry_run)
        except ProviderUnavailable:
            report.skipped.append(str(verification.pk))
    return report


def _settle_stuck(verification: Verification, report: Report, *, dry_run: bool) -> None:
    report.settled.append(f"{verification.pk}: charged but no number stored")
    if dry_run:
        return
    provider = get_provider(verification.provider)
    try:
        rental = provider.rent(service=verification.service.provider_service_name, capability=verification.capability,
                               country=verification.country.code, max_price=verification.price,
                               idempotency_key=str(verification.pk))
    except ProviderRejected:
        rental = None  # nothing was sold
    if rental is not None:
        try:
            provider.cancel(rental.reference)
        except ProviderError as exc:
            log.warning("reconcile could not return %s upstream: %s", rental.reference, exc.code)
    services.fail_and_refund(verification, reason="settled by reconcile: no number was stored")


def _settle_ended(verification: Verification, report: Report, *, dry_run: bool) -> None:
    provider = get_provider(verification.provider)
    state = provider.status(verification.provider_ref).state
    if state not in ENDED_UPSTREAM and state != RentalState.COMPLETED:
        return
    report.settled.append(f"{verification.pk}: upstream {state}")
    if dry_run:
        return
    services.refresh(verification=verification, force=True)
    if verification.status == Status.PENDING and state in ENDED_UPSTREAM and not services.has_code(verification):
        services.settle(verification, status=Status.EXPIRED if state == RentalState.EXPIRED else Status.FAILED,
                         reason=f"settled by reconcile: upstream {state}", memo="settled by reconcile", strict=False)
