"""The background poller: fetches SMS and calls from the provider for every open verification, so
that a customer's poll is a read of our own database instead of an upstream call.

While a poller runs it keeps a heartbeat in the shared cache. Request handlers that see the
heartbeat stop calling the provider themselves (a forced "check now" still does); when the poller
stops or dies, the heartbeat lapses and requests go back to polling on their own within
`heartbeat_ttl()` seconds — codes keep arriving either way.

Several pollers may run at once (two hosts, a deploy overlap): the per-verification poll lock in
services.receive._should_poll lets only one of them call the provider per interval.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from verifications import services
from verifications.heartbeat import beat, forget_heartbeat, stop_beating, watched
from verifications.models import Verification

log = logging.getLogger(__name__)
Status = Verification.Status


def open_verifications(*, limit: int) -> list[Verification]:
    """What a round asks the provider about: pending verifications (also past expiry, to be expired),
    oldest first, then completed ones until their expiry while a customer still polls them (a second
    code is normal; nobody else needs upstream calls for a finished number)."""
    pending = list(Verification.objects.filter(status=Status.PENDING).exclude(provider_ref="")
                   .order_by("created_at")[:limit])
    if len(pending) >= limit:
        log.warning("poller: %d or more pending verifications; raise --limit to poll them all each round", limit)
        return pending
    completed = (Verification.objects.filter(status=Status.COMPLETED, finished_at=None, expires_at__gt=timezone.now())
                 .exclude(provider_ref="").values_list("pk", flat=True))
    wanted = watched(completed)
    if not wanted:
        return pending
    return pending + list(Verification.objects.filter(pk__in=wanted).order_by("created_at")[:limit - len(pending)])


@dataclass
class Cycle:
    considered: int = 0
    polled: int = 0
    expired: int = 0
    errors: int = 0
    seconds: float = 0.0


def _refresh_one(verification: Verification) -> tuple[bool, bool]:
    """(polled upstream, expired) for one verification, in a pool thread."""
    try:
        before = verification.status
        polled = services.poll_in_background(verification)
        return polled, before == Status.PENDING and verification.status == Status.EXPIRED
    finally:
        # The pool threads live on: hand their database connection back after each task.
        connections.close_all()


def run_cycle(executor: ThreadPoolExecutor, *, limit: int) -> Cycle:
    started = time.monotonic()
    close_old_connections()
    rows = open_verifications(limit=limit)
    services.release_db_connection()
    cycle = Cycle(considered=len(rows))
    for future in [executor.submit(_refresh_one, v) for v in rows]:
        try:
            polled, expired = future.result()
        except Exception:
            cycle.errors += 1
            log.exception("poller: refreshing a verification failed")
            continue
        cycle.polled += polled
        cycle.expired += expired
    cycle.seconds = time.monotonic() - started
    return cycle


def run(*, threads: int, limit: int, once: bool, stop: threading.Event, report=None) -> Cycle:
    """Poll until `stop` is set (or one cycle with once=True). Returns the last cycle."""
    interval = settings.MESSAGE_REFRESH_INTERVAL
    cycle = Cycle()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="poller") as executor:
        try:
            while True:
                started = time.monotonic()
                if not once:
                    # Before the cycle, so requests stand back from the first cycle on. A cycle that
                    # runs longer than the heartbeat's lifetime lets requests poll for themselves.
                    try:
                        beat(cycle_seconds=cycle.seconds, polled=cycle.polled)
                    except Exception:
                        log.warning("poller: cache unavailable for the heartbeat")
                try:
                    cycle = run_cycle(executor, limit=limit)
                except Exception:
                    # The database is down: keep trying; requests still read what we have.
                    log.exception("poller: cycle failed")
                    cycle = Cycle(errors=1, seconds=time.monotonic() - started)
                if report:
                    report(cycle)
                if once or stop.wait(max(0.0, interval - (time.monotonic() - started))):
                    break
        finally:
            if not once:
                stop_beating()
                connections.close_all()  # this loop's own connection (the pool threads closed theirs)
            forget_heartbeat()
    return cycle
