"""Background work on verifications, as Celery tasks (namaskah/celery.py schedules them). Each task
calls the same service functions as the API and the management commands, and is safe to run twice."""
from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from providers.base import ProviderUnavailable
from providers.registry import get_provider
from verifications import services
from verifications.catalogue import sync_costs
from verifications.reconcile import reconcile as reconcile_drift

log = logging.getLogger(__name__)


@shared_task(name="verifications.expire_due")
def expire_due() -> int:
    """Expire and refund what is past its expiry without a code: within a minute of `expires_at`."""
    expired = services.expire_due(limit=2000)
    if expired:
        log.info("expire_due: %d expired and refunded", expired)
    return expired


@shared_task(name="verifications.reconcile")
def reconcile() -> int:
    report = reconcile_drift()
    log.info(report.line())
    return len(report.settled)


@shared_task(name="verifications.sync_services")
def sync_services() -> None:
    name = "mock" if settings.PROVIDER == "mock" else "textverified"
    try:
        report = sync_costs(provider=get_provider(name))
    except ProviderUnavailable as exc:
        # Next hour's run tries again; costs stay as they were meanwhile.
        log.warning("sync_services: %s is unavailable (%s); costs unchanged", name, exc.code)
        return
    log.info("sync_services: %s: %d services, %d prices, %d at or above our price", name, report.services,
                 report.prices, len(report.negative))



# The voice tasks live beside the recordings and transcripts they drive; importing them here
# registers them with the worker (autodiscovery reads each app's tasks module).
from verifications import voice_tasks  # noqa: E402,F401
