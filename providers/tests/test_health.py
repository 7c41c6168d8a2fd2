"""Provider health: cached, refreshed by real traffic, and recovering when the breaker closes."""
import pytest
import responses
import time_machine

from providers.base import ProviderRejected, ProviderUnavailable
from providers.breaker import CLOSED, HALF_OPEN, OPEN, breaker_for
from providers.health import provider_health
from providers.registry import get_provider
from providers.tests.support import API, API_KEY, BASE, USERNAME, add_auth


def configure(settings):
    settings.TEXTVERIFIED_BASE_URL = BASE
    settings.TEXTVERIFIED_API_KEY = API_KEY
    settings.TEXTVERIFIED_EMAIL = USERNAME
    settings.TEXTVERIFIED_BACKOFF_FACTOR = 0
    settings.TEXTVERIFIED_BACKOFF_JITTER = 0
    settings.TEXTVERIFIED_MAX_RETRIES = 0
    settings.PROVIDER_HEALTH_TTL = 300


def test_it_probes_once_then_serves_the_cached_result(rsps, settings):
    configure(settings)
    add_auth(rsps)
    probe = rsps.add(responses.GET, f"{API}/account/me", json={"currentBalance": 3})
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False) as traveller:
        first = provider_health("textverified")
        assert (first.ok, first.breaker_state) == (True, CLOSED)
        assert first.latency_ms is not None
        provider_health("textverified")
        assert probe.call_count == 1
        traveller.shift(301)
        provider_health("textverified")
        assert probe.call_count == 2


def test_real_traffic_refreshes_it_both_ways(rsps, settings):
    configure(settings)
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_1", status=503)
    rsps.add(responses.GET, f"{API}/verifications/lr_2", status=404)
    provider = get_provider("textverified")
    with pytest.raises(ProviderUnavailable):
        provider.status("lr_1")
    health = provider_health("textverified")
    assert (health.ok, health.detail) == (False, "upstream_error")
    with pytest.raises(ProviderRejected):
        provider.status("lr_2")  # "not found" is an answer: the upstream is up
    assert provider_health("textverified").ok is True
    assert not [c for c in rsps.calls if c.request.url.endswith("/account/me")]  # no probe was needed


def test_an_open_circuit_is_unhealthy_without_probing(rsps, settings):
    configure(settings)
    breaker_for("textverified").trip()
    health = provider_health("textverified")
    assert (health.ok, health.breaker_state, health.detail) == (False, OPEN, "circuit open")
    assert len(rsps.calls) == 0


def test_recovery_is_detected_when_the_probe_closes_the_circuit(rsps, settings):
    configure(settings)
    settings.BREAKER_RECOVERY_TIMEOUT = 60
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/account/me", json={"currentBalance": 3})
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False) as traveller:
        breaker_for("textverified").trip()
        assert provider_health("textverified").ok is False
        traveller.shift(61)
        assert breaker_for("textverified").snapshot().state == HALF_OPEN
        health = provider_health("textverified")
    assert (health.ok, health.breaker_state) == (True, CLOSED)
    assert breaker_for("textverified").snapshot().transitions["half_open->closed"] == 1


def test_the_mock_is_healthy():
    health = provider_health("mock")
    assert health.ok and health.breaker_state == CLOSED
    assert get_provider("mock").health() == provider_health("mock")


def test_an_unchanged_outcome_is_rewritten_at_most_once_a_second_and_a_change_at_once(settings, monkeypatch):
    from django.core.cache import cache

    from providers import health

    settings.PROVIDER_HEALTH_TTL = 300
    writes = []
    real_set = cache.set
    monkeypatch.setattr(cache, "set", lambda key, value, **kw: writes.append(value["ok"]) or real_set(key, value, **kw))
    clock = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: clock[0])
    for _ in range(50):  # a busy worker's calls
        health.record("textverified", ok=True, latency_ms=300)
    assert writes == [True]
    health.record("textverified", ok=False, latency_ms=None, detail="timeout")
    assert writes == [True, False] and health.cached("textverified").ok is False
    health.record("textverified", ok=True, latency_ms=300)
    assert writes == [True, False, True]
    clock[0] += health.REWRITE_EVERY
    health.record("textverified", ok=True, latency_ms=250)
    assert writes == [True, False, True, True] and health.cached("textverified").latency_ms == 250
