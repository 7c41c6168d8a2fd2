"""Call recordings: our own copy of each call's audio, fetched from the provider, kept through
Django's storage API, served to the verification's owner only, deleted after the retention period.

The recording is what the customer pays for on a voice number: a call whose recording we stored
completes the sale, whatever the transcription makes of it; a call we could not fetch does not
(it is shown as "recording not available yet", and fetched again with backoff until the
verification expires, with one last try before expiry refunds it).

A download is claimed with a conditional update (recording_attempts as the token, and
recording_next_attempt_at as a lease), so the task that follows a new call, the beat sweep and an
expiry can all try the same call and at most one of them downloads it at a time. No download ever
runs inside a transaction.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hooks import events as webhook_events
from providers.base import ProviderError, ProviderRejected
from providers.registry import get_provider
from namaskah.db import release_db_connection
from verifications import polling
from verifications.models import Verification, VoiceCall
from verifications.services.common import BUMP

log = logging.getLogger("verifications.recordings")

Status = Verification.Status
Recording = VoiceCall.Recording
# Retrying cannot help these: the call shows without a recording at once.
PERMANENT = frozenset({"not_supported", "bad_recording_uri", "unsupported_recording", "recording_too_large"})
FIRST_BACKOFF, MAX_BACKOFF = 5, 60  # seconds between download attempts: 5, 10, 20, 40, 60, 60…
LEASE = timedelta(minutes=2)  # a claimed attempt that never reported back (its worker died) is due again after this


def enqueue(call_ids: list[int]) -> None:
    """Fetch these calls' recordings in the background once the transaction that stored them commits."""
    if call_ids:
        transaction.on_commit(lambda: _send_fetch(call_ids), robust=True)


def _send_fetch(call_ids: list[int]) -> None:
    from verifications.voice_tasks import fetch_recording

    for call_id in call_ids:
        fetch_recording.delay(call_id)


def fetch(call_id: int, *, last_try: bool = False) -> str:
    """Try once to download a waiting call's recording and store it. Returns the call's
    recording_state afterwards. `last_try`: the verification is about to expire, so a failure
    makes the recording unavailable. Never raises for a provider failure."""
    call = VoiceCall.objects.select_related("verification").filter(pk=call_id).first()
    if call is None or call.recording_state != Recording.WAITING:
        return call.recording_state if call else Recording.UNAVAILABLE
    now = timezone.now()
    if not VoiceCall.objects.filter(pk=call.pk, recording_state=Recording.WAITING,
                                    recording_attempts=call.recording_attempts).update(
            recording_attempts=F("recording_attempts") + 1, recording_next_attempt_at=now + LEASE):
        return Recording.WAITING  # another worker is on it
    verification = call.verification
    if verification.status not in (Status.PENDING, Status.COMPLETED):
        return _give_up(call, f"the verification is {verification.status}")
    if not call.recording_uri:
        return _give_up(call, "the provider gave no recording")
    provider = get_provider(call.provider)
    release_db_connection()
    try:
        recording = provider.recording(call.recording_uri)
    except ProviderError as exc:
        log.info("recording of call %s (verification %s) failed: %s", call.pk, verification.pk, exc.code)
        expired = verification.expires_at is not None and timezone.now() >= verification.expires_at
        if last_try or expired or (isinstance(exc, ProviderRejected) and exc.code in PERMANENT):
            return _give_up(call, exc.message)
        _back_off(call, exc.message)
        return Recording.WAITING
    name = default_storage.save(f"recordings/{verification.pk}/{call.pk}.{recording.extension}",
                                ContentFile(recording.content))
    return _store(call, name=name, content_type=recording.content_type, size=len(recording.content))


def _store(call: VoiceCall, *, name: str, content_type: str, size: int) -> str:
    now = timezone.now()
    with transaction.atomic():
        # Under the verification's row lock, like every settle: a recording never completes a
        # verification that was refunded meanwhile, nor is kept for it.
        status = (Verification.objects.select_for_update().filter(pk=call.verification_id)
                  .values_list("status", flat=True).first())
        kept = status in (Status.PENDING, Status.COMPLETED) and VoiceCall.objects.filter(
            pk=call.pk, recording_state=Recording.WAITING).update(
            recording_state=Recording.STORED, recording=name, recording_content_type=content_type,
            recording_size=size, recording_error="", recording_next_attempt_at=None,
            delivered_at=now, transcription_state=VoiceCall.Transcription.PENDING, transcription_queued_at=now)
        if kept:
            # The recording is ours: the sale is complete (the upstream billed us for the call).
            completed = bool(Verification.objects.filter(pk=call.verification_id, status=Status.PENDING).update(
                status=Status.COMPLETED, completed_at=now, **BUMP))
            if completed:
                # Integrators hear of the sale now; the code follows once transcribed (transcripts.py).
                verification = Verification.objects.select_related("service", "country").get(pk=call.verification_id)
                webhook_events.received(verification, [], completed=True)
            else:
                Verification.objects.filter(pk=call.verification_id).update(**BUMP)
            polling.changed(call.verification_id, capability=call.verification.capability)
            from verifications import transcripts

            transcripts.enqueue(call.pk)
    if not kept:
        default_storage.delete(name)  # refunded meanwhile, or stored by another worker
        if status not in (Status.PENDING, Status.COMPLETED):
            return _give_up(call, f"the verification is {status}")
        return VoiceCall.objects.filter(pk=call.pk).values_list("recording_state", flat=True).first()
    return Recording.STORED


def _back_off(call: VoiceCall, error: str) -> None:
    attempts = call.recording_attempts + 1
    delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (attempts - 1))
    with transaction.atomic():
        if VoiceCall.objects.filter(pk=call.pk, recording_state=Recording.WAITING).update(
                recording_next_attempt_at=timezone.now() + timedelta(seconds=delay), recording_error=error[:255]):
            # The card says "recording not available yet" from the first failure on.
            Verification.objects.filter(pk=call.verification_id).update(**BUMP)
            polling.changed(call.verification_id, capability=call.verification.capability)


def _give_up(call: VoiceCall, error: str) -> str:
    with transaction.atomic():
        if VoiceCall.objects.filter(pk=call.pk, recording_state=Recording.WAITING).update(
                recording_state=Recording.UNAVAILABLE, recording_error=error[:255], recording_next_attempt_at=None,
                transcription_state=VoiceCall.Transcription.UNAVAILABLE):
            Verification.objects.filter(pk=call.verification_id).update(**BUMP)
            polling.changed(call.verification_id, capability=call.verification.capability)
    return Recording.UNAVAILABLE


def fetch_due(*, limit: int = 200) -> int:
    """Fetch every waiting recording whose next attempt is due (the beat sweep). Returns how many were stored."""
    now = timezone.now()
    due = (VoiceCall.objects.filter(recording_state=Recording.WAITING)
           .filter(Q(recording_next_attempt_at__isnull=True) | Q(recording_next_attempt_at__lte=now))
           .order_by("recording_next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(fetch(pk) == Recording.STORED for pk in list(due))


def fetch_before_expiry(verification: Verification) -> None:
    """One last try for each recording still waiting, before expiry refunds the verification."""
    for pk in VoiceCall.objects.filter(verification=verification, recording_state=Recording.WAITING).values_list(
            "pk", flat=True):
        fetch(pk, last_try=True)


def delete_old(*, now=None, limit: int = 1000) -> int:
    """Delete the recordings older than RECORDING_RETENTION_DAYS (the beat task). Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RECORDING_RETENTION_DAYS)
    deleted = 0
    for call in (VoiceCall.objects.filter(recording_state=Recording.STORED, received_at__lt=cutoff)
                 .select_related("verification")[:limit]):
        name = call.recording.name
        with transaction.atomic():
            if not VoiceCall.objects.filter(pk=call.pk, recording_state=Recording.STORED).update(
                    recording_state=Recording.DELETED, recording=""):
                continue
            Verification.objects.filter(pk=call.verification_id).update(**BUMP)
            polling.changed(call.verification_id, capability=call.verification.capability)
        # After the commit: the row no longer points at the file, so a failed delete leaves an
        # orphan (logged), never a row whose file is gone.
        try:
            default_storage.delete(name)
        except Exception:
            log.exception("could not delete recording %s", name)
        deleted += 1
    return deleted


def stored(*, verification: Verification, call_id: int) -> VoiceCall | None:
    """The call of this verification whose recording we hold, or None."""
    return (VoiceCall.objects.filter(pk=call_id, verification=verification, recording_state=Recording.STORED)
            .exclude(recording="").first())


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """The (first, last) byte of a single-range `Range` header; None: serve it whole (no header,
    several ranges or a form we ignore, as RFC 9110 allows); False: unsatisfiable (416)."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end
