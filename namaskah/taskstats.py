"""Counters of background work, kept in the shared cache so that every worker on every host adds to
one figure and /system/metrics (on any web host) reads it: task outcomes per task name (from
Celery's signals, connected in namaskah/celery.py) and check outcomes (verifications/checks.py).
Counting never fails a task: with the cache down a count is lost, not the work."""
from __future__ import annotations

from django.core.cache import cache

from namaskah import cache as shared_cache

PREFIX = "taskstats:"
INDEX = PREFIX + "index"


def _key(name: str) -> str:
    return PREFIX + name


def add(counts: dict[str, int]) -> None:
    counts = {name: n for name, n in counts.items() if n}
    if not counts:
        return

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
