"""HealthMonitor: the database, the cache and each provider in use, aggregated into one verdict.

healthy   (200) everything answers;
(the `poller` component only informs: without a background poller requests poll the provider);
degraded  (200) the site works but a provider is failing or its circuit is open/half-open;
unhealthy (503) the database or the cache is down.
Provider health comes from providers.health: cached PROVIDER_HEALTH_TTL seconds, refreshed by real
traffic, with the breaker state read live — so when the circuit closes again, health says so at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"


@dataclass
class Report:
    status: str
    components: dict = field(default_factory=dict)

    @property
    def http_status(self) -> int:
        return 503 if self.status == UNHEALTHY else 200

    @property
    def exit_code(self) -> int:
        return {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}[self.status]

    def as_dict(self) -> dict:
        return {"status": self.status, "checked_at": timezone.now().isoformat(), "components": self.components}


# A check later than this means the workers cannot keep up (or beat is not running).
OVERDUE_LIMIT = 60.0


def providers_in_use() -> list[str]:
    """The providers this deployment can send a purchase to: the primary, the SMS-Activate-protocol
    provider when configured, and any a country routes to (the mock only where it may serve)."""
    from providers import routing as rules
    from verifications.models import Country

    names = set(rules.configured())
    if "mock" in names and settings.PROVIDER != "mock":
        # Development's stand-in: in use only while some country still sends purchases to it.
        from verifications.routing import Book

        book = Book()
        if not any("mock" in book.order(country) for country in Country.objects.filter(enabled=True)):
            names.discard("mock")
    return sorted(names)


class HealthMonitor:
    def __init__(self, *, connection=None, cache=None):
        from django.core.cache import cache as default_cache
        from django.db import connection as default_connection

        self.connection = connection or default_connection
        self.cache = cache or default_cache

    def check(self) -> Report:
        components = {"database": self._timed(self._database), "cache": self._timed(self._cache)}
        core_ok = all(c["status"] == "ok" for c in components.values())
        provider_names = providers_in_use() if components["database"]["status"] == "ok" else [settings.PROVIDER]
        degraded = False
        for name in provider_names:
            components[f"provider:{name}"] = component = self._provider(name)
            degraded |= component["status"] != "ok"
        if components["cache"]["status"] == "ok" and components["database"]["status"] == "ok":
            components["background"] = component = self._background()
            degraded |= component["status"] != "ok"
        status = UNHEALTHY if not core_ok else DEGRADED if degraded else HEALTHY
        return Report(status=status, components=components)

    def _background(self) -> dict:
        # Without workers no code arrives and nothing expires: degraded (the web still serves what
        # it has), never unhealthy — restarting web hosts would not help.
        from namaskah.celery import app
        from namaskah.workers import alive
        from verifications.checks import oldest_overdue_seconds

        overdue = oldest_overdue_seconds()
        if app.conf.task_always_eager:
            return {"status": "ok", "mode": "eager (tasks run in the caller)", "oldest_overdue_check_s": overdue}
        workers = alive()
        if workers is None:
            return {"status": "unknown", "error": "cache unavailable", "oldest_overdue_check_s": overdue}
        late = overdue is not None and overdue > OVERDUE_LIMIT
        status = "down" if not workers else "behind" if late else "ok"
        return {"status": status, "workers": workers, "oldest_overdue_check_s": overdue}

    def _timed(self, check) -> dict:
        started = time.perf_counter()
        try:
            check()
            result = {"status": "ok"}
        except Exception as exc:  # a failing dependency is a finding, never a 500
            result = {"status": "down", "error": type(exc).__name__}
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        result["checked_at"] = timezone.now().isoformat()
        return result

    def _database(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def _cache(self) -> None:
        key = "health:probe"
        self.cache.set(key, "1", 10)
        if self.cache.get(key) != "1":
            raise RuntimeError("the cache did not return what was written")

    def _provider(self, name: str) -> dict:
        from providers.health import report

        return report(name)
