"""The breaker under real threads: it never serialises calls, lets one probe through, and a dead
cache costs almost nothing."""
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache.backends.redis import RedisCache

from providers.base import ProviderUnavailable
from providers.breaker import CLOSED, UNKNOWN, CircuitBreaker
from fakes.textverified import start_fake_server
from providers.registry import Guarded
from providers.tests.support import API_KEY, USERNAME, Clock, closed_port
from providers.textverified import TextVerifiedClient


def test_it_lets_32_concurrent_calls_to_a_300ms_upstream_run_together():
    # The one test that waits on purpose: it measures concurrency against a slow upstream.
    with start_fake_server(api_key=API_KEY, username=USERNAME, latency=0.3) as server:
        client = TextVerifiedClient(base_url=server.base_url, api_key=API_KEY, username=USERNAME, pool_size=32)
        client.balance()  # authenticate once, outside the measurement
        guarded = Guarded(client, breaker=CircuitBreaker("concurrency-test"))
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda _: guarded.balance(), range(32)))
        elapsed = time.monotonic() - started
    assert len(results) == 32
    assert elapsed < 2.0, f"32 calls took {elapsed:.2f}s: something serialises them (32 x 0.3s = 9.6s)"


def test_in_half_open_exactly_one_of_many_concurrent_callers_probes(two_caches):
    clock = Clock()
    breakers = [CircuitBreaker("tv", cache=cache, clock=clock, failure_threshold=1, recovery_timeout=30)
                for cache in two_caches]
    breakers[0].trip()
    clock.advance(30)
    release = threading.Event()
    turned_away = threading.Semaphore(0)
    probes = []

    def upstream():
        probes.append(threading.get_ident())
        release.wait(timeout=10)  # hold the probe open until every other caller has been answered
        return "ok"

    def caller(index):
        try:
            return breakers[index % 2].call(upstream)
        except ProviderUnavailable as exc:
            turned_away.release()
            return exc.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(caller, i) for i in range(16)]
        for _ in range(15):
            assert turned_away.acquire(timeout=10)
        release.set()
        results = [f.result() for f in futures]
    assert len(probes) == 1
    assert sorted(results) == ["circuit_open"] * 15 + ["ok"]
    assert breakers[1].snapshot().state == CLOSED


@pytest.fixture
def dead_cache():
    return RedisCache(f"redis://127.0.0.1:{closed_port()}/0",
                      {"OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}})


def test_with_the_cache_down_it_lets_calls_through_quickly_and_logs_once(dead_cache, caplog):
    caplog.set_level(logging.WARNING, logger="providers.breaker")  # whatever an earlier test left set
    breaker = CircuitBreaker("dead", cache=dead_cache)
    calls = []
    for outcome in ("ok", "fail", "ok", "fail", "ok", "fail", "ok", "fail"):
        started = time.monotonic()

        def upstream():
            calls.append(outcome)
            if outcome == "fail":
                raise ProviderUnavailable("down", code="upstream_error")
            return outcome

        try:
            breaker.call(upstream)
        except ProviderUnavailable as exc:
            assert exc.code == "upstream_error"  # never "circuit_open": nothing can open it
        assert time.monotonic() - started < 0.5
    assert len(calls) == 8
    assert breaker.snapshot().state == UNKNOWN
    warnings = [r for r in caplog.records if r.name == "providers.breaker" and r.levelno == logging.WARNING]
    assert len(warnings) == 1


def test_operator_actions_fail_clearly_when_the_cache_is_down(dead_cache):
    with pytest.raises(ProviderUnavailable) as caught:
        CircuitBreaker("dead", cache=dead_cache).trip()
    assert caught.value.code == "cache_unavailable"
