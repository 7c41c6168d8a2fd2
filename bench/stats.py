"""The benchmark's arithmetic: open-loop schedules, percentiles, summaries, medians. Pure functions,
no I/O, so `python3 dev.py test bench` can check them.

Latency is measured from the *scheduled* send time, not from the moment the request left: a
generator that waits for a free connection or a late timer would otherwise hide the queueing delay
it caused (coordinated omission).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class Sample:
    kind: str         # "create", "poll", "cancel", "live"
    scheduled: float  # seconds on the generator's clock, when the request was due
    sent: float       # when it actually left (sent - scheduled = generator lag)
    done: float       # when the whole response was read (or the request failed)
    status: int       # HTTP status; 0 for a transport failure or a timeout
    ok: bool          # the status this request expects (e.g. 201 for create)

    @property
    def latency(self) -> float:
        return self.done - self.scheduled


def fixed_rate(*, rate: float, duration: float, start: float = 0.0) -> list[float]:
    """Send times of a constant-rate (open-loop) generator: one every 1/rate s in [start, start+duration)."""
    if rate <= 0 or duration <= 0:
        return []
    count = math.ceil(duration * rate - 1e-9)
    return [start + i / rate for i in range(count)]


def staggered_polls(*, clients: int, interval: float, duration: float, start: float = 0.0) -> list[tuple[float, int]]:
    """(time, client) for `clients` that each poll every `interval` s, their phases spread evenly so
    the server sees a steady clients/interval requests per second, not bursts."""
    schedule = []
    for client in range(clients):
        t = start + client * interval / clients
        while t < start + duration - 1e-9:
            schedule.append((t, client))
            t += interval
    schedule.sort()
    return schedule


def session_rate(*, target_rps: float, sms_delay: float, interval: float, cancel_share: float,
                 cancel_after_polls: int) -> float:
    """Sessions per second that make `target_rps` requests per second in steady state.

    A session creates a verification, then polls every `interval` s until the code arrives
    (`sms_delay` s after the purchase, seen at the first poll at or after it), or, for the
    `cancel_share` that give up, polls `cancel_after_polls` times and cancels.
    """
    polls_to_code = max(1, math.ceil(sms_delay / interval - 1e-9))
    completing = 1 + polls_to_code
    cancelling = 1 + cancel_after_polls + 1
    per_session = (1 - cancel_share) * completing + cancel_share * cancelling
    return target_rps / per_session


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(samples: list[Sample], *, window: tuple[float, float]) -> dict:
    """Throughput, latency percentiles (ms) and error rate of the samples *scheduled* inside `window`.

    Throughput counts answered requests (any status) per second of window; a request that failed
    or timed out counts as an error with its full latency, so it cannot flatter the percentiles.
    """
    start, end = window
    inside = [s for s in samples if start <= s.scheduled < end]
    seconds = end - start
    latencies = [s.latency * 1000 for s in inside]
    lags = [(s.sent - s.scheduled) * 1000 for s in inside]
    errors = sum(not s.ok for s in inside)
    answered = sum(s.status > 0 for s in inside)
    return {
        "requests": len(inside),
        "rps": round(answered / seconds, 1) if seconds > 0 else None,
        "offered_rps": round(len(inside) / seconds, 1) if seconds > 0 else None,
        "p50_ms": _round(percentile(latencies, 50)),
        "p95_ms": _round(percentile(latencies, 95)),
        "p99_ms": _round(percentile(latencies, 99)),
        "max_ms": _round(max(latencies) if latencies else None),
        "errors": errors,
        "error_rate": round(errors / len(inside), 4) if inside else None,
        "statuses": _count(str(s.status) for s in inside),
        "generator_lag_p99_ms": _round(percentile(lags, 99)),
    }


def summarize_by_kind(samples: list[Sample], *, window: tuple[float, float]) -> dict:
    kinds = sorted({s.kind for s in samples})
    return {kind: summarize([s for s in samples if s.kind == kind], window=window) for kind in kinds}


def median_of(runs: list[dict], key: str) -> float | None:
    """Median over runs of one figure, ignoring runs where it is missing."""
    values = [run[key] for run in runs if run.get(key) is not None]
    return round(median(values), 2) if values else None


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 3)


def counter_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """after - before for every key of `after` (a counter that appeared counts from zero). Zeros are
    kept: a histogram's empty low buckets are what anchor its quantiles."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))
