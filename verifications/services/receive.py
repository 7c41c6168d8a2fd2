"""Messages and calls: what a poll shows, fetching from the provider, storing what arrived (by poll
or webhook) each once, and expiry."""
from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from hooks import events as webhook_events
from namaskah import cache as shared_cache
from providers.base import ProviderError, ProviderRejected
from providers.registry import background_provider, get_provider
from namaskah.db import release_db_connection
from verifications import checks, polling, recordings, snapshot
from verifications.errors import WrongState
from verifications.models import Capability, Message, Verification, VoiceCall
from verifications.services.common import BUMP, Status, has_code, log, settle

CLOCK_SKEW = timedelta(minutes=2)


# --- messages and calls --------------------------------------------------------------------------

def refresh(*, verification: Verification, force: bool = False) -> Verification:
    """Bring a verification up to date. Only a customer's explicit "Check now" (force) asks the
    upstream from a request, at most once a second per verification; every other read shows what
    the background checks (verifications/checks.py) and webhooks stored. Expiry is the schedule's."""
    if force and _may_check_now(verification):
        _fetch_from_provider(verification, background=False)
    return verification


def poll_answer(*, user: User, pk, kind: str, force: bool = False,
                read_ahead: shared_cache.ReadAhead | None = None) -> polling.Answer | None:
    """What a customer's poll of GET /verify/{id}/messages ("messages") or /voice ("calls") shows;
    None when the verification is not theirs. One cache read, or one SQL read when the answer is not
    cached at its current version; the provider is asked only when forced. Raises WrongState for the
    calls of an SMS verification. `read_ahead`: the request's early read of the cached answer."""
    if force:
        verification = Verification.objects.filter(pk=pk, user=user).first()
        if verification is None:
            return None
        _check_kind(verification.capability, kind)
        refresh(verification=verification, force=True)
        read_ahead = None  # read before the check: it may have brought something new
    current = polling.cached(pk, read_ahead=read_ahead)
    # The owner is part of the check: a cached answer is never another user's to read.
    if current is None or current.user_id != user.pk or current.kind != kind:
        view = snapshot.read(user_id=user.pk, pk=pk, kind=kind)
        if view is None:
            return None
        _check_kind(view.capability, kind)
        current = polling.answer(view, kind=kind)
        if kind == polling.kind_of(view.capability):
            polling.publish(pk, current)
    return current


def _check_kind(capability: str, kind: str) -> None:
    if kind == "calls" and capability != Capability.VOICE:
        raise WrongState("This is an SMS verification: read its messages instead", code="not_voice")


def _may_check_now(verification: Verification) -> bool:
    if not verification.provider_ref or verification.status not in (Status.PENDING, Status.COMPLETED):
        return False
    if verification.finished_at is not None:
        return False  # the customer is done with it: no more upstream calls for this number
    if verification.status == Status.COMPLETED and verification.expires_at and timezone.now() >= verification.expires_at:
        return False
    # A thousand clients pressing "Check now" on one verification cost the upstream one call a
    # second. With the cache down: asking anyway.
    return shared_cache.call(lambda: cache.add(f"poll-now:{verification.pk}", 1, timeout=1), True)


def _fetch_from_provider(verification: Verification, *, background: bool) -> bool:
    """Ask the provider for the verification's SMS or calls and store what is new. False when the
    provider could not answer (nothing is lost: the next check asks again)."""
    items = _ask_provider(verification, background=background)
    if items is None:
        return False
    record_received(verification, items)
    return True


def _ask_provider(verification: Verification, *, background: bool):
    # Background reads have their own circuit: a sweep failing or rate-limited must not stop sales.
    provider = background_provider(verification.provider) if background else get_provider(verification.provider)
    release_db_connection()
    try:
        if verification.capability == Capability.VOICE:
            return provider.calls(verification.provider_ref)
        return provider.messages(verification.provider_ref)
    except ProviderError as exc:
        log.info("check of %s failed upstream: %s", verification.pk, exc.code)
        return None


def check(claim: checks.Claim) -> str:
    """One background check of a claimed verification: new SMS/calls stored, expiry on time.
    Returns the outcome: stale (another task holds the claim), closed, checked, failed, expired."""
    if not checks.take(claim):
        return "stale"
    verification = Verification.objects.filter(pk=claim.pk).first()
    now = timezone.now()
    if verification is None or not verification.provider_ref:
        return "closed"
    if verification.status == Status.PENDING and verification.expires_at and now >= verification.expires_at:
        return "expired" if expire_with_last_look(verification) else "checked"
    if verification.status not in (Status.PENDING, Status.COMPLETED) or verification.finished_at is not None:
        Verification.objects.filter(pk=claim.pk).update(next_check_at=None)
        return "closed"
    return "checked" if _fetch_from_provider(verification, background=True) else "failed"


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
        # what arrived at the same moment with the same content is the same message. Calls always
        # come from a poll, with the provider's id (their transcription is ours, written later).
        if voice:
            seen = set(VoiceCall.objects.filter(verification=verification).values_list("provider_call_id", flat=True))
            fresh = [c for c in items if c.id not in seen]
            now = timezone.now()
            created = VoiceCall.objects.bulk_create([_new_call(verification, c, now) for c in fresh],
                                                    ignore_conflicts=True)
            waiting = [c.provider_call_id for c in created if c.recording_state == VoiceCall.Recording.WAITING]
            if waiting:
                recordings.enqueue(list(VoiceCall.objects.filter(
                    provider=verification.provider, provider_call_id__in=waiting).values_list("pk", flat=True)))
        else:
            seen = set(model.objects.filter(verification=verification).values_list("received_at", "text"))
            fresh = [i for i in items if (i.received_at, i.text) not in seen]
            Message.objects.bulk_create([
                Message(verification=verification, provider=verification.provider, provider_message_id=m.id,
                        sender=m.sender[:64], text=m.text, code=(m.code or "")[:16], received_at=m.received_at)
                for m in fresh
            ], ignore_conflicts=True)
        # Any SMS completes the sale, with or without a code we could read: its text is shown, so
        # refunding it at expiry would give the code away. A call completes it once its recording
        # is ours (verifications/recordings.py), or here when the provider read the code itself.
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
            webhook_events.received(verification, fresh, completed=completed)
    return len(fresh)


def _new_call(verification: Verification, call, now) -> VoiceCall:
    # A provider that reads the code itself (the SMS-Activate protocol) delivers it with the call;
    # otherwise the recording is fetched, and transcribed by us.
    provider_code = (call.code or "")[:16]
    recording = VoiceCall.Recording.WAITING if call.recording_url else VoiceCall.Recording.UNAVAILABLE
    if provider_code or call.transcription:
        transcription = VoiceCall.Transcription.DONE
    else:
        transcription = VoiceCall.Transcription.PENDING if call.recording_url else VoiceCall.Transcription.UNAVAILABLE
    return VoiceCall(verification=verification, provider=verification.provider, provider_call_id=call.id,
                     caller=call.caller[:64], duration=call.duration, recording_uri=call.recording_url[:1024],
                     recording_state=recording, transcription=call.transcription, code=provider_code,
                     code_confidence=(VoiceCall.Confidence.CONFIDENT if provider_code else
                                      VoiceCall.Confidence.NONE if call.transcription else ""),
                     transcription_state=transcription, transcribed_at=now if call.transcription or provider_code
                     else None, delivered_at=now if provider_code else None, received_at=call.received_at)


def expire(*, verification: Verification) -> bool:
    """Expire a pending verification whose time is up without a code, refunding it. True if it did.
    Call expire_with_last_look() instead unless the upstream was asked a moment ago."""
    if verification.expires_at is None or timezone.now() < verification.expires_at:
        return False
    if verification.capability == Capability.VOICE and verification.status == Status.PENDING:
        # One last try at each recording still waiting: a call we hold the recording of is never refunded.
        recordings.fetch_before_expiry(verification)
    if has_code(verification):
        return False
    before = verification.status
    settle(verification, status=Status.EXPIRED, reason="no code before expiry", memo="expired without a code",
           strict=False)
    return before == Status.PENDING and verification.status == Status.EXPIRED


# If the upstream cannot be asked at expiry, waiting this long for an answer before refunding anyway.
EXPIRY_GRACE = timedelta(seconds=60)


def expire_with_last_look(verification: Verification) -> bool:
    """Expiry on schedule (the check due at `expires_at`, and the expire_due sweep). The upstream
    bills what it delivers, so before the refund: one last look at its SMS/calls, then the number
    given back upstream — an upstream that refuses because something arrived is looked at once
    more. What arrived is stored under the verification's row lock and completes the sale; the refund
    is the conditional update every settlement goes through, which then finds it completed and pays
    nothing back. So a code arriving at the last second is kept, with no upstream call inside a
    transaction. If the upstream cannot answer, it is asked again for EXPIRY_GRACE, then the refund
    is given as promised. True if it expired the verification."""
    now = timezone.now()
    verification.refresh_from_db()
    if verification.status != Status.PENDING or not verification.expires_at or now < verification.expires_at:
        return False
    within_grace = now < verification.expires_at + EXPIRY_GRACE
    if verification.provider_ref:
        items = _ask_provider(verification, background=True)
        if items is None and within_grace:
            return False  # the next check asks again
        if items:
            record_received(verification, items)
        if verification.status == Status.PENDING and not has_code(verification):
            given_back = _give_back_at_expiry(verification)
            if given_back is None and within_grace:
                return False
    return expire(verification=verification)


def _give_back_at_expiry(verification: Verification) -> bool | None:
    """Cancel the expired number upstream so that nothing can arrive (and be billed) after our
    refund. True given back, False refused (then looked at once more), None upstream unavailable."""
    provider = background_provider(verification.provider)
    try:
        provider.cancel(verification.provider_ref)
    except ProviderRejected:
        # Already over upstream, or something arrived meanwhile: look once more either way.
        items = _ask_provider(verification, background=True)
        if items:
            record_received(verification, items)
        return False
    except ProviderError as exc:
        log.info("could not give back expired %s upstream: %s", verification.pk, exc.code)
        return None
    return True


def expire_due(*, limit: int = 500) -> int:
    """Expire every pending verification past its expiry (the beat task and the command). Returns
    how many were expired."""
    due = Verification.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now()).order_by("expires_at")
    return sum(expire_with_last_look(verification) for verification in due[:limit])
