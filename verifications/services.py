"""The verification lifecycle: purchase, messages, voice, cancel, report, expire.

Every interface (API, dashboard, admin, commands) calls these functions. Money rules:
- the charge and the pending Verification are written in one transaction under the account lock;
- the provider is called outside any transaction, with no database connection held;
- every refund follows a conditional status update (`filter(status=PENDING).update(...)` → 1 row
  or somebody else won), and the ledger's unique constraint backs it up: one refund, ever.
Every UPDATE that changes what a poll shows bumps `version` in the same statement (BUMP) and calls
polling.changed(), which puts the new answer in the cache once the transaction commits.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from namaskah import cache as shared_cache
from providers.base import ProviderError, ProviderRejected, Rental
from providers.registry import get_provider
from verifications import heartbeat, polling, routing, snapshot
from verifications.errors import IdempotencyInProgress, IdempotencyKeyReused, NotAvailable, PriceAboveMax, WrongState
from verifications.models import Capability, Country, Message, Service, Verification, VoiceCall

log = logging.getLogger(__name__)
Status = Verification.Status
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# SMS stamped this long before the purchase cannot be ours: a recycled number's old traffic.
CLOCK_SKEW = timedelta(minutes=2)
BUMP = {"version": F("version") + 1}


def release_db_connection() -> None:
    """Hand the pooled connection back before a slow upstream call.

    Holding it across a 300 ms upstream call starves the pool (measured: ~300 → ~20 requests/s).
    Only with a pool and outside a transaction: closing inside one would abort it.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block and connection.connection is not None:
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close()


def fingerprint(*, service: str, country: str, capability: str) -> str:
    body = json.dumps({"service": service, "country": country, "capability": capability}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


# --- purchase ---------------------------------------------------------------------------------

def purchase(*, user: User, service: Service, country: Country, capability: str,
             idempotency_key: str | None = None, max_price: Decimal | None = None) -> tuple[Verification, bool]:
    """Charge, rent a number, and return (verification, created). `max_price` is the customer's
    cap, inclusive.

    Raises NotAvailable, PriceAboveMax (nothing charged), accounts.services.InsufficientBalance,
    IdempotencyKeyReused, IdempotencyInProgress, ProviderRejected / ProviderUnavailable (the charge
    already refunded).
    """
    plan = check_available(service=service, country=country, capability=capability)
    amount = plan.price
    if max_price is not None and amount > max_price:
        raise PriceAboveMax(price=amount, max_price=max_price)
    request_fp = fingerprint(service=service.slug, country=country.code, capability=capability)

    if idempotency_key:
        replay = _replay(user=user, key=idempotency_key, request_fp=request_fp)
        if replay:
            return replay, False
    try:
        with transaction.atomic():
            account = accounts.lock_account(user=user)
            # Re-checked under the account lock: concurrent requests with one key serialise here.
            if idempotency_key:
                replay = _replay(user=user, key=idempotency_key, request_fp=request_fp)
                if replay:
                    return replay, False
            if account.balance < amount:
                raise accounts.InsufficientBalance(balance=account.balance, required=amount)
            verification = Verification.objects.create(
                user=user, service=service, country=country, capability=capability, provider=plan.first,
                price=amount, idempotency_key=idempotency_key or None, request_fingerprint=request_fp,
            )
            accounts.charge_locked(account=account, verification=verification, amount=amount)
    except IntegrityError:
        # The key's unique constraint caught a concurrent twin that SQLite let past the lock check.
        replay = _replay(user=user, key=idempotency_key, request_fp=request_fp) if idempotency_key else None
        if replay:
            return replay, False
        raise

    release_db_connection()
    try:
        # The plan's providers in order, within this request: charged once, whoever sells.
        rental, provider = routing.rent(plan, verification=verification)
    except ProviderError as exc:
        fail_and_refund(verification, reason=f"{exc.code}: {exc.message}"[:255])
        raise
    except Exception:
        fail_and_refund(verification, reason="internal error while renting the number")
        raise
    _store_rental(verification, rental, provider)
    return verification, True


def check_available(*, service: Service, country: Country, capability: str) -> routing.Plan:
    """The plan this purchase would follow: its price and the providers to try, in order. Raises
    NotAvailable, ProviderUnavailable (no provider for the country here, every circuit open) or
    ProviderRejected(no_numbers) before anything is charged."""
    if not service.enabled or not country.enabled:
        raise NotAvailable(f"{service.name} in {country.name} is not available right now")
    if not service.supports(capability):
        raise NotAvailable(f"{service.name} does not offer {Capability(capability).label} verification")
    plan = routing.plan_for(service=service, country=country, capability=capability)
    # Fail fast before charging: a clear answer, no charge-and-refund churn.
    if not plan.available:
        raise plan.refusal()
    return plan


def _replay(*, user: User, key: str, request_fp: str) -> Verification | None:
    existing = Verification.objects.filter(user=user, idempotency_key=key).select_related("service", "country").first()
    if existing is None:
        return None
    if existing.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        # Keys are remembered for 24 h; after that the key is free for a new purchase.
        Verification.objects.filter(pk=existing.pk).update(idempotency_key=None)
        return None
    if existing.request_fingerprint != request_fp:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body")
    if existing.status == Status.PENDING and not existing.phone_number:
        raise IdempotencyInProgress("The first request with this Idempotency-Key is still being processed")
    return existing


def _store_rental(verification: Verification, rental: Rental, provider) -> None:
    try:
        stored = Verification.objects.filter(pk=verification.pk, status=Status.PENDING, provider_ref="").update(
            provider_ref=rental.reference, phone_number=rental.phone_number, expires_at=rental.expires_at, **BUMP,
        )
    except Exception:
        _cancel_upstream_quietly(provider, rental.reference)
        fail_and_refund(verification, reason="could not store the rented number")
        raise
    if not stored:
        # Settled meanwhile (e.g. reconcile failed it): nobody will use this number, give it back.
        _cancel_upstream_quietly(provider, rental.reference)
        verification.refresh_from_db()
        return
    polling.changed(verification.pk, capability=verification.capability)
    verification.provider_ref = rental.reference
    verification.phone_number = rental.phone_number
    verification.expires_at = rental.expires_at


def _cancel_upstream_quietly(provider, reference: str) -> None:
    try:
        provider.cancel(reference)
    except ProviderError as exc:
        log.warning("could not cancel orphaned rental %s upstream: %s", reference, exc.code)


def fail_and_refund(verification: Verification, *, reason: str) -> None:
    with transaction.atomic():
        if Verification.objects.filter(pk=verification.pk, status=Status.PENDING).update(
            status=Status.FAILED, status_reason=reason, **BUMP
        ):
            _refund(verification, memo="purchase failed")
    verification.refresh_from_db()


def _refund(verification: Verification, *, memo: str, created_by: User | None = None):
    """Refund the charge once (accounts.services) and mark the verification refunded, in the caller's
    transaction. Raises AlreadyRefunded, NothingToRefund."""
    entry = accounts.refund_verification(verification=verification, memo=memo, created_by=created_by)
    Verification.objects.filter(pk=verification.pk).update(refunded_at=entry.created_at, **BUMP)
    verification.refunded_at = entry.created_at
    polling.changed(verification.pk, capability=verification.capability)
    return entry


# --- messages and calls --------------------------------------------------------------------------

def refresh(*, verification: Verification, force: bool = False) -> Verification:
    """Bring a verification up to date: fetch new SMS/calls (at most once per interval across all
    workers, and not at all while the background poller keeps it fresh, unless forced), complete it
    on the first code, expire and refund it when its time is up."""
    fetched = _should_poll(verification, force=force, on_request=True)
    if fetched:
        _fetch_from_provider(verification)
    _expire_if_due(verification, just_fetched=fetched)
    return verification


def poll_in_background(verification: Verification) -> bool:
    """The background poller's refresh. True if the provider was asked."""
    polled = _should_poll(verification, force=False, on_request=False)
    if polled:
        _fetch_from_provider(verification)
    _expire_if_due(verification, just_fetched=polled)
    return polled


def poll_answer(*, user: User, pk, kind: str, force: bool = False) -> polling.Answer | None:
    """What a customer's poll of GET /verify/{id}/messages ("messages") or /voice ("calls") shows,
    up to date; None when the verification is not theirs. While the background poller runs this is
    one cache read (or one SQL read when the answer is not cached at its current version): the
    provider is asked only when forced, when no poller runs, or before settling a verification past
    its expiry. Raises WrongState for the calls of an SMS verification."""
    background = not force and heartbeat.poller_running()
    if not background:
        verification = Verification.objects.filter(pk=pk, user=user).first()
        if verification is None:
            return None
        _check_kind(verification.capability, kind)
        refresh(verification=verification, force=force)
    now = timezone.now()
    current = polling.cached(pk)
    # The owner is part of the check: a cached answer is never another user's to read.
    if current is None or current.user_id != user.pk or current.kind != kind or current.past_expiry_unsettled(now):
        view = snapshot.read(user_id=user.pk, pk=pk, kind=kind)
        if view is None:
            return None
        _check_kind(view.capability, kind)
        if view.past_expiry_unsettled(now):
            refresh(verification=Verification.objects.get(pk=pk))
            view = snapshot.read(user_id=user.pk, pk=pk, kind=kind)
            if view is None:
                return None
        current = polling.answer(view, kind=kind)
        if kind == polling.kind_of(view.capability):
            polling.publish(pk, current)
    if background and current.status == Status.COMPLETED:
        heartbeat.watch(pk)  # still watched: the poller keeps asking for a second code
    return current


def _check_kind(capability: str, kind: str) -> None:
    if kind == "calls" and capability != Capability.VOICE:
        raise WrongState("This is an SMS verification: read its messages instead", code="not_voice")


def _expire_if_due(verification: Verification, *, just_fetched: bool) -> None:
    if verification.status == Status.PENDING and verification.expires_at and timezone.now() >= verification.expires_at:
        # Ask the provider one last time before refunding: a code may have arrived that no poll or
        # webhook has brought yet (the poller's lock can be 30 s old while webhooks arrive). At most
        # once a second; if the provider cannot answer, the verification expires as promised.
        if not just_fetched and _should_poll(verification, force=True, on_request=True):
            _fetch_from_provider(verification)
        expire(verification=verification)


def _should_poll(verification: Verification, *, force: bool, on_request: bool) -> bool:
    if not verification.provider_ref or verification.status not in (Status.PENDING, Status.COMPLETED):
        return False
    if verification.finished_at is not None:
        return False  # the customer is done with it: no more upstream calls for this number
    if on_request and not force and heartbeat.poller_running():
        # The poller fetches it; this request reads what we have.
        if verification.status == Status.COMPLETED:
            heartbeat.watch(verification.pk)
        return False
    # Completed verifications still receive SMS until expiry (a second code is normal).
    if verification.status == Status.COMPLETED and verification.expires_at and timezone.now() >= verification.expires_at:
        return False
    interval = settings.MESSAGE_REFRESH_INTERVAL
    # One poll per interval per verification across every worker: a thousand clients polling one
    # verification cost the upstream one call per interval. With the cache down: polling anyway.
    if force:  # "Check messages" and cron: sooner than the interval, still at most once a second
        return shared_cache.call(lambda: cache.add(f"poll-now:{verification.pk}", 1, timeout=1), True)
    if not on_request:
        if heartbeat.webhooks_arriving():
            interval = settings.WEBHOOK_POLL_INTERVAL  # SMS are pushed to us: only a safety net
        # The poller comes back every interval; a lock as long as the interval would make it skip
        # every other round.
        interval = max(1, interval - 1)
    return shared_cache.call(lambda: cache.add(f"poll:{verification.pk}", 1, timeout=interval), True)


def _fetch_from_provider(verification: Verification) -> None:
    provider = get_provider(verification.provider)
    release_db_connection()
    try:
        if verification.capability == Capability.VOICE:
            items = provider.calls(verification.provider_ref)
        else:
            items = provider.messages(verification.provider_ref)
    except ProviderError as exc:
        # Polls are served from our database when the upstream is down; nothing is lost.
        log.info("poll of %s failed upstream: %s", verification.pk, exc.code)
        return
    record_received(verification, items)


def record_received(verification: Verification, items) -> int:
    """Store SMS (or calls) the provider reported, by poll or webhook, each once; complete the
    verification on the first code. Returns how many were new."""
    not_before = verification.created_at - CLOCK_SKEW
    items = [i for i in items if i.received_at >= not_before]
    if not items:
        return 0
    voice = verification.capability == Capability.VOICE
    model = VoiceCall if voice else Message
    with transaction.atomic():
        # Under the verification's row lock, like every settle: a code is never stored on a
        # verification refunded meanwhile (cancel, expiry, staff), and a webhook and a poll bringing
        # the same SMS at once see each other.
        current = (Verification.objects.select_for_update().filter(pk=verification.pk)
                   .values_list("status", flat=True).first())
        if current not in (Status.PENDING, Status.COMPLETED):
            verification.status = current or verification.status
            return 0
        # A webhook's SMS carries no id, so the same SMS may come back from a poll under another id:
        # what arrived at the same moment with the same content is the same message.
        seen = set(model.objects.filter(verification=verification).values_list(
            "received_at", "transcription" if voice else "text"))
        fresh = [i for i in items if (i.received_at, i.transcription if voice else i.text) not in seen]
        if voice:
            VoiceCall.objects.bulk_create([
                VoiceCall(verification=verification, provider=verification.provider, provider_call_id=c.id,
                          caller=c.caller[:64], duration=c.duration, recording_url=c.recording_url[:1024],
                          transcription=c.transcription, code=(c.code or "")[:16], received_at=c.received_at)
                for c in fresh
            ], ignore_conflicts=True)
        else:
            Message.objects.bulk_create([
                Message(verification=verification, provider=verification.provider, provider_message_id=m.id,
                        sender=m.sender[:64], text=m.text, code=(m.code or "")[:16], received_at=m.received_at)
                for m in fresh
            ], ignore_conflicts=True)
        # Any SMS completes the sale, with or without a code we could read: its text is shown, so
        # refunding it at expiry would give the code away. A call completes once it has a code
        # (its recording may still be transcribed into one).
        arrived = any(i.code for i in items) if voice else True
        verification.status = current
        completed = False
        if arrived and current == Status.PENDING:
            now = timezone.now()
            # Still conditional: SQLite has no row locks, and the status is the one rule to respect.
            completed = bool(Verification.objects.filter(pk=verification.pk, status=Status.PENDING).update(
                status=Status.COMPLETED, completed_at=now, **BUMP))
            if completed:
                verification.status, verification.completed_at = Status.COMPLETED, now
        if fresh and not completed:
            Verification.objects.filter(pk=verification.pk).update(**BUMP)  # new items, same status
        if fresh or completed:
            polling.changed(verification.pk, capability=verification.capability)
    return len(fresh)


def has_code(verification: Verification) -> bool:
    """Whether what arrived completes the sale: any SMS, or a call with a code (record_received's rule)."""
    if verification.capability == Capability.VOICE:
        return VoiceCall.objects.filter(verification=verification).exclude(code="").exists()
    return Message.objects.filter(verification=verification).exists()


# --- after the code: finish, another code -----------------------------------------------------------

def finish(*, verification: Verification) -> Verification:
    """Close a verification whose code has arrived (the protocol's setStatus 6): the charge stands,
    nobody asks the upstream for it again, and the upstream is told where it has such a step.
    Repeating it changes nothing. Raises WrongState unless it is completed."""
    now = timezone.now()
    closed = Verification.objects.filter(pk=verification.pk, status=Status.COMPLETED, finished_at=None).update(
        finished_at=now)
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
    """Report a number that did not work: report upstream, then refund once. Raises like cancel()."""
    return _give_back(verification, action="report", done="reported", status=Status.FAILED,
                      reason="number reported as not working")


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
    # The provider is asked first and its "no" respected: we never refund a number it still bills.
    refresh(verification=verification)
    _check_settleable(verification, action=done)
    provider = get_provider(verification.provider)
    release_db_connection()
    try:
        getattr(provider, action)(verification.provider_ref)
    except ProviderRejected as exc:
        raise WrongState(f"The provider refused to {action} this number: {exc.message}", code=f"cannot_{action}") from exc
    return settle(verification, status=status, reason=reason, memo=memo or done, created_by=created_by)


def expire(*, verification: Verification) -> bool:
    """Expire a pending verification whose time is up without a code, refunding it. True if it did."""
    if verification.expires_at is None or timezone.now() < verification.expires_at:
        return False
    if has_code(verification):
        return False
    before = verification.status
    settle(verification, status=Status.EXPIRED, reason="no code before expiry", memo="expired without a code",
            strict=False)
    return before == Status.PENDING and verification.status == Status.EXPIRED


def expire_due(*, limit: int = 500) -> int:
    """Expire every pending verification past its expiry (for cron). Returns how many were expired."""
    due = Verification.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now()).order_by("expires_at")
    expired = 0
    for verification in due[:limit]:
        refresh(verification=verification, force=True)
        expired += verification.status == Status.EXPIRED
    return expired


def _check_settleable(verification: Verification, *, action: str) -> None:
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
            status=status, status_reason=reason, **BUMP
        )
        if won:
            polling.changed(verification.pk, capability=verification.capability)
            try:
                with transaction.atomic():  # a savepoint: the status change stands either way
                    _refund(verification, memo=memo, created_by=created_by)
            except accounts.AlreadyRefunded:
                pass  # staff refunded it earlier: settling must not refund twice, nor stay pending
    verification.refresh_from_db()
    if not won and strict:
        raise WrongState(f"This verification is already {verification.status}")
    return verification


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
        entry = _refund(verification, created_by=staff, memo=note)
    verification.refresh_from_db()
    if cancelled and verification.provider_ref:
        _cancel_upstream_quietly(get_provider(verification.provider), verification.provider_ref)
    return entry


def refunded_amount(verification: Verification):
    from accounts.models import LedgerEntry

    entry = LedgerEntry.objects.filter(verification=verification, kind=LedgerEntry.Kind.REFUND).first()
    return entry.amount if entry else None
