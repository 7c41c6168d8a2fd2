"""/system/health and `healthcheck` for each failure: database, cache, provider, breaker, recovery."""
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db.utils import ConnectionHandler
from django.utils import timezone

from monitoring.health import HealthMonitor
from providers.breaker import breaker_for
from fakes.textverified import start_fake_server

BROKEN_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                            "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05}}}


def exit_code(*args) -> int:
    with pytest.raises(SystemExit) as stopped:
        call_command("healthcheck", *args)
    return stopped.value.code


@pytest.fixture
def fake_textverified(settings):
    server = start_fake_server(api_key="health-key", username="ops@example.com", sms_delay=0)
    settings.PROVIDER = "textverified"
    settings.TEXTVERIFIED_BASE_URL = server.base_url
    settings.TEXTVERIFIED_API_KEY = "health-key"
    settings.TEXTVERIFIED_EMAIL = "ops@example.com"
    yield server
    server.stop()


def test_healthy_when_everything_answers(client, db):
    response = client.get("/system/health")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "healthy"
    assert {"database", "cache", "provider:mock"} <= set(body["components"])
    for name, component in body["components"].items():
        if name != "poller":
            assert component["status"] == "ok" and "latency_ms" in component and "checked_at" in component
    assert body["components"]["provider:mock"]["breaker"]["state"] == "closed"
    assert exit_code() == 0


def test_the_poller_shows_in_health_without_changing_the_verdict(client, db):
    from verifications import heartbeat

    body = client.get("/system/health").json()
    assert body["status"] == "healthy" and body["components"]["poller"] == {
        "status": "off", "mode": "requests poll the provider"}
    heartbeat.beat(cycle_seconds=0.42, polled=7)
    body = client.get("/system/health").json()
    poller = body["components"]["poller"]
    assert body["status"] == "healthy" and poller["status"] == "ok" and poller["mode"] == "background poller"
    assert poller["last_cycle_s"] == 0.42 and poller["last_cycle_polled"] == 7 and poller["last_beat_age_s"] < 5


def test_cache_down_is_unhealthy(client, db, settings):
    settings.CACHES = BROKEN_REDIS
    response = client.get("/system/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["components"]["cache"]["status"] == "down"
    assert exit_code() == 2


def test_database_down_is_unhealthy(db):
    broken = ConnectionHandler({"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x", "USER": "x",
                                            "HOST": "127.0.0.1", "PORT": "1", "OPTIONS": {"connect_timeout": 1}}})
    report = HealthMonitor(connection=broken["default"]).check()
    assert report.status == "unhealthy" and report.http_status == 503 and report.exit_code == 2
    assert report.components["database"]["status"] == "down"


def test_a_failing_provider_is_degraded_but_the_site_works(client, db, settings):
    settings.PROVIDER = "textverified"
    settings.TEXTVERIFIED_BASE_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.TEXTVERIFIED_API_KEY, settings.TEXTVERIFIED_EMAIL = "k", "ops@example.com"
    response = client.get("/system/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["provider:textverified"]["status"] == "failing"
    assert exit_code() == 1


def test_an_open_breaker_is_degraded_and_recovery_shows_at_once(client, db, settings, fake_textverified):
    assert client.get("/system/health").json()["status"] == "healthy"
    breaker_for("textverified").trip()
    body = client.get("/system/health").json()
    assert body["status"] == "degraded"
    assert body["components"]["provider:textverified"]["breaker"]["state"] == "open"
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.BREAKER_RECOVERY_TIMEOUT + 1)):
        recovered = client.get("/system/health").json()
    assert recovered["status"] == "healthy"
    assert recovered["components"]["provider:textverified"]["breaker"]["state"] == "closed"


def test_liveness_does_no_io(client):
    # No `db` fixture: any database access here would raise.
    assert client.get("/system/live").json() == {"status": "alive"}
