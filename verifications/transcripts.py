"""Transcribing call recordings (voice/: faster-whisper, offline) on the `voice` queue, and the
customer's "Transcribe again".

A call gets its transcription, the code the transcription says and how sure we are of it
(confident | uncertain | none). The verification's code is the latest confident one; an uncertain
guess stays on its call. When the speech packages are missing or fail, the call keeps its
recording and shows "transcription unavailable": the sale was completed by the recording anyway.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import voice
from hooks import events as webhook_events
from verifications import polling
from verifications.code_length import code_length
from verifications.errors import WrongState
from verifications.models import Verification, VoiceCall
from verifications.services.common import BUMP
from verifications.snapshot import MAX_TRANSCRIBE_AGAIN

log = logging.getLogger("verifications.transcripts")

Confidence = VoiceCall.Confidence
Transcription = VoiceCall.Transcription
# A queued transcription takes seconds; one still pending after this was lost (or its queue is far behind).
QUEUED_LEASE = timedelta(minutes=3)
RANK = {Confidence.CONFIDENT: 2, Confidence.UNCERTAIN: 1, Confidence.NONE: 0, "": -1}


def enqueue(call_id: int, *, model: str = "primary") -> None:
    """Transcribe the call on the voice queue once the current transaction commits."""
    def send():
        from verifications.voice_tasks import transcribe_call

        transcribe_call.delay(call_id, model=model)

    transaction.on_commit(send, robust=True)


def transcribe(call_id: int, *, model: str = "primary") -> str:
    """Transcribe a stored recording and write the result on the call. Returns its
    transcription_state. Safe to run twice; never raises for speech failures."""
    call = VoiceCall.objects.select_related("verification__service").filter(pk=call_id).first()
    if call is None or call.recording_state != VoiceCall.Recording.STORED:
        return Transcription.UNAVAILABLE
    # Outside the try: a database error here is the task's to retry, not the call's "unavailable".
    length = code_length(call.verification.service)
    try:
        with default_storage.open(call.recording.name, "rb") as f:
            audio = f.read()
        result = voice.transcribe(audio, model=model, code_length=length)
    except voice.TranscriptionUnavailable as exc:
        log.warning("call %s: transcription unavailable: %s", call.pk, exc)
        return _unavailable(call)
    except Exception:
        # Whatever breaks in the speech stack, the call stays: with its recording, without a transcript.
        log.exception("call %s: transcription failed", call.pk)
        return _unavailable(call)
    code, confidence = _merge(call, result.code, result.confidence)
    with transaction.atomic():
        VoiceCall.objects.filter(pk=call.pk).update(
            transcription=result.text, code=(code or "")[:16], code_confidence=confidence,
            transcription_state=Transcription.DONE, transcribed_at=timezone.now(),
            transcription_model=f"{result.model}/{result.decoding}"[:64])
        Verification.objects.filter(pk=call.verification_id).update(**BUMP)
        polling.changed(call.verification_id, capability=call.verification.capability)
        if code and confidence == Confidence.CONFIDENT:
            # The code integrators wait for: verification.code_received, with the transcription.
            call.refresh_from_db()
            verification = Verification.objects.select_related("service", "country").get(pk=call.verification_id)
            webhook_events.received(verification, [call], completed=False)
    log.info("call %s transcribed by %s/%s in %.2f s: %s", call.pk, result.model, result.decoding, result.seconds,
             confidence)
    return Transcription.DONE


def _merge(call: VoiceCall, code: str | None, confidence: str) -> tuple[str | None, str]:
    """What the call shows after another pass: a second pass never takes away a confident code,
    and two confident passes that disagree leave the call uncertain (with the newer guess)."""
    if call.transcription_state != Transcription.DONE or not call.code_confidence:
        return code, confidence
    before = call.code_confidence
    if before == Confidence.CONFIDENT and confidence == Confidence.CONFIDENT and code != call.code:
        return code, Confidence.UNCERTAIN
    if RANK[confidence] < RANK[before]:
        return call.code or None, before
    return code, confidence


def _unavailable(call: VoiceCall) -> str:
    with transaction.atomic():
        # A call that was transcribed before keeps its transcript when another pass fails.
        if VoiceCall.objects.filter(pk=call.pk).exclude(transcription_state=Transcription.DONE, code_confidence__gt="") \
                .update(transcription_state=Transcription.UNAVAILABLE):
            Verification.objects.filter(pk=call.verification_id).update(**BUMP)
            polling.changed(call.verification_id, capability=call.verification.capability)
    return VoiceCall.objects.filter(pk=call.pk).values_list("transcription_state", flat=True).first()


def requeue_stale(*, now=None, limit: int = 100) -> int:
    """Queue again the transcriptions still pending QUEUED_LEASE after they were queued (a task lost
    with its worker, or a queue that was down): each claimed with a conditional update, so two
    sweeps queue it once. Returns how many were queued."""
    now = now or timezone.now()
    stale = VoiceCall.objects.filter(recording_state=VoiceCall.Recording.STORED,
                                     transcription_state=Transcription.PENDING,
                                     transcription_queued_at__lt=now - QUEUED_LEASE)
    queued = 0
    for pk, queued_at, again in stale.values_list("pk", "transcription_queued_at", "transcription_requests")[:limit]:
        with transaction.atomic():
            if VoiceCall.objects.filter(pk=pk, transcription_queued_at=queued_at).update(transcription_queued_at=now):
                enqueue(pk, model="second" if again else "primary")
                queued += 1
    return queued


def request_again(*, verification: Verification, call_id: int) -> VoiceCall:
    """The customer's "Transcribe again": one more pass (the second model when one is installed),
    at most MAX_TRANSCRIBE_AGAIN per call. Raises VoiceCall.DoesNotExist for a call that is not this
    verification's, WrongState when the recording is not ours (yet) or the passes are used up."""
    call = VoiceCall.objects.get(pk=call_id, verification=verification)
    if call.recording_state != VoiceCall.Recording.STORED:
        raise WrongState("The recording of this call is not available, so it cannot be transcribed again",
                         code="recording_not_available")
    with transaction.atomic():
        if not VoiceCall.objects.filter(pk=call.pk, recording_state=VoiceCall.Recording.STORED,
                                        transcription_requests__lt=MAX_TRANSCRIBE_AGAIN).update(
                transcription_requests=F("transcription_requests") + 1, transcription_queued_at=timezone.now()):
            raise WrongState(f"This call was transcribed again {MAX_TRANSCRIBE_AGAIN} times already",
                             code="transcribe_limit")
        if call.transcription_state == Transcription.UNAVAILABLE:
            # Shown as "transcribing…" again while the pass runs.
            VoiceCall.objects.filter(pk=call.pk).update(transcription_state=Transcription.PENDING)
        Verification.objects.filter(pk=verification.pk).update(**BUMP)
        polling.changed(verification.pk, capability=verification.capability)
        enqueue(call.pk, model="second")
    call.refresh_from_db()
    return call
