"""What every settlement shares: the version bump, the pooled connection handed back before an
upstream call, the one settle-and-refund path, and whether a code arrived."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.db.models import F

from accounts import services as accounts
from accounts.models import User
from hooks import events as webhook_events
from providers.base import ProviderError
from verifications import polling
from verifications.errors import WrongState
from verifications.models import Capability, Message, Verification, VoiceCall

log = logging.getLogger("verifications.services")

Status = Verification.Status


BUMP = {"version": F("version") + 1}



def cancel_upstream_quietly(provider, reference: str) -> bool:
    """Give a rented number back upstream; False (logged) if the provider could not be told."""
    try:
        provider.cancel(reference)
    except ProviderError as exc:
        log.warning("could not cancel orphaned rental %s upstream: %s", reference, exc.code)
        return False
    return True


def mark_orphan(pk) -> None:
    """The upstream may still rent a number for this settled verification: give it back (orphans.py)."""
    Verification.objects.filter(pk=pk, orphan_check_at__isnull=True).update(orphan_check_at=timezone.now())
    transaction.on_commit(lambda: _send_give_back(pk), robust=True)


def fail_and_refund(verification: Verification, *, reason: str, orphan: bool = False) -> None:
    """Fail a purchase and refund it once. `orphan`: the upstream may have sold a number whose answer
    we lost — it is then asked again with the same idempotency key and the number given back
    (services/orphans.py), so nothing stays rented upstream and unpaid here."""
    extra = {"orphan_check_at": timezone.now()} if orphan else {}
    with transaction.atomic():
        if Verification.objects.filter(pk=verification.pk, status=Status.PENDING).update(
            status=Status.FAILED, status_reason=reason, next_check_at=None, **extra, **BUMP
        ):
            refund(verification, memo="purchase failed")
            if orphan:
                transaction.on_commit(lambda: _send_give_back(verification.pk), robust=True)
    verification.refresh_from_db()


def _send_give_back(pk) -> None:
    from verifications.tasks import give_back_orphan  # tasks import services: resolved at call time

    # A few seconds' pause: an upstream still busy with the lost request answers the replay then.
    give_back_orphan.apply_async((str(pk),), countdown=5)


def refund(verification: Verification, *, memo: str, created_by: User | None = None):
    """Refund the charge once (accounts.services) and mark the verification refunded, in the caller's
    transaction. Raises AlreadyRefunded, NothingToRefund."""
    entry = accounts.refund_verification(verification=verification, memo=memo, created_by=created_by)
    Verification.objects.filter(pk=verification.pk).update(refunded_at=entry.created_at, **BUMP)
    verification.refunded_at = entry.created_at
    polling.changed(verification.pk, capability=verification.capability)
    webhook_events.refunded(verification, entry)
    return entry


def has_code(verification: Verification) -> bool:
    """Whether what arrived completes the sale: any SMS, or a call whose recording we received (or
    whose code the provider read), whatever the transcription says (record_received's rule)."""
    if verification.capability == Capability.VOICE:
        return VoiceCall.objects.filter(verification=verification, delivered_at__isnull=False).exists()
    return Message.objects.filter(verification=verification).exists()


def check_settleable(verification: Verification, *, action: str) -> None:
    if verification.status != Status.PENDING:
        raise WrongState(f"This verification is {verification.status} and cannot be {action}")
    if has_code(verification):
        raise WrongState(f"A code has arrived: the verification cannot be {action}", code="code_received")
    if not verification.provider_ref:
        raise WrongState("The number is still being rented; try again in a moment", code="purchase_in_progress")


def settle(verification: Verification, *, status: str, reason: str, memo: str, strict: bool = True,
           created_by: User | None = None) -> Verification:
    with transaction.atomic():
        won = Verification.objects.filter(pk=verification.pk, status=Status.PENDING).update(
            status=status, status_reason=reason, next_check_at=None, **BUMP
        )
        if won:
            polling.changed(verification.pk, capability=verification.capability)
            try:
                with transaction.atomic():  # a savepoint: the status change stands either way
                    refund(verification, memo=memo, created_by=created_by)
            except accounts.AlreadyRefunded:
                pass  # staff refunded it earlier: settling must not refund twice, nor stay pending
    verification.refresh_from_db()
    if not won and strict:
        raise WrongState(f"This verification is already {verification.status}")
    return verification
