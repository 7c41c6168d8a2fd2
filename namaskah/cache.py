"""What a process remembers about outages of the shared cache, so a dead or hung Redis costs one
timeout every few seconds instead of one on every cache call.

The cache is Django's own backend (settings.CACHES: django.core.cache.backends.redis.RedisCache
with short socket timeouts). Every caller treats it as optional: rate limits fail open, a cached
answer is read from the database instead, the breaker lets calls through. What a caller must not
do is pay a timeout on every call while Redis hangs (accepts connections, never answers): a poll
makes several cache calls, and took 4 s that way. So a failure is remembered for
CACHE_OUTAGE_SECONDS, and until then `call()` returns the caller's fallback without trying.

Each cache the project talks to has one memory, shared by the threads of a process: one per alias
of settings.CACHES (`for_alias()`; `DEFAULT` is the default cache's), and one per cache object a
caller was handed (the breaker's tests give it their own).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable, TypeVar

from django.conf import settings
from django.core.cache import cache

T = TypeVar("T")
log = logging.getLogger(__name__)
LOG_INTERVAL = 60.0  # seconds between two "cache unavailable" lines from one memory


class Outage:
    """The last failure of one cache: while it is recent, calls are skipped."""

    def __init__(self, name: str = "cache", *, logger: logging.Logger | None = None):
        self.name = name
        self._log = logger or log
        self._until = 0.0
        self._next_log = 0.0
        self._lock = threading.Lock()  # guards the two timestamps, never a cache call

    def skipping(self) -> bool:
        return time.monotonic() < self._until

    def failed(self, exc: BaseException) -> None:
        seconds = float(getattr(settings, "CACHE_OUTAGE_SECONDS", 5.0))
        now = time.monotonic()
        with self._lock:
            self._until = now + seconds
            should_log = now >= self._next_log
            if should_log:
                self._next_log = now + LOG_INTERVAL
        if should_log:
            self._log.warning("%s: cache unavailable (%s); not asking it again for %g s", self.name,
                              type(exc).__name__, seconds)

    def forget(self) -> None:
        """Drop the memory (tests, and a fresh worker)."""
        self._until = self._next_log = 0.0

    def call(self, op: Callable[[], T], default: T) -> T:
        """op() — or `default` when it fails, or when the cache failed within the last few seconds."""
        if self.skipping():
            return default
        try:
            return op()
        except Exception as exc:  # any failure of the cache: the caller's fallback, never a 500
            self.failed(exc)
            return default


DEFAULT = Outage()
_by_alias = {"default": DEFAULT}
_by_alias_lock = threading.Lock()


def for_alias(alias: str) -> Outage:
    """The process-wide outage memory of one cache of settings.CACHES."""
    with _by_alias_lock:
        return _by_alias.setdefault(alias, Outage(f"cache {alias!r}"))


def forget_outages() -> None:
    """Every memory forgotten: what a new process starts with (tests)."""
    with _by_alias_lock:
        for outage in _by_alias.values():
            outage.forget()


def call(op: Callable[[], T], default: T = None, *, alias: str = "default") -> T:
    """One operation on a cache of settings.CACHES (the default one unless told), through its memory."""
    return (DEFAULT if alias == "default" else for_alias(alias)).call(op, default)


class ReadAhead:
    """Entries of the default cache read in one round trip at the start of a request, for the code
    that would otherwise read each one on its own (a poll reads its answer, the caller's API key and
    user: each Django cache call builds a Redis client and makes a round trip, which cost a poll more
    than the rest of its work). Each entry is as fresh as a read at that moment."""

    def __init__(self, keys: Iterable[str]):
        keys = list(dict.fromkeys(keys))
        found = call(lambda: cache.get_many(keys), None) if keys else {}
        # A failed read knows nothing: the callers then read on their own (or skip, during an outage).
        self._read = frozenset(keys) if found is not None else frozenset()
        self._found = found or {}

    def get(self, key: str, read: Callable[[], T]) -> T | None:
        """The entry as read ahead (None if it was absent), or read() if it was not read ahead."""
        if key in self._read:
            return self._found.get(key)
        return read()


def read_ahead_get(read_ahead: ReadAhead | None, key: str, read: Callable[[], T]) -> T | None:
    """read_ahead.get(key, read), or read() without a read-ahead."""
    return read() if read_ahead is None else read_ahead.get(key, read)
