"""Delivery as Celery tasks, on the `webhooks` queue (namaskah/celery.py routes `webhooks.*` there).
Both are safe to run twice and at once: a delivery is sent only by the worker whose conditional
update claimed it."""
from __future__ import annotations

import logging

from celery import shared_task

from hooks import services
from namaskah import taskstats

log = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver")
def deliver(webhook_id: str) -> str:
    """One attempt at one delivery (the retry, if any, is queued by the attempt itself)."""
    outcome = services.attempt(webhook_id=webhook_id)
    taskstats.add({f"webhook:{outcome}": 1})  # /system/metrics: namaskah_webhook_attempts
    return outcome


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    """Queue the due deliveries that no task is carrying (beat, every 15 s)."""
    queued = services.sweep()
    if queued:
        log.info("webhooks.sweep: %d due deliveries queued", queued)
    return queued
