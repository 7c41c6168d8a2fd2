"""What /system/metrics shows of the background work: queue depths read from the broker, and the
fleet-wide counters of task and check outcomes that workers keep in the shared cache
(namaskah/taskstats.py)."""
from __future__ import annotations

import logging

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

log = logging.getLogger(__name__)
BROKER_TIMEOUT = 1.0  # seconds: a scrape must not hang on a dead broker


def queue_depths() -> dict[str, int | None]:
    """Messages waiting in each declared queue; None for all when the broker cannot be asked."""
    from namaskah.celery import QUEUES, app

    depths: dict[str, int | None] = dict.fromkeys(QUEUES)
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
            channel = conn.default_channel
            for name in QUEUES:
                # passive: ask about the queue without creating it; a queue never used is empty.
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except Exception:
                    depths[name] = 0
                    channel = conn.channel()
    except Exception as exc:
        log.warning("metrics: the broker could not be asked for queue depths (%s)", type(exc).__name__)
        return dict.fromkeys(QUEUES)
    return depths


def outcomes() -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """(task outcomes by (task, outcome), check outcomes by outcome)."""
    counters = read_counters()
    return counters["tasks"], counters["checks"]


def read_counters() -> dict:
    """The fleet's counters by family: tasks {(task, outcome): n}, checks {outcome: n}, lag
    (per-bucket counts and the sum in ms), webhooks {outcome: n}."""
    from namaskah import taskstats

    counters = {"tasks": {}, "checks": {}, "lag": {"buckets": {}, "sum_ms": 0}, "webhooks": {}}
    for name, count in taskstats.read().items():
        kind, _, rest = name.partition(":")
        if kind == "task":
            task, _, outcome = rest.rpartition(":")
            counters["tasks"][(task, outcome)] = count
        elif kind == "check":
            counters["checks"][rest] = count
        elif kind == "check_lag":
            counters["lag"]["buckets"][rest] = count
        elif kind == "check_lag_ms_sum":
            counters["lag"]["sum_ms"] = count
        elif kind == "webhook":
            counters["webhooks"][rest] = count
    return counters


def check_lag(lag: dict) -> dict:
    """How late checks started after falling due: cumulative counts per upper bound (s), as a
    Prometheus histogram has them, their number and mean."""
    from verifications.checks import LAG_BUCKETS

    running, cumulative = 0, {}
    for bound in [f"{b:g}" for b in LAG_BUCKETS] + ["+Inf"]:
        running += lag["buckets"].get(bound, 0)
        cumulative[bound] = running
    return {"le": cumulative, "count": running, "mean_s": round(lag["sum_ms"] / 1000 / running, 3) if running else None}


class BackgroundCollector:
    def collect(self):
        depth = GaugeMetricFamily("namaskah_queue_depth", "Messages waiting in a Celery queue (-1: broker unreachable)",
                                  labels=["queue"])
        for queue, n in queue_depths().items():
            depth.add_metric([queue], -1 if n is None else n)
        yield depth
        counters = read_counters()
        tasks, found, lag = counters["tasks"], counters["checks"], counters["lag"]
        task_family = CounterMetricFamily("namaskah_tasks", "Celery tasks finished, by outcome", labels=["task", "outcome"])
        for (task, outcome), n in sorted(tasks.items()):
            task_family.add_metric([task, outcome], n)
        yield task_family
        check_family = CounterMetricFamily("namaskah_checks", "Background checks of open verifications, by outcome",
                                           labels=["outcome"])
        for outcome, n in sorted(found.items()):
            check_family.add_metric([outcome], n)
        yield check_family
        histogram = check_lag(lag)
        lag_family = HistogramMetricFamily("namaskah_check_lag_seconds",
                                           "How late background checks started after falling due")
        lag_family.add_metric([], [(b if b == "+Inf" else str(float(b)), n) for b, n in histogram["le"].items()],
                              sum_value=lag["sum_ms"] / 1000)
        yield lag_family
        hooks_family = CounterMetricFamily("namaskah_webhook_attempts",
                                           "Outbound webhook delivery attempts, by outcome", labels=["outcome"])
        for outcome, n in sorted(counters["webhooks"].items()):
            hooks_family.add_metric([outcome], n)
        yield hooks_family


def as_json() -> dict:
    counters = read_counters()
    tasks, found = counters["tasks"], counters["checks"]
    by_task: dict[str, dict[str, int]] = {}
    for (task, outcome), n in tasks.items():
        by_task.setdefault(task, {})[outcome] = n
    return {"queues": queue_depths(), "tasks": dict(sorted(by_task.items())), "checks": dict(sorted(found.items())),
            "check_lag_s": check_lag(counters["lag"]), "webhook_attempts": dict(sorted(counters["webhooks"].items()))}
