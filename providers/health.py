"""Provider health: the last known result of talking to the upstream, shared through the cache.

Real traffic keeps it fresh (every guarded call records success or failure), so monitoring rarely
needs its own probe; when nothing is cached (quiet period, PROVIDER_HEALTH_TTL passed) one cheap
probe runs through the breaker. While the circuit is half-open that probe may be the one call that
closes it again, which is how recovery is noticed without customer traffic.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from namaskah import cache as shared_cache
from providers.base import Health, ProviderError
from providers.breaker import CLOSED, HALF_OPEN, OPEN, breaker_state

logger = logging.getLogger(__name__)

# Used only while the cache is down, so a dead Redis does not turn every health check into a probe.
_local: dict[str, dict] = {}
_local_lock = threading.Lock()
_DOWN = object()


def _key(name: str) -> str:
    return f"providers:health:{name}"


# A process rewrites an unchanged outcome at most this often: busy workers record a hundred calls a
# second, and health needs to know the upstream is up, not each call's latency.
REWRITE_EVERY = 1.0
_written: dict[str, tuple] = {}


def record(name: str, *, ok: bool, latency_ms: float | None, detail: str = "") -> None:
    """Remember the outcome of a real call or a probe for PROVIDER_HEALTH_TTL seconds. A change of
    outcome is written at once."""
    entry = {"ok": ok, "latency_ms": latency_ms, "checked_at": timezone.now().isoformat(), "detail": detail}
    now = time.monotonic()
    with _local_lock:
        _local[name] = entry
        last = _written.get(name)
        if last is not None and last[:2] == (ok, detail) and now - last[2] < REWRITE_EVERY:
            return
        _written[name] = (ok, detail, now)
    # Health bookkeeping must never fail a provider call, nor wait on a dead cache.
    shared_cache.call(lambda: cache.set(_key(name), entry, timeout=int(settings.PROVIDER_HEALTH_TTL)))


def cached(name: str) -> Health | None:
    """The last recorded health, if still fresh, without touching the upstream."""
    entry = shared_cache.call(lambda: cache.get(_key(name)), _DOWN)
    if entry is _DOWN:
        entry = _local_entry(name)
    # The cache TTL does the same on a good day; checking the age too keeps an entry from outliving
    # PROVIDER_HEALTH_TTL when the cache cannot expire it (or when the clock is moved in tests).
    if not entry or _age(entry) >= int(settings.PROVIDER_HEALTH_TTL):
        return None
    return Health(ok=entry["ok"], latency_ms=entry["latency_ms"], checked_at=datetime.fromisoformat(entry["checked_at"]),
                  detail=entry.get("detail", ""))


def provider_health(name: str) -> Health:
    """Health of one provider, with its breaker state; probes the upstream only when nothing is cached."""
    state = breaker_state(name).state
    health = cached(name)
    if health is None and state != OPEN:
        from providers.registry import get_provider  # the registry wraps providers with this module

        try:
            get_provider(name).probe()
        except ProviderError:
            pass  # the guarded probe recorded the failure
        health = cached(name)
        state = breaker_state(name).state
    if health is None:
        detail = "circuit open" if state == OPEN else "no recent result"
        health = Health(ok=False, latency_ms=None, checked_at=timezone.now(), detail=detail)
    ok = health.ok and state != OPEN
    return Health(ok=ok, latency_ms=health.latency_ms, checked_at=health.checked_at, detail=health.detail,
                  breaker_state=state)


def report(name: str) -> dict:
    """/system/health's component for one provider: "ok" only with a healthy upstream and a closed
    circuit. While half-open this is the probe that may close it, so recovery shows at once even
    when no customer is buying."""
    if breaker_state(name).state == HALF_OPEN:
        from providers.registry import get_provider

        try:
            get_provider(name).probe()
        except ProviderError:
            pass  # the guarded probe recorded it
    health = provider_health(name)
    breaker = breaker_state(name)
    # The background checks' own circuit (registry.background_provider): shown, but it does not
    # decide this component's status, which is about selling numbers.
    checks = breaker_state(name + "-checks")
    return {
        "status": "ok" if health.ok and breaker.state == CLOSED else "failing",
        "latency_ms": health.latency_ms,
        "checked_at": health.checked_at.isoformat(),
        "detail": health.detail,
        "breaker": {"state": breaker.state, "failures": breaker.failures, "opened_at": breaker.opened_at,
                    "retry_after": breaker.retry_after},
        "checks_breaker": {"state": checks.state, "failures": checks.failures, "opened_at": checks.opened_at,
                           "retry_after": checks.retry_after},
    }


def _local_entry(name: str) -> dict | None:
    with _local_lock:
        return _local.get(name)


def _age(entry: dict) -> float:
    return (timezone.now() - datetime.fromisoformat(entry["checked_at"])).total_seconds()


def forget() -> None:
    """Drop this process's memory of what it wrote (tests clear the cache under it)."""
    with _local_lock:
        _local.clear()
        _written.clear()
