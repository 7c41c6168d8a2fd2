"""The background poller's heartbeat in the shared cache, and the request path's view of it.

While a poller beats, request handlers stop calling the provider on every poll (see
verifications/poller.py); when it stops beating, they take over within heartbeat_ttl() seconds.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.core.cache import cache

from namaskah import cache as shared_cache

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "poller:heartbeat"
# Each process remembers the heartbeat this long: one cache read per second per worker at most,
# instead of one per poll.
_MEMO_SECONDS = 1.0
_memo: dict = {"until": 0.0, "alive": False}
_memo_lock = threading.Lock()


def heartbeat_ttl() -> float:
    return 3 * settings.MESSAGE_REFRESH_INTERVAL + 5


def beat(*, cycle_seconds: float, polled: int) -> None:
    cache.set(HEARTBEAT_KEY, {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time(),
                              "cycle_seconds": round(cycle_seconds, 3), "polled": polled},
              timeout=heartbeat_ttl())


def stop_beating() -> None:
    """Clear the heartbeat if it is this process's (another poller may be beating too)."""
    try:
        current = cache.get(HEARTBEAT_KEY)
        if current and current.get("pid") == os.getpid() and current.get("host") == socket.gethostname():
            cache.delete(HEARTBEAT_KEY)
    except Exception:
        log.warning("could not clear the poller heartbeat; it lapses by itself")


def heartbeat() -> dict | None:
    """The last heartbeat, or None if no poller has reported within heartbeat_ttl(). Raises on cache errors."""
    return cache.get(HEARTBEAT_KEY)


def poller_running() -> bool:
    """Whether a background poller is keeping verifications fresh (False if the cache is down)."""
    now = time.monotonic()
    if now < _memo["until"]:
        return _memo["alive"]
    # One thread asks the cache; the others keep the last answer meanwhile rather than queue
    # behind it (with a hanging cache, a queue would cost every thread a timeout in turn).
    if not _memo_lock.acquire(blocking=False):
        return _memo["alive"]
    try:
        # The cache down (now, or a few seconds ago): requests poll for themselves.
        alive = shared_cache.call(lambda: heartbeat() is not None, False)
        _memo.update(until=now + _MEMO_SECONDS, alive=alive)
    finally:
        _memo_lock.release()
    return alive


def forget_heartbeat() -> None:
    """Drop this process's memos (tests, and the poller itself when it stops)."""
    _memo.update(until=0.0, alive=False)
    _marked.clear()
    _webhook_memo.update(until=0.0, arriving=False)


# --- demand for completed verifications ---------------------------------------------------------
# A completed verification can still receive a second code until it expires, but nobody may be
# looking: the poller asks the provider about it only while a customer is polling it.

def _watch_key(pk) -> str:
    return f"poller:watched:{pk}"


# pk -> when this process last marked it: a verification polled many times a second is marked once
# per interval, not on every poll.
_marked: dict = {}


def watch(pk) -> None:
    """A customer polled this completed verification: keep it in the poller's rounds a little longer."""
    interval = settings.MESSAGE_REFRESH_INTERVAL
    now = time.monotonic()
    if now - _marked.get(pk, -interval) < interval:
        return
    if len(_marked) > 10_000:
        _marked.clear()
    # Lives two intervals: a customer polling once per interval keeps it alive from any worker.
    if shared_cache.call(lambda: cache.set(_watch_key(pk), 1, timeout=int(2 * interval) + 1) or True, False):
        _marked[pk] = now


def watched(pks) -> set:
    """Which of these verifications a customer polled recently (one cache round trip)."""
    pks = list(pks)
    found: dict = {}
    try:
        for start in range(0, len(pks), 1000):
            found.update(cache.get_many([_watch_key(pk) for pk in pks[start:start + 1000]]))
    except Exception:
        log.warning("cache unavailable: treating completed verifications as unwatched")
        return set()
    return {pk for pk in pks if _watch_key(pk) in found}


# --- webhooks ---------------------------------------------------------------------------------------
# While the provider's webhooks arrive, SMS are pushed to us and the poller only needs to ask now and
# then, in case one was lost. "Arriving" means one came in the last WEBHOOK_TRUST_SECONDS: if the
# provider stops sending (webhooks disabled after failures), polling speeds up again by itself.
WEBHOOK_KEY = "webhooks:last"
WEBHOOK_TRUST_SECONDS = 15 * 60
_webhook_memo: dict = {"until": 0.0, "arriving": False}


def note_webhook() -> None:
    shared_cache.call(lambda: cache.set(WEBHOOK_KEY, time.time(), timeout=WEBHOOK_TRUST_SECONDS))
    _webhook_memo.update(until=0.0)


def webhooks_arriving() -> bool:
    now = time.monotonic()
    if now < _webhook_memo["until"]:
        return _webhook_memo["arriving"]
    arriving = shared_cache.call(lambda: cache.get(WEBHOOK_KEY) is not None, False)
    _webhook_memo.update(until=now + _MEMO_SECONDS, arriving=arriving)
    return arriving
