"""Counters of background work, kept in the shared cache so that every worker on every host adds to
one figure and /system/metrics (on any web host) reads it: task outcomes per task name (from
Celery's signals, connected in namaskah/celery.py) and check outcomes (verifications/checks.py).
Counting never fails a task: with the cache down a count is lost, not the work.

A worker process counts in memory and writes its sums once per FLUSH_EVERY seconds (the Flush
bootstep below), not three cache round trips per count: at a hundred checks a second the counting
cost as much as the checks' own SQL. /system/metrics is then up to FLUSH_EVERY late, and a worker
killed with SIGKILL loses at most that second of counts (never any work). Every other process (web,
beat, eager tasks in tests) writes through at once."""
from __future__ import annotations

import threading

from celery import bootsteps
from django.core.cache import cache

from namaskah import cache as shared_cache

PREFIX = "taskstats:"
INDEX = PREFIX + "index"


def _key(name: str) -> str:
    return PREFIX + name


FLUSH_EVERY = 1.0
_lock = threading.Lock()
_pending: dict[str, int] = {}
_buffering = {"on": False}


def add(counts: dict[str, int]) -> None:
    counts = {name: n for name, n in counts.items() if n}
    if not counts:
        return
    if _buffering["on"]:
        with _lock:
            for name, n in counts.items():
                _pending[name] = _pending.get(name, 0) + n
        return
    _write(counts)


def flush() -> None:
    """Write what this process counted since the last flush."""
    with _lock:
        counts = dict(_pending)
        _pending.clear()
    if counts:
        _write(counts)


def _write(counts: dict[str, int]) -> None:
    def bump():
        for name, n in counts.items():
            key = _key(name)
            if not cache.add(key, n, timeout=None):
                try:
                    cache.incr(key, n)
                except ValueError:  # cleared between add and incr
                    cache.set(key, n, timeout=None)
            if name not in _known:
                _remember(name)
                _known.add(name)

    shared_cache.call(bump)


# Names this process has seen in the index: each is looked up once per process, not per count.
_known: set[str] = set()


def _remember(name: str) -> None:
    # The index changes only when a new counter appears; its rare lost update (two workers adding
    # different new names at once) is repaired when a process next starts counting that name.
    names = set(cache.get(INDEX) or ())
    if name not in names:
        cache.set(INDEX, sorted(names | {name}), timeout=None)


def read() -> dict[str, int]:
    """Every counter by name; {} when the cache is down."""
    def fetch():
        names = cache.get(INDEX) or []
        values = cache.get_many([_key(n) for n in names])
        return {n: int(values.get(_key(n)) or 0) for n in names}

    return shared_cache.call(fetch, {})


def forget() -> None:
    """Drop this process's memo (tests clear the cache under it)."""
    _known.clear()
    with _lock:
        _pending.clear()


class Flush(bootsteps.StartStopStep):
    """A worker's counts go to the shared cache every FLUSH_EVERY seconds and when it stops."""
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        _buffering["on"] = True
        self.tref = worker.timer.call_repeatedly(FLUSH_EVERY, flush, priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
        _buffering["on"] = False
        flush()
