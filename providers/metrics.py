"""What providers measure about their upstream calls (prometheus_client). monitoring/metrics.py
serves them with the rest; they are defined here so that providers never import monitoring."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

# One bucket layout for every latency the platform measures (monitoring's HTTP latency uses it too).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0,
                   3.0, 5.0, 10.0, 30.0)

PROVIDER_CALLS = Counter("namaskah_provider_calls", "Calls to an upstream provider", ["provider", "operation", "outcome"])
PROVIDER_LATENCY = Histogram("namaskah_provider_call_duration_seconds", "Upstream call latency", ["provider", "operation"],
                             buckets=LATENCY_BUCKETS)


def observe_provider_call(*, provider: str, operation: str, outcome: str, seconds: float) -> None:
    """outcome: ok | rejected | unavailable | circuit_open."""
    PROVIDER_CALLS.labels(provider, operation, outcome).inc()
    if outcome != "circuit_open":
        PROVIDER_LATENCY.labels(provider, operation).observe(seconds)
