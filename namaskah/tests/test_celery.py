"""The Celery app: every scheduled job is a registered task on a declared queue, and the ops jobs
do what their management commands do (tasks run eagerly here; test_workers.py runs real ones)."""
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from namaskah.celery import BEAT_SCHEDULE, QUEUES, app


def test_every_scheduled_job_is_a_registered_task_routed_to_a_declared_queue():
    app.loader.import_default_modules()
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
    assert {q.name for q in app.conf.task_queues} == set(QUEUES)
    assert app.amqp.router.route({}, "verifications.check_verifications")["queue"].name == "checks"
    assert app.amqp.router.route({}, "accounts.audit_ledger")["queue"].name == "default"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost


def test_the_broker_follows_redis_url_unless_celery_broker_url_overrides(monkeypatch):
    import subprocess
    import sys

    def broker(**env):
        code = "import django; django.setup(); from django.conf import settings; print(settings.CELERY_BROKER_URL)"
        base = {k: v for k, v in __import__("os").environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
        result = subprocess.run([sys.executable, "-c", code], env={**base, **env, "DJANGO_SETTINGS_MODULE": "namaskah.settings"},
                                capture_output=True, text=True)
        return (result.stdout or result.stderr).strip().splitlines()[-1]

    assert broker() == "filesystem://"
    assert broker(REDIS_URL="redis://127.0.0.1:6379/3") == "redis://127.0.0.1:6379/3"
    assert broker(REDIS_URL="redis://127.0.0.1:6379/3", CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//") == \
        "amqp://guest:guest@127.0.0.1:5672//"
    assert "CELERY_BROKER_URL scheme 'http' is not supported" in broker(CELERY_BROKER_URL="http://x")


def test_audit_ledger_task_logs_each_mismatch_as_an_error(db, alice, caplog):
    from accounts.models import Account
    from accounts.tasks import audit_ledger

    assert audit_ledger() == 0
    Account.objects.filter(user=alice).update(balance=Decimal("3.00"))  # drifted from its (empty) ledger
    with caplog.at_level(logging.ERROR, logger="accounts.tasks"):
        assert audit_ledger() == 1
    assert "alice@example.com" in caplog.text


def test_flush_expired_tokens_task_drops_expired_tokens(db, alice):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from accounts.tasks import flush_expired_tokens

    OutstandingToken.objects.create(user=alice, jti="old", token="x", expires_at=timezone.now() - timedelta(days=1))
    OutstandingToken.objects.create(user=alice, jti="new", token="y", expires_at=timezone.now() + timedelta(days=1))
    flush_expired_tokens()
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["new"]


def test_sync_services_task_refreshes_costs_and_survives_an_unavailable_upstream(db, settings):
    from providers.breaker import breaker_for
    from verifications.models import Service
    from verifications.tasks import sync_services
    from verifications.tests.lifecycle import make_shop

    make_shop()
    breaker_for("mock").trip()
    sync_services()  # logs and returns; the next hour's run tries again
    assert not Service.objects.exclude(provider_cost_updated_at=None).exists()
    breaker_for("mock").reset()
    sync_services()
    assert Service.objects.exclude(provider_cost_updated_at=None).exists()


@pytest.mark.parametrize("task", ["payments.reconcile", "verifications.reconcile", "verifications.expire_due"])
def test_the_other_scheduled_jobs_run(db, task):
    app.loader.import_default_modules()
    assert app.tasks[task].apply().successful()


def test_a_worker_counts_in_memory_and_flushes_each_second_and_when_it_stops(db):
    from types import SimpleNamespace

    from namaskah import taskstats

    calls = []
    timer = SimpleNamespace(call_repeatedly=lambda every, fn, *a, **kw: calls.append((every, fn)) or
                            SimpleNamespace(cancel=lambda: calls.append("cancelled")))
    step = taskstats.Flush(SimpleNamespace(timer=timer))
    step.start(SimpleNamespace(timer=timer))
    try:
        taskstats.add({"check:checked": 2})
        taskstats.add({"check:checked": 3, "check:failed": 1, "check:stale": 0})
        assert taskstats.read() == {}, "buffered: no cache round trip per count"
        assert calls == [(taskstats.FLUSH_EVERY, taskstats.flush)]
        calls[0][1]()  # the timer fires
        assert taskstats.read() == {"check:checked": 5, "check:failed": 1}
        taskstats.add({"check:checked": 1})
    finally:
        step.stop(SimpleNamespace(timer=timer))
    assert calls[-1] == "cancelled"
    assert taskstats.read() == {"check:checked": 6, "check:failed": 1}, "stopping flushes the rest"
    taskstats.add({"check:failed": 1})  # outside a worker: written at once
    assert taskstats.read()["check:failed"] == 2
