"""The circuit breaker's state machine, with an injected clock, seen by two cache clients (two
processes) on local memory and on Redis."""
import pytest

from providers.base import ProviderRejected, ProviderUnavailable
from providers.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from providers.tests.support import Clock


def down():
    raise ProviderUnavailable("upstream down", code="upstream_error")


def no():
    raise ProviderRejected("no numbers", code="no_numbers")


def up():
    return "ok"


class Upstream:
    def __init__(self):
        self.calls = 0

    def __call__(self, outcome):
        self.calls += 1
        return outcome()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def pair(two_caches, clock):
    """The same circuit as two worker processes see it."""
    first, second = two_caches
    return tuple(CircuitBreaker("tv", cache=cache, clock=clock, failure_threshold=3, recovery_timeout=60)
                 for cache in (first, second))


def fail(breaker, upstream=None, times=1):
    for _ in range(times):
        with pytest.raises(ProviderUnavailable):
            breaker.call(upstream or Upstream(), down)


def test_it_opens_after_the_threshold_of_consecutive_failures_across_processes(pair):
    a, b = pair
    fail(a)
    fail(b)
    assert a.snapshot().state == CLOSED and b.snapshot().failures == 2
    fail(a)
    assert b.snapshot().state == OPEN


def test_a_success_resets_the_consecutive_count(pair):
    a, b = pair
    fail(a, times=2)
    assert b.call(up) == "ok"
    fail(a, times=2)
    assert a.snapshot().state == CLOSED and a.snapshot().failures == 2


def test_a_business_no_counts_as_success_not_failure(pair):
    a, b = pair
    fail(a, times=2)
    with pytest.raises(ProviderRejected):
        b.call(no)
    assert a.snapshot().failures == 0
    for _ in range(5):
        with pytest.raises(ProviderRejected):
            a.call(no)
    assert b.snapshot().state == CLOSED


def test_our_own_bugs_count_as_neither(pair):
    a, _ = pair
    fail(a, times=2)
    with pytest.raises(ZeroDivisionError):
        a.call(lambda: 1 / 0)
    assert a.snapshot().failures == 2


def test_open_fails_fast_without_calling_the_upstream_and_says_when_to_retry(pair, clock):
    a, b = pair
    fail(a, times=3)
    upstream = Upstream()
    clock.advance(20)
    with pytest.raises(ProviderUnavailable) as caught:
        b.call(upstream, up)
    assert (caught.value.code, caught.value.retry_after) == ("circuit_open", 40)
    assert upstream.calls == 0
    assert b.snapshot().retry_after == 40


def test_after_the_recovery_timeout_one_probe_goes_through_and_success_closes(pair, clock):
    a, b = pair
    fail(a, times=3)
    clock.advance(60)
    assert b.snapshot().state == HALF_OPEN
    assert b.call(up) == "ok"
    snap = a.snapshot()
    assert (snap.state, snap.failures, snap.opened_at) == (CLOSED, 0, None)
    assert snap.transitions["closed->open"] == 1
    assert snap.transitions["open->half_open"] == 1
    assert snap.transitions["half_open->closed"] == 1


def test_a_failed_probe_opens_the_circuit_for_another_period(pair, clock):
    a, b = pair
    fail(a, times=3)
    clock.advance(61)
    fail(b)
    snap = a.snapshot()
    assert snap.state == OPEN and snap.opened_at == clock.now and snap.retry_after == 60
    assert snap.transitions["half_open->open"] == 1
    clock.advance(59)
    with pytest.raises(ProviderUnavailable) as caught:
        a.call(up)
    assert caught.value.code == "circuit_open"
    clock.advance(1)
    assert a.call(up) == "ok"
    assert b.snapshot().state == CLOSED


def test_a_rejected_probe_closes_the_circuit(pair, clock):
    a, b = pair
    fail(a, times=3)
    clock.advance(60)
    with pytest.raises(ProviderRejected):
        b.call(no)
    assert a.snapshot().state == CLOSED


def test_while_one_process_probes_the_other_is_turned_away(pair, clock):
    a, b = pair
    fail(a, times=3)
    clock.advance(60)
    seen = {}

    def probe():
        # Runs inside a's probe: b must not get a second probe through.
        with pytest.raises(ProviderUnavailable) as caught:
            b.call(up)
        seen["code"] = caught.value.code
        return "probed"

    assert a.call(probe) == "probed"
    assert seen["code"] == "circuit_open"
    assert b.call(up) == "ok"


def test_a_crashing_probe_frees_the_probe_lock(pair, clock):
    a, b = pair
    fail(a, times=3)
    clock.advance(60)
    with pytest.raises(KeyError):
        a.call(lambda: {}["boom"])
    assert b.call(up) == "ok"
    assert a.snapshot().state == CLOSED


def test_it_records_the_last_failure_for_monitoring(pair, clock):
    a, b = pair
    fail(a)
    snap = b.snapshot().as_dict()
    assert snap["last_failure_at"] == clock.now and snap["last_failure_code"] == "upstream_error"
    assert snap["state"] == "closed" and snap["name"] == "tv"


def test_operators_can_trip_and_reset(pair, clock):
    a, b = pair
    assert a.trip() == CLOSED
    assert b.snapshot().state == OPEN
    with pytest.raises(ProviderUnavailable):
        b.call(up)
    assert b.reset() == OPEN
    assert a.call(up) == "ok"
    transitions = a.snapshot().transitions
    assert transitions["closed->open"] == 1 and transitions["open->closed"] == 1


def test_it_reads_thresholds_from_settings_by_default(settings, clock):
    from django.core.cache import cache

    settings.BREAKER_FAILURE_THRESHOLD = 2
    settings.BREAKER_RECOVERY_TIMEOUT = 10
    breaker = CircuitBreaker("settings-test", cache=cache, clock=clock)
    fail(breaker, times=2)
    assert breaker.snapshot().state == OPEN
    clock.advance(10)
    assert breaker.snapshot().state == HALF_OPEN
