"""A circuit breaker whose state lives in Django's cache, so every gunicorn worker sees one circuit.

CLOSED: calls go through; BREAKER_FAILURE_THRESHOLD consecutive ProviderUnavailable open it.
OPEN: calls fail fast with ProviderUnavailable(code="circuit_open", retry_after=seconds left), no
network call, for BREAKER_RECOVERY_TIMEOUT seconds.
HALF_OPEN: exactly one call across all processes (the one that wins an atomic `cache.add` lock) is
let through as a probe; success closes the circuit, failure opens it for another period.

Only ProviderUnavailable counts as a failure. ProviderRejected is a business "no", which proves the
upstream is up, so it counts as a success. Our own bugs (any other exception) count as neither.

The cache is a dependency too: if it fails, the breaker logs that (at most once a minute per
process), lets calls through and stops asking the cache for a few seconds (namaskah.cache, the one
outage memory every cache caller shares), so an outage of Redis costs no more than one failed cache
call now and then. No in-process lock is held while the guarded call runs: concurrent calls run
concurrently.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, TypeVar

from django.conf import settings
from django.core.cache import cache as default_cache

from namaskah.cache import DEFAULT as DEFAULT_CACHE_OUTAGE
from namaskah.cache import Outage
from providers.base import ProviderRejected, ProviderUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN, UNKNOWN = "closed", "open", "half_open", "unknown"
STATES = (CLOSED, OPEN, HALF_OPEN)
TRANSITIONS = tuple(f"{a}->{b}" for a in STATES for b in STATES if a != b)
PROBE_RETRY_AFTER = 5  # seconds suggested to callers turned away while another process probes
_DOWN = object()


@dataclass(frozen=True)
class BreakerSnapshot:
    """What monitoring shows: state, consecutive failures, last failure, opened-at, transitions."""

    name: str
    state: str
    failures: int = 0
    opened_at: float | None = None
    last_failure_at: float | None = None
    last_failure_code: str = ""
    retry_after: int | None = None
    transitions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Ticket:
    bypass: bool = False  # the cache is down: no bookkeeping for this call
    probe: bool = False
    failures: int = 0


class CircuitBreaker:
    def __init__(self, name: str, *, cache=None, clock: Callable[[], float] = time.time,
                 failure_threshold: int | None = None, recovery_timeout: int | None = None):
        self.name = name
        self._cache = cache if cache is not None else default_cache
        self._clock = clock
        self._threshold = failure_threshold
        self._recovery = recovery_timeout
        # Django's default cache shares the process's memory of its outages; a cache handed in has its own.
        self._outage = Outage(f"circuit {name}", logger=logger) if cache is not None else DEFAULT_CACHE_OUTAGE

    # --- configuration, read late so tests and operators can change settings ----------------

    @property
    def failure_threshold(self) -> int:
        return self._threshold or int(settings.BREAKER_FAILURE_THRESHOLD)

    @property
    def recovery_timeout(self) -> int:
        return self._recovery or int(settings.BREAKER_RECOVERY_TIMEOUT)

    def _key(self, part: str) -> str:
        return f"breaker:{self.name}:{part}"

    # --- the guarded call --------------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run fn through the circuit. Raises ProviderUnavailable(code="circuit_open") while open."""
        ticket = self._admit()
        try:
            result = fn(*args, **kwargs)
        except ProviderUnavailable as exc:
            self._failed(ticket, exc)
            raise
        except ProviderRejected:
            self._succeeded(ticket)
            raise
        except BaseException:
            # Our own bug says nothing about the upstream; only make sure the probe lock is freed.
            if ticket.probe:
                self._safe(lambda: self._cache.delete(self._key("probe")))
            raise
        self._succeeded(ticket)
        return result

    def _admit(self) -> _Ticket:
        now = self._clock()
        values = self._safe(lambda: self._cache.get_many([self._key("opened_at"), self._key("failures")]))
        if values is _DOWN:
            return _Ticket(bypass=True)
        opened_at = values.get(self._key("opened_at"))
        if opened_at is None:
            return _Ticket(failures=int(values.get(self._key("failures")) or 0))
        wait = float(opened_at) + self.recovery_timeout - now
        if wait > 0:
            raise ProviderUnavailable(f"The {self.name} circuit is open.", code="circuit_open",
                                      retry_after=max(1, math.ceil(wait)))
        # Half-open: add() is atomic in every backend, so one process in the whole fleet probes. The
        # TTL frees the lock if that process dies mid-call.
        won = self._safe(lambda: self._cache.add(self._key("probe"), now, timeout=max(1, self.recovery_timeout)))
        if won is _DOWN:
            return _Ticket(bypass=True)
        if not won:
            raise ProviderUnavailable(f"The {self.name} circuit is half-open and a probe is in flight.",
                                      code="circuit_open", retry_after=PROBE_RETRY_AFTER)
        self._count_transition(OPEN, HALF_OPEN)
        return _Ticket(probe=True)

    def _succeeded(self, ticket: _Ticket) -> None:
        if ticket.bypass:
            return
        if ticket.probe:
            # Failures first: a failure recorded between the two deletes must not re-open at once.
            self._safe(lambda: self._cache.delete(self._key("failures")))
            self._safe(lambda: self._cache.delete_many([self._key("opened_at"), self._key("probe")]))
            self._count_transition(HALF_OPEN, CLOSED)
            logger.info("circuit %s closed: the probe succeeded", self.name)
        elif ticket.failures:
            self._safe(lambda: self._cache.delete(self._key("failures")))

    def _failed(self, ticket: _Ticket, exc: ProviderUnavailable) -> None:
        if ticket.bypass:
            return
        now = self._clock()
        self._safe(lambda: self._cache.set(self._key("last_failure"), {"at": now, "code": exc.code}, timeout=None))
        if ticket.probe:
            self._safe(lambda: self._cache.set(self._key("opened_at"), now, timeout=None))
            self._safe(lambda: self._cache.delete(self._key("probe")))
            self._count_transition(HALF_OPEN, OPEN)
            logger.warning("circuit %s opened again: the probe failed (%s)", self.name, exc.code)
            return
        failures = self._incr(self._key("failures"))
        if failures is _DOWN or failures < self.failure_threshold:
            return
        # add(): when many workers cross the threshold together, one of them opens the circuit.
        if self._safe(lambda: self._cache.add(self._key("opened_at"), now, timeout=None)) is True:
            self._count_transition(CLOSED, OPEN)
            logger.warning("circuit %s opened after %s consecutive failures (last: %s)", self.name, failures, exc.code)

    # --- monitoring and operator actions -------------------------------------------------------

    def snapshot(self) -> BreakerSnapshot:
        keys = [self._key(k) for k in ("opened_at", "failures", "last_failure", "probe")]
        tkeys = {t: self._key(f"transitions:{t}") for t in TRANSITIONS}
        values = self._safe(lambda: self._cache.get_many(keys + list(tkeys.values())))
        if values is _DOWN:
            return BreakerSnapshot(name=self.name, state=UNKNOWN)
        opened_at = values.get(keys[0])
        last = values.get(keys[2]) or {}
        retry_after = None
        if opened_at is None:
            state = CLOSED
        else:
            wait = float(opened_at) + self.recovery_timeout - self._clock()
            state = OPEN if wait > 0 else HALF_OPEN
            retry_after = max(1, math.ceil(wait)) if wait > 0 else None
        return BreakerSnapshot(
            name=self.name, state=state, failures=int(values.get(keys[1]) or 0),
            opened_at=None if opened_at is None else float(opened_at),
            last_failure_at=last.get("at"), last_failure_code=last.get("code", ""), retry_after=retry_after,
            transitions={t: int(values.get(k) or 0) for t, k in tkeys.items()},
        )

    def reset(self) -> str:
        """Force CLOSED (operator action). Returns the state it was in."""
        before = self.snapshot().state
        self._require(self._safe(lambda: self._cache.delete_many(
            [self._key(k) for k in ("opened_at", "failures", "probe", "last_failure")])))
        if before in (OPEN, HALF_OPEN):
            self._count_transition(before, CLOSED)
        logger.warning("circuit %s reset by an operator (was %s)", self.name, before)
        return before

    def trip(self) -> str:
        """Force OPEN for one recovery period (operator action). Returns the state it was in."""
        before = self.snapshot().state
        self._require(self._safe(lambda: self._cache.set(self._key("opened_at"), self._clock(), timeout=None)))
        self._safe(lambda: self._cache.delete(self._key("probe")))
        if before != OPEN and before in STATES:
            self._count_transition(before, OPEN)
        logger.warning("circuit %s tripped by an operator (was %s)", self.name, before)
        return before

    # --- cache helpers ---------------------------------------------------------------------------

    def _count_transition(self, src: str, dst: str) -> None:
        self._incr(self._key(f"transitions:{src}->{dst}"))

    def _incr(self, key: str):
        def bump():
            self._cache.add(key, 0, timeout=None)
            try:
                return self._cache.incr(key)
            except ValueError:  # deleted between add and incr (a reset): start again at one
                self._cache.add(key, 1, timeout=None)
                return 1
        return self._safe(bump)

    def _safe(self, op: Callable[[], T]):
        """Run one cache operation; on any error (now or a few seconds ago) return _DOWN."""
        return self._outage.call(op, _DOWN)

    @staticmethod
    def _require(result) -> None:
        if result is _DOWN:
            raise ProviderUnavailable("The cache holding the circuit state is unavailable.", code="cache_unavailable")


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(name: str) -> CircuitBreaker:
    """The process-wide breaker for a provider name (its state is shared through the cache)."""
    with _breakers_lock:
        if name not in _breakers:
            _breakers[name] = CircuitBreaker(name)
        return _breakers[name]


def breaker_state(name: str) -> BreakerSnapshot:
    """Monitoring view of one provider's circuit; state "unknown" when the cache is down."""
    return breaker_for(name).snapshot()
