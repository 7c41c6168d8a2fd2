"""Background work on verifications, as Celery tasks (namaskah/celery.py schedules them). Each task
calls the same service functions as the API and the management commands, and is safe to run twice."""
from __future__ import annotations

import logging
import time

from celery import shared_task

from providers.base import ProviderUnavailable
from providers.registry import get_provider
from verifications import checks, services
from verifications.services import orphans
from verifications.catalogue import sync_costs, synced_providers
from verifications.reconcile import reconcile as reconcile_drift

log = logging.getLogger(__name__)


@shared_task(name="verifications.dispatch_checks")
def dispatch_checks() -> int:
    """Claim every due check and send each to the workers as a task of its own (beat: every 0.25 s).
    Loops until nothing is due, so there is no row limit that would leave the newest unchecked."""
    sent = 0
    while True:
        claims = checks.claim_due()
        for start in range(0, len(claims), checks.BATCH_SIZE):
            batch = claims[start:start + checks.BATCH_SIZE]
            check_verifications.delay([[c.pk, c.round, c.due] for c in batch])
        sent += len(claims)
        if len(claims) < checks.CLAIM_PAGE:
            return sent


@shared_task(name="verifications.check_verifications")
def check_verifications(claims: list) -> dict:
    """Check a batch of claimed verifications: their new SMS/calls, and expiry on time."""
    outcomes: dict[str, int] = {}
    lags: list[float] = []
    for pk, round_, *due in claims:  # [pk, round, due]; messages sent before due was added have no due
        claim = checks.Claim(pk=str(pk), round=int(round_), due=float(due[0]) if due and due[0] is not None else None)
        lag = None if claim.due is None else max(0.0, time.time() - claim.due)
        try:
            outcome = services.check(claim)
        except Exception:
            # One verification's error must not cost the rest of the batch their check; it is due
            # again next interval.
            log.exception("check of %s failed", pk)
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if lag is not None and outcome != "stale":  # a redelivered claim says nothing about the schedule
            lags.append(lag)
    checks.count_outcomes(outcomes, lags)
    return outcomes


@shared_task(name="verifications.give_back_orphan", autoretry_for=(ProviderUnavailable,), retry_backoff=10,
             retry_backoff_max=600, max_retries=12)
def give_back_orphan(pk: str) -> str:
    """Give back a number whose purchase answer was lost (services/orphans.py)."""
    return orphans.give_back(pk)


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
    for pk in orphans.waiting():
        try:
            orphans.give_back(pk)
        except ProviderUnavailable:
            break  # the upstream is down: the next run tries again
    return len(report.settled)


@shared_task(name="verifications.sync_services")
def sync_services() -> None:
    """Every configured provider's costs and stock per country (verifications.catalogue)."""
    for name in synced_providers():
        try:
            report = sync_costs(provider=get_provider(name))
        except ProviderUnavailable as exc:
            # Next hour's run tries again; costs stay as they were meanwhile.
            log.warning("sync_services: %s is unavailable (%s); costs unchanged", name, exc.code)
            continue
        log.info("sync_services: %s: %d services, %d prices, %d at or above our price", name, report.services,
                 report.prices, len(report.negative))


# The voice tasks live beside the recordings and transcripts they drive; importing them here
# registers them with the worker (autodiscovery reads each app's tasks module).
from verifications import voice_tasks  # noqa: E402,F401
