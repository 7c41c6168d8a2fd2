"""The benchmark's arithmetic (run with `python3 dev.py test bench`). No timing assertions."""
import pytest

from bench.report import histogram_quantile, targets, upstream_figures
from bench.stats import (
    Sample, counter_delta, fixed_rate, median_of, percentile, session_rate, staggered_polls, summarize,
)


def sample(scheduled, done, *, sent=None, status=200, ok=True, kind="poll"):
    return Sample(kind=kind, scheduled=scheduled, sent=scheduled if sent is None else sent, done=done,
                  status=status, ok=ok)


def test_it_interpolates_percentiles_like_numpy():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_it_ignores_input_order_for_percentiles():
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0


def test_it_rejects_a_percentile_outside_0_to_100():
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_it_spaces_a_fixed_rate_schedule_evenly():
    times = fixed_rate(rate=4, duration=2.0, start=10.0)
    assert times == [10.0, 10.25, 10.5, 10.75, 11.0, 11.25, 11.5, 11.75]
    assert fixed_rate(rate=0, duration=5) == []


def test_it_staggers_pollers_into_a_steady_rate():
    schedule = staggered_polls(clients=6, interval=3.0, duration=9.0)
    assert len(schedule) == 6 * 3
    times = [t for t, _ in schedule]
    assert times == sorted(times)
    gaps = {round(b - a, 9) for a, b in zip(times, times[1:])}
    assert gaps == {0.5}  # 6 clients / 3 s: one poll every 0.5 s, no bursts
    assert [c for t, c in schedule if c == 2] == [2, 2, 2]
    assert [t for t, c in schedule if c == 2] == [1.0, 4.0, 7.0]


def test_it_sizes_sessions_for_a_target_request_rate():
    # SMS after 12 s, polls every 3 s: create + 4 polls; 20 % cancel after 2 polls: create + 2 polls + cancel.
    rate = session_rate(target_rps=120, sms_delay=12, interval=3, cancel_share=0.2, cancel_after_polls=2)
    assert rate == pytest.approx(120 / (0.8 * 5 + 0.2 * 4))


def test_it_measures_latency_from_the_scheduled_time_not_the_send_time():
    # The generator was late by 400 ms (a busy loop): that delay belongs in the latency.
    late = sample(1.0, 1.5, sent=1.4)
    assert late.latency == pytest.approx(0.5)
    summary = summarize([late], window=(0.0, 2.0))
    assert summary["p50_ms"] == pytest.approx(500.0)
    assert summary["generator_lag_p99_ms"] == pytest.approx(400.0)


def test_it_counts_only_requests_scheduled_inside_the_window():
    samples = [sample(0.5, 0.6), sample(1.0, 1.1), sample(2.9, 3.5), sample(3.0, 3.1)]
    summary = summarize(samples, window=(1.0, 3.0))
    assert summary["requests"] == 2
    assert summary["rps"] == 1.0
    assert summary["p50_ms"] == pytest.approx(350.0)


def test_it_counts_failures_and_timeouts_as_errors_with_their_latency():
    samples = [sample(0.0, 0.01), sample(0.1, 0.11), sample(0.2, 15.2, status=0, ok=False),
               sample(0.3, 0.4, status=503, ok=False)]
    summary = summarize(samples, window=(0.0, 1.0))
    assert summary["errors"] == 2
    assert summary["error_rate"] == 0.5
    assert summary["rps"] == 3.0  # the timeout got no answer
    assert summary["max_ms"] == pytest.approx(15000.0)
    assert summary["statuses"] == {"0": 1, "200": 2, "503": 1}


def test_it_takes_the_median_of_runs_and_skips_missing_figures():
    runs = [{"p99_ms": 30.0}, {"p99_ms": 10.0}, {"p99_ms": 20.0}, {"p99_ms": None}]
    assert median_of(runs, "p99_ms") == 20.0
    assert median_of([{}], "p99_ms") is None


def test_it_subtracts_counters_and_keeps_unchanged_ones():
    assert counter_delta({"a": 5, "b": 2}, {"a": 8, "b": 2, "c": 1}) == {"a": 3, "b": 0, "c": 1}


def test_it_anchors_a_histogram_quantile_on_empty_low_buckets():
    # Every request took 0.75-1 s: dropping the empty buckets below would interpolate from 0 and
    # report a median of 0.5 s.
    assert histogram_quantile([(0.5, 0.0), (0.75, 0.0), (1.0, 10.0)], 0.5) == pytest.approx(0.875)


def test_it_names_upstream_calls_by_operation():
    figures = upstream_figures({
        "POST /api/pub/v2/auth": 1, "POST /api/pub/v2/pricing/verifications": 10,
        "POST /api/pub/v2/verifications": 10, "GET /api/pub/v2/verifications/lr_ABC": 12,
        "POST /api/pub/v2/verifications/lr_ABC/cancel": 2, "GET /api/pub/v2/sms": 40,
    }, {})
    assert figures["by_operation"] == {"auth": 1, "cancel": 2, "details": 12, "quote": 10, "rent": 10, "sms": 40}
    assert figures["calls"] == 75
    assert figures["provider_metric_calls"] is None


def test_it_judges_the_targets():
    summary = {"mix": {"rps": 110.0, "p95_ms": 2500.0, "p99_ms": 4000.0, "error_rate": 0.0},
               "bare-wrk": {"rps": 1000.0}, "poll-wrk": {"rps": 400.0}, "poll-wrk-jwt": {"rps": 600.0},
               "poll-wrk-304": {"rps": 900.0}, "poll-0ms": {"p99_ms": 120.0}, "poll": {"p99_ms": 500.0}}
    verdicts = {t["target"]: t["met"] for t in targets(summary, latency_ms=300)}
    assert verdicts == {
        "mix ≥ 100 req/s": True, "mix P95 < 2 s": False, "mix P99 < 5 s": True, "mix errors < 1 %": True,
        "polling (API key) ≥ 50 % of bare-Django ceiling": False,
        "polling (JWT) ≥ 50 % of bare-Django ceiling": True,
        "polling (API key, 304) ≥ 50 % of bare-Django ceiling": True, "polling P99 < 250 ms apart from upstream latency": True,
        "polling P99 < 550 ms with a 300 ms upstream": True,
    }


def test_it_reads_a_quantile_from_histogram_buckets():
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (float("inf"), 100.0)]
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.1)
    assert histogram_quantile(buckets, 0.7) == pytest.approx(0.3)
    assert histogram_quantile(buckets, 0.99) == pytest.approx(0.95)
    assert histogram_quantile([], 0.5) is None
