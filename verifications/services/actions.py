"""What customers and staff do to a verification: finish, another code, cancel, report, dismiss,
staff refunds."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import AlreadyRefunded
from providers.base import ProviderError, ProviderRejected
from providers.registry import get_provider
from namaskah.db import release_db_connection
from verifications import polling
from verifications.errors import WrongState
from verifications.models import Verification
from verifications.services.common import (
    BUMP, Status, cancel_upstream_quietly, check_settleable, log, refund, settle,
)
from verifications.services.receive import refresh

# --- after the code: finish, another code -----------------------------------------------------------

def finish(*, verification: Verification) -> Verification:
    """Close a verification whose code has arrived (the protocol's setStatus 6): the charge stands,
    nobody asks the upstream for it again, and the upstream is told where it has such a step.
    Repeating it changes nothing. Raises WrongState unless it is completed."""
    now = timezone.now()
    closed = Verification.objects.filter(pk=verification.pk, status=Status.COMPLETED, finished_at=None).update(
        finished_at=now, next_check_at=None)
    verification.refresh_from_db()
    if verification.status != Status.COMPLETED:
        raise WrongState(f"This verification is {verification.status}: there is nothing to finish")
    if closed and verification.provider_ref:
        provider = get_provider(verification.provider)
        release_db_connection()
        try:
            provider.finish(verification.provider_ref)
        except ProviderError as exc:
            # Ours is closed either way; the upstream lets the rental lapse at its expiry.
            log.info("could not finish %s upstream: %s", verification.pk, exc.code)
    return verification


def request_another_code(*, verification: Verification) -> Verification:
    """Mark that the customer wants another code (the protocol's setStatus 3, free): SMS stored after
    this moment are the newer ones. Nothing to mark while no code has arrived yet. Raises WrongState
    when the verification is finished, given back, or past its expiry."""
    refresh(verification=verification)
    if verification.status == Status.PENDING:
        return verification
    now = timezone.now()
    marked = Verification.objects.filter(
        pk=verification.pk, status=Status.COMPLETED, finished_at=None, expires_at__gt=now,
    ).update(another_code_requested_at=now)
    verification.refresh_from_db()
    if not marked:
        raise WrongState("No other code can arrive for this verification any more")
    return verification


# --- cancel, report, expire ------------------------------------------------------------------------

def cancel(*, verification: Verification) -> Verification:
    """Cancel a pending verification without a code and refund it once.

    Raises WrongState (not pending, code received, provider refused), ProviderUnavailable.
    """
    return _give_back(verification, action="cancel", done="cancelled", status=Status.CANCELLED,
                      reason="cancelled by customer")


def report(*, verification: Verification) -> Verification:
    """Report a number that did not work: report upstream, then refund once. Raises like cancel().

    Also after delivery (the code did not work, say): the upstream decides, and we refund only
    when it accepts the report, since it then refunds us."""
    refresh(verification=verification)
    if verification.status == Status.COMPLETED:
        return _report_delivered(verification)
    return _give_back(verification, action="report", done="reported", status=Status.FAILED,
                      reason="number reported as not working")


def _report_delivered(verification: Verification) -> Verification:
    if verification.expires_at and timezone.now() >= verification.expires_at:
        raise WrongState("This number's time is over: it can no longer be reported", code="cannot_report")
    provider = get_provider(verification.provider)
    release_db_connection()
    try:
        provider.report(verification.provider_ref)
    except ProviderRejected as exc:
        raise WrongState(f"The provider refused to report this number: {exc.message}", code="cannot_report") from exc
    with transaction.atomic():
        # Conditional, like every settlement: two reports at once refund once.
        if Verification.objects.filter(pk=verification.pk, status=Status.COMPLETED).update(
                status=Status.FAILED, status_reason="reported after delivery; the upstream accepted", **BUMP):
            polling.changed(verification.pk, capability=verification.capability)
            try:
                with transaction.atomic():  # a savepoint: the status change stands either way
                    refund(verification, memo="reported")
            except AlreadyRefunded:
                pass  # staff refunded it earlier: never twice
    verification.refresh_from_db()
    return verification


def staff_cancel(*, verification: Verification, staff: User, reason: str) -> Verification:
    """Cancel a pending verification without a code on behalf of staff: the customer's cancel (the
    provider asked first, one refund), with the staff member and the reason recorded. Raises like cancel()."""
    note = f"cancelled by staff: {reason.strip()}"[:255]
    return _give_back(verification, action="cancel", done="cancelled", status=Status.CANCELLED, reason=note,
                      memo=note, created_by=staff)


def dismiss(*, user: User, verification_id) -> Verification:
    """Take a finished verification's card off the user's dashboard, on every device (the history
    keeps it). Idempotent. Raises Verification.DoesNotExist for another user's, WrongState while pending."""
    verification = Verification.objects.get(pk=verification_id, user=user)
    if verification.status == Status.PENDING:
        # A pending card is a number still charged and waiting: it goes by its code, cancel or expiry.
        raise WrongState("A verification still waiting for its code cannot be dismissed: cancel it instead.")
    Verification.objects.filter(pk=verification.pk, dismissed_at__isnull=True).exclude(status=Status.PENDING).update(
        dismissed_at=timezone.now())
    verification.refresh_from_db(fields=["dismissed_at"])
    return verification


def _give_back(verification: Verification, *, action: str, done: str, status: str, reason: str,
               memo: str = "", created_by: User | None = None) -> Verification:
    # The provider is asked first and its "no" respected: we never refund a number it still bills
    # (an upstream refuses to cancel a number that got its SMS, which the next check brings).
    verification.refresh_from_db()
    check_settleable(verification, action=done)
    provider = get_provider(verification.provider)
    release_db_connection()
    try:
        getattr(provider, action)(verification.provider_ref)
    except ProviderRejected as exc:
        raise WrongState(f"The provider refused to {action} this number: {exc.message}", code=f"cannot_{action}") from exc
    return settle(verification, status=status, reason=reason, memo=memo or done, created_by=created_by)


def staff_refund(*, verification: Verification, staff: User, reason: str = ""):
    """Refund by staff, recorded with their name and reason (ledger memo; status_reason of a pending
    one, which is cancelled with it and its number given back upstream, so nothing refunds it again
    later). Raises AlreadyRefunded, NothingToRefund."""
    why = f": {reason.strip()}" if reason.strip() else ""
    note = f"refund by staff{why}"[:255]
    with transaction.atomic():
        cancelled = Verification.objects.filter(pk=verification.pk, status=Status.PENDING).update(
            status=Status.CANCELLED, status_reason=f"refunded by staff{why}"[:255], **BUMP)
        if cancelled:
            polling.changed(verification.pk, capability=verification.capability)
        entry = refund(verification, created_by=staff, memo=note)
    verification.refresh_from_db()
    if cancelled and verification.provider_ref:
        cancel_upstream_quietly(get_provider(verification.provider), verification.provider_ref)
    return entry


def refunded_amount(verification: Verification):
    from accounts.models import LedgerEntry

    entry = LedgerEntry.objects.filter(verification=verification, kind=LedgerEntry.Kind.REFUND).first()
    return entry.amount if entry else None
