"""Payments reconciliation as a Celery task (scheduled hourly in namaskah/celery.py)."""
from __future__ import annotations

import logging

from celery import shared_task
from payments.gateway import GatewayError
from payments.reconcile import reconcile_payments

log = logging.getLogger(__name__)


@shared_task(name="payments.reconcile", autoretry_for=(GatewayError,), retry_backoff=60, max_retries=5)
def reconcile() -> int:
    """Credit what a lost Stripe webhook missed in the last 3 days (the command's default window)."""
    report = reconcile_payments(days=3)
    log.info("reconcile_payments: %d seen, %d credited now, %d already, %d not ours, %d need attention",
             report.seen, report.credited, report.already, report.foreign, report.attention)
    return report.credited
