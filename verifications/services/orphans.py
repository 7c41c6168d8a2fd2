"""Purchases the upstream completed but whose answer we lost (a read timeout after the sale, a
dropped connection, a failed details call, a number we could not store): the customer was refunded
at once, and the number is found and given back here — asked again with the same idempotency key
(the upstream answers with the rental it already made, or makes one we give back just the same),
then cancelled upstream — so no number stays rented and unpaid.

A row waits while `orphan_check_at` is set. The give_back_orphan task runs a few seconds after the
failure and retries with backoff; reconcile (every five minutes) sweeps whatever is still waiting.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from providers.base import ProviderRejected, ProviderUnavailable
from providers.registry import get_provider
from verifications.models import Verification

log = logging.getLogger(__name__)
# Give up after this long: the upstream's own rental has expired by then, and staff see the reason.
GIVE_UP_AFTER = timedelta(hours=2)
# A lost purchase's number was bought within this long of the purchase (the provider's clock may differ).
SEARCH_WINDOW = timedelta(minutes=5)


def give_back(pk) -> str:
    """Find and give back the number an orphaned purchase may have rented. Outcomes: done (nothing
    waiting), nothing_sold, given_back, gave_up. Raises ProviderUnavailable to be retried later."""
    verification = (Verification.objects.select_related("service", "country")
                    .filter(pk=pk, orphan_check_at__isnull=False).first())
    if verification is None:
        return "done"
    provider = get_provider(verification.provider)
    if timezone.now() - verification.created_at > GIVE_UP_AFTER:
        _clear(verification, note="orphan: gave up asking the upstream")
        log.error("orphaned purchase %s: the upstream could not be asked for %s; check it by hand",
                  verification.pk, GIVE_UP_AFTER)
        return "gave_up"
    if provider.can_recover_lost_purchases:
        return _recover(verification, provider)
    try:
        rental = provider.rent(service=verification.service.provider_service_name,
                               capability=verification.capability, country=verification.country.code,
                               max_price=verification.price, idempotency_key=str(verification.pk))
    except ProviderRejected as exc:
        _clear(verification, note=f"orphan: nothing rented upstream ({exc.code})")
        return "nothing_sold"
    except ProviderUnavailable:
        Verification.objects.filter(pk=pk).update(orphan_check_at=timezone.now())
        raise
    try:
        provider.cancel(rental.reference)
    except ProviderRejected as exc:
        # Refused: the rental may already be over upstream. Nothing more to do but say so.
        log.warning("orphaned purchase %s: the upstream refused to cancel %s (%s)", pk, rental.reference, exc.code)
        _clear(verification, note=f"orphan: upstream refused to cancel {rental.reference} ({exc.code})")
        return "given_back"
    _clear(verification, note=f"orphan: {rental.reference} given back upstream")
    log.info("orphaned purchase %s: rental %s given back upstream", pk, rental.reference)
    return "given_back"


def _recover(verification: Verification, provider) -> str:
    """A provider with a search of its own (the SMS-Activate protocol's: the same orderId, then its
    open activations) finds the lost number without buying another where orderId is not honoured."""
    held = set(Verification.objects.filter(provider=verification.provider, created_at__gte=verification.created_at
                                           - GIVE_UP_AFTER).exclude(provider_ref="").values_list("provider_ref", flat=True))
    try:
        found = provider.recover_lost_purchase(
            idempotency_key=str(verification.pk), service=verification.service.provider_service_name,
            country=verification.country.code, capability=verification.capability, max_price=verification.price,
            since=verification.created_at, until=verification.created_at + SEARCH_WINDOW, exclude=held,
            give_back=True)
    except ProviderRejected as exc:
        # Found, but not given back yet (a cancel too early after the purchase): asked again later.
        Verification.objects.filter(pk=verification.pk).update(orphan_check_at=timezone.now())
        raise ProviderUnavailable(f"orphaned purchase {verification.pk}: not given back yet ({exc.code})",
                                  code="give_back_refused", retry_after=60) from exc
    except ProviderUnavailable:
        Verification.objects.filter(pk=verification.pk).update(orphan_check_at=timezone.now())
        raise
    if found.rental is None:
        _clear(verification, note="orphan: nothing rented upstream")
        return "nothing_sold"
    _clear(verification, note=f"orphan: {found.rental.reference} given back upstream ({found.found_by})")
    log.info("orphaned purchase %s: rental %s given back upstream", verification.pk, found.rental.reference)
    return "given_back"


def _clear(verification: Verification, *, note: str) -> None:
    reason = f"{verification.status_reason}; {note}"[:255] if verification.status_reason else note[:255]
    Verification.objects.filter(pk=verification.pk).update(orphan_check_at=None, status_reason=reason)


def waiting(*, limit: int = 500) -> list:
    """The orphans still waiting, oldest first (reconcile's sweep)."""
    return list(Verification.objects.filter(orphan_check_at__isnull=False).order_by("orphan_check_at")
                .values_list("pk", flat=True)[:limit])
