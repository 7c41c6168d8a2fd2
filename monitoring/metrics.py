"""Real measurements only, with prometheus_client.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py before the workers start) makes
every worker write its samples to shared mmap files; a scrape merges them, so two workers report
one truth. Without it (runserver, tests) the in-process registry is used. Business figures are
read from the database at scrape time, never kept in memory.
"""
from __future__ import annotations

import math
from collections import defaultdict
import os
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from monitoring.background import BackgroundCollector
from monitoring.background import as_json as background_json
from providers.metrics import LATENCY_BUCKETS, PROVIDER_CALLS, PROVIDER_LATENCY

HTTP_REQUESTS = Counter("namaskah_http_requests", "HTTP requests answered", ["endpoint", "method", "status"])
HTTP_LATENCY = Histogram("namaskah_http_request_duration_seconds", "Time to answer a request", ["endpoint"],
                         buckets=LATENCY_BUCKETS)
DB_QUERIES = Counter("namaskah_db_queries", "SQL statements run while answering requests", ["endpoint"])
# The SMS-Activate-compatible endpoint: labelled by action (an unknown one is "other") and by the
# answer's token without its value ("json" for JSON bodies), never by a parameter.
PROTOCOL_ANSWERS = Counter("namaskah_protocol_answers", "Answers of /stubs/handler_api.php", ["action", "answer"])


def observe_request(*, endpoint: str, method: str, status: int, seconds: float, queries: int = 0) -> None:
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    HTTP_LATENCY.labels(endpoint).observe(seconds)
    if queries:
        DB_QUERIES.labels(endpoint).inc(queries)


def observe_protocol_answer(*, action: str, answer: str) -> None:
    PROTOCOL_ANSWERS.labels(action, answer).inc()


class BreakerCollector:
    """Breaker state and transitions, read from the shared cache where every worker counts them."""

    def collect(self):
        from monitoring.health import providers_in_use
        from providers.breaker import breaker_state

        transitions = CounterMetricFamily("namaskah_breaker_transitions", "Circuit breaker state changes",
                                          labels=["provider", "transition"])
        state = GaugeMetricFamily("namaskah_breaker_state", "1 for the current state of each circuit",
                                  labels=["provider", "state"])
        from providers.registry import BACKGROUND_SUFFIX

        # Each provider has two circuits: purchases, and the background checks ("<name>-checks").
        for name in [n + suffix for n in providers_in_use() for suffix in ("", BACKGROUND_SUFFIX)]:
            snapshot = breaker_state(name)
            for transition, count in snapshot.transitions.items():
                transitions.add_metric([name, transition], count)
            for candidate in ("closed", "open", "half_open", "unknown"):
                state.add_metric([name, candidate], 1.0 if snapshot.state == candidate else 0.0)
        yield transitions
        yield state


class BusinessCollector:
    """Verifications by status, success rate, refunds and revenue, straight from the database."""

    def collect(self):
        from django.db.models import Count, Sum
        from django.utils import timezone

        from accounts.models import LedgerEntry
        from verifications.models import Verification

        by_status = GaugeMetricFamily("namaskah_verifications", "Verifications by status", labels=["status"])
        counts = dict(Verification.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        for status in Verification.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        settled = sum(counts.get(s, 0) for s in ("completed", "cancelled", "expired", "failed"))
        yield GaugeMetricFamily("namaskah_verification_success_ratio", "Completed / settled verifications",
                                value=(counts.get("completed", 0) / settled) if settled else 0.0)
        revenue = GaugeMetricFamily("namaskah_revenue_usd", "Charges minus refunds", labels=["window"])
        refunds = GaugeMetricFamily("namaskah_refunds", "Refunds issued", labels=["window"])
        now = timezone.now()
        for window, delta in (("1h", timedelta(hours=1)), ("24h", timedelta(days=1))):
            rows = dict(LedgerEntry.objects.filter(created_at__gte=now - delta, kind__in=["charge", "refund"])
                        .values_list("kind").annotate(total=Sum("amount")).values_list("kind", "total"))
            refund_count = LedgerEntry.objects.filter(created_at__gte=now - delta, kind="refund").count()
            revenue.add_metric([window], float(-(rows.get("charge") or 0) - (rows.get("refund") or 0)))
            refunds.add_metric([window], refund_count)
        yield revenue
        yield refunds


def scrape_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in (HTTP_REQUESTS, HTTP_LATENCY, DB_QUERIES, PROVIDER_CALLS, PROVIDER_LATENCY, PROTOCOL_ANSWERS):
            registry.register(collector)
    registry.register(BusinessCollector())
    registry.register(BreakerCollector())
    registry.register(BackgroundCollector())
    return registry


def prometheus_text() -> bytes:
    return generate_latest(scrape_registry())


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Estimate a quantile from cumulative histogram buckets, as PromQL's histogram_quantile does."""
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            span = count - previous_count
            return previous_bound + (bound - previous_bound) * ((rank - previous_count) / span if span else 0)
        previous_bound, previous_count = bound, count
    return previous_bound


def as_json() -> dict:
    """The same measurements for humans: per endpoint counts, error rate and p50/p95/p99 (ms)."""
    families = {f.name: f for f in scrape_registry().collect()}
    # A family with no samples yet is absent in multiprocess mode: read it as empty.
    families = defaultdict(lambda: GaugeMetricFamily("empty", "no samples yet"), families)
    endpoints: dict[str, dict] = {}
    for sample in families["namaskah_http_requests"].samples:
        if not sample.name.endswith("_total"):
            continue
        row = endpoints.setdefault(sample.labels["endpoint"], {"requests": 0, "errors": 0})
        row["requests"] += int(sample.value)
        if sample.labels["status"].startswith("5"):
            row["errors"] += int(sample.value)
    queries = {s.labels["endpoint"]: s.value for s in families["namaskah_db_queries"].samples if s.name.endswith("_total")}
    for name, row in endpoints.items():
        row["queries_per_request"] = round(queries.get(name, 0) / row["requests"], 2) if row["requests"] else 0.0
        row["error_rate"] = round(row["errors"] / row["requests"], 4) if row["requests"] else 0.0
        row.update(_latency(families["namaskah_http_request_duration_seconds"], {"endpoint": name}))
    providers: dict[str, dict] = {}
    for sample in families["namaskah_provider_calls"].samples:
        if not sample.name.endswith("_total"):
            continue
        row = providers.setdefault(sample.labels["provider"], {"calls": 0, "failures": 0, "by_outcome": {}})
        row["calls"] += int(sample.value)
        if sample.labels["outcome"] in ("unavailable", "circuit_open"):
            row["failures"] += int(sample.value)
        outcome = sample.labels["outcome"]
        row["by_outcome"][outcome] = row["by_outcome"].get(outcome, 0) + int(sample.value)
    for name, row in providers.items():
        row.update(_latency(families["namaskah_provider_call_duration_seconds"], {"provider": name}))
    transitions = [
        {**s.labels, "count": int(s.value)} for s in families["namaskah_breaker_transitions"].samples
        if s.name.endswith("_total") and s.value
    ]
    breakers = {s.labels["provider"]: s.labels["state"] for s in families["namaskah_breaker_state"].samples if s.value}
    business = {
        "verifications": {s.labels["status"]: int(s.value) for s in families["namaskah_verifications"].samples},
        "success_rate": round(families["namaskah_verification_success_ratio"].samples[0].value, 4),
        "revenue_usd": {s.labels["window"]: f"{s.value:.2f}" for s in families["namaskah_revenue_usd"].samples},
        "refunds": {s.labels["window"]: int(s.value) for s in families["namaskah_refunds"].samples},
    }
    return {"http": endpoints, "providers": providers, "breakers": breakers, "breaker_transitions": transitions,
            "business": business, "background": background_json()}


def _latency(family, match: dict) -> dict:
    buckets: dict[float, float] = {}
    for sample in family.samples:
        if sample.name.endswith("_bucket") and all(sample.labels.get(k) == v for k, v in match.items()):
            bound = float(sample.labels["le"])
            buckets[bound] = buckets.get(bound, 0) + sample.value
    ordered = sorted(buckets.items())
    return {f"p{int(q * 100)}_ms": (round(v * 1000, 1) if (v := quantile(ordered, q)) is not None else None)
            for q in (0.5, 0.95, 0.99)}


__all__ = ["as_json", "prometheus_text", "observe_request"]
