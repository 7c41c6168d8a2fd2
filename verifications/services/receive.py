"""Messages and calls: what a poll shows, fetching from the provider, storing what arrived (by poll
or webhook) each once, and expiry."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from namaskah import cache as shared_cache
from providers.base import ProviderError
from providers.registry import get_provider
from verifications import heartbeat, polling, recordings, snapshot
from verifications.errors import WrongState
from verifications.models import Capability, Message, Verification, VoiceCall
from verifications.services.common import BUMP, Status, has_code, log, release_db_connection, settle

CLOCK_SKEW = timedelta(minutes=2)


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
    """Expire a pending verification whose time is up without a code, refunding it. True if it did."""
    if verification.expires_at is None or timezone.now() < verification.expires_at:
        return False
    if verification.capability == Capability.VOICE and verification.status == Status.PENDING:
        recordings.fetch_before_expiry(verification)  # a call we hold the recording of is never refunded
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
