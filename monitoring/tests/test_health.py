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
        if name != "background":
            assert component["status"] == "ok" and "latency_ms" in component and "checked_at" in component
    assert body["components"]["provider:mock"]["breaker"]["state"] == "closed"
    assert exit_code() == 0


def _worker(hostname: str):
    from types import SimpleNamespace

    from namaskah.celery import app

    return SimpleNamespace(hostname=hostname, app=app, concurrency=8, pool=SimpleNamespace())


def test_health_shows_the_workers_and_the_oldest_overdue_check(client, db, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from namaskah.celery import app
    from namaskah.workers import Presence
    from verifications.models import Verification
    from verifications.tests.lifecycle import make_shop

    monkeypatch.setattr(app.conf, "task_always_eager", False)  # as in production: real workers
    body = client.get("/system/health").json()
    assert body["status"] == "degraded" and body["components"]["background"] == {
        "status": "down", "workers": [], "oldest_overdue_check_s": None}

    step = Presence(_worker("w1@host"))
    step.report(_worker("w1@host"))
    step.report(_worker("w2@host"))
    background = client.get("/system/health").json()["components"]["background"]
    assert background["status"] == "ok" and [w["hostname"] for w in background["workers"]] == ["w1@host", "w2@host"]
    assert set(background["workers"][0]["queues"]) == {"default", "checks", "voice", "webhooks"}
    assert background["workers"][0]["age_s"] < 5

    shop = make_shop()
    from accounts.models import User

    owner = User.objects.create_user("late@example.com", "correct-horse-battery")
    Verification.objects.create(user=owner, service=shop["telegram"], country=shop["us"], capability="sms",
                                provider="mock", provider_ref="r1", price="1.00",
                                expires_at=timezone.now() + timedelta(minutes=10),
                                next_check_at=timezone.now() - timedelta(seconds=90))
    body = client.get("/system/health").json()
    background = body["components"]["background"]
    assert body["status"] == "degraded" and background["status"] == "behind"
    assert 89 <= background["oldest_overdue_check_s"] < 120

    step.stop(_worker("w1@host"))
    workers = client.get("/system/health").json()["components"]["background"]["workers"]
    assert [w["hostname"] for w in workers] == ["w2@host"]


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
