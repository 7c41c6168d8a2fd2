"""Celery tasks of voice verifications (registered through verifications/tasks.py).

"voice.transcribe_call" runs on the `voice` queue (namaskah/celery.py routes "voice.*" there): it is
CPU-bound and loads the model once per worker process. Downloads are I/O and run on the default
queue; the beat sweep retries the ones that failed, with the backoff stored on each call.
Every task is safe to run twice: each claims or writes its call with a conditional update.
"""
from __future__ import annotations

import logging

from celery import shared_task

from verifications import recordings, transcripts

log = logging.getLogger(__name__)


@shared_task(name="verifications.fetch_recording")
def fetch_recording(call_id: int) -> str:
    return recordings.fetch(call_id)


@shared_task(name="verifications.fetch_due_recordings")
def fetch_due_recordings() -> int:
    stored = recordings.fetch_due()
    if stored:
        log.info("fetch_due_recordings: %d recordings stored", stored)
    requeued = transcripts.requeue_stale()
    if requeued:
        log.warning("fetch_due_recordings: %d lost transcriptions queued again", requeued)
    return stored


@shared_task(name="verifications.delete_old_recordings")
def delete_old_recordings() -> int:
    deleted = recordings.delete_old()
    if deleted:
        log.info("delete_old_recordings: %d recordings deleted after the retention period", deleted)
    return deleted


@shared_task(name="voice.transcribe_call")
def transcribe_call(call_id: int, model: str = "primary") -> str:
    return transcripts.transcribe(call_id, model=model)
