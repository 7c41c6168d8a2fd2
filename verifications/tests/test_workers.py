"""Real Celery workers and beat against PostgreSQL and Redis (the CI's services pass): two workers
share hundreds of open verifications, each checked once per interval; a worker SIGKILLed mid-round
loses nothing and doubles nothing; a purchase whose answer was lost is given back by a worker; a
code arriving at the last second beats the expiry. The fake TextVerified runs in this process and
logs every read, so the test sees exactly when each number was asked about."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from fakes.textverified.state import Fault
from providers import simulation
from providers.base import RentalState
from verifications.models import Verification
from verifications.tests.lifecycle import FAKE_EMAIL, FAKE_KEY, fake_textverified, fund, make_shop

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 2.0
OPEN = 200

pytestmark = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL")),
    reason="real workers need the shared PostgreSQL and Redis (CI's services pass)")


@pytest.fixture
def stack(transactional_db, settings, tmp_path):
    """The fake upstream here, and a function starting workers and beat on the test database."""
    from namaskah.celery import app

    settings.MESSAGE_REFRESH_INTERVAL = INTERVAL
    make_shop()
    app.conf.task_always_eager = False  # this test sends to the real broker
    procs: list[subprocess.Popen] = []
    with fake_textverified(settings, sms_delay=None, max_pending=10 * OPEN, balance=Decimal("100000")) as server:
        db = connection.settings_dict
        env = {**os.environ, "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
               "PROVIDER": "textverified", "TEXTVERIFIED_BASE_URL": server.base_url,
               "TEXTVERIFIED_API_KEY": FAKE_KEY, "TEXTVERIFIED_EMAIL": FAKE_EMAIL,
               "MESSAGE_REFRESH_INTERVAL": str(INTERVAL), "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "beat"),
               "DB_POOL_MAX_SIZE": "20"}
        celery = [sys.executable, "-m", "celery", "-A", "namaskah"]

        def start(kind: str, name: str = "") -> subprocess.Popen:
            argv = ([*celery, "worker", "-P", "threads", "-c", "16", "-n", f"{name}@%h", "-Q", "default,checks",
                     "--loglevel", "WARNING"] if kind == "worker" else [*celery, "beat", "--loglevel", "WARNING"])
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                       stderr=open(tmp_path / f"{name or kind}.log", "wb"))
            procs.append(process)
            return process

        _purge()
        try:
            yield server, start
        finally:
            for process in procs:
                if process.poll() is None:
                    process.terminate()
            for process in procs:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            _purge()
            app.conf.task_always_eager = True


def _purge() -> None:
    from namaskah.celery import app

    with app.connection_for_write() as conn:
        for queue in ("default", "checks"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:
                pass


def _open_verifications(alice, count: int) -> list[Verification]:
    from verifications import services
    from verifications.models import Country, Service

    fund(alice, str(count))
    service, country = Service.objects.get(slug="telegram"), Country.objects.get(code="US")
    return [services.purchase(user=alice, service=service, country=country, capability="sms")[0]
            for _ in range(count)]


def _asks(server, references: set[str], since: float) -> dict[str, list[float]]:
    times = defaultdict(list)
    for at, reference in list(server.fake.reads):
        if reference in references and at >= since:
            times[reference].append(at)
    return times


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_two_workers_check_each_open_verification_once_per_interval_and_survive_a_sigkill(stack, alice):
    server, start = stack
    verifications = _open_verifications(alice, OPEN)
    references = {v.provider_ref for v in verifications}
    first = start("worker", "w1")
    start("worker", "w2")
    start("beat")
    # Warm up until every verification has been asked about once.
    _wait(lambda: len(_asks(server, references, 0)) == OPEN, 60, "every open verification checked once")
    since = time.monotonic()
    time.sleep(3 * INTERVAL)
    first.send_signal(signal.SIGKILL)  # mid-round: it holds claimed, unacknowledged checks
    killed_at = time.monotonic()
    time.sleep(4 * INTERVAL)
    asks = _asks(server, references, since)
    assert set(asks) == references  # nobody starved, before or after the kill
    for reference, times in asks.items():
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Never asked twice in one interval: the next check is due an interval after the last ask.
        assert all(gap >= INTERVAL - 0.05 for gap in gaps), (reference, gaps)
        # The kill delays a check by at most about one interval: asked again soon after it.
        assert any(t > killed_at + 2 * INTERVAL for t in times), reference
    total = sum(len(t) for t in asks.values())
    seconds = time.monotonic() - since
    # About one check per interval each; the bound leaves room for a loaded CI machine (speed is
    # the scale-out benchmark's business).
    assert total >= OPEN * (seconds / INTERVAL) * 0.5
    # Nothing was settled, charged or refunded by any of it.
    assert Verification.objects.filter(status="pending").count() == OPEN


def test_a_worker_gives_back_an_orphaned_purchase_and_a_last_second_code_beats_the_expiry(stack, alice, settings):
    server, start = stack
    settings.TEXTVERIFIED_READ_TIMEOUT = 0.5
    settings.TEXTVERIFIED_MAX_RETRIES = 0
    start("worker", "w1")
    start("beat")
    # 1. The upstream sells, its answer is lost: the customer is refunded now, a worker gives it back.
    server.fake.add_fault(Fault(method="POST", path="/api/pub/v2/verifications", stall=2))
    fund(alice, "5.00")
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(alice)
    assert api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                    format="json").status_code == 503
    orphan = Verification.objects.get(user=alice)
    assert orphan.status == "failed" and orphan.orphan_check_at is not None

    def given_back() -> bool:
        orphan.refresh_from_db()
        return orphan.orphan_check_at is None

    _wait(given_back, 60, "the orphaned purchase given back")
    [record] = server.fake.records.values()
    assert simulation.view(record.facts, now=timezone.now()).state == RentalState.CANCELLED

    # 2. A code delivered a moment before expiry, with no check due before it: the expiry's last
    # look finds it, the sale completes, nothing is refunded.
    [verification] = _open_verifications(alice, 1)
    expires = timezone.now() + timedelta(seconds=4)
    Verification.objects.filter(pk=verification.pk).update(expires_at=expires, next_check_at=expires)
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds() - 0.5))
    server.fake.deliver_sms(verification.provider_ref, text="Your code is 908172", code="908172")

    def settled() -> bool:
        verification.refresh_from_db()
        return verification.status != "pending"

    _wait(settled, 60, "the verification settled")
    assert verification.status == "completed" and verification.refunded_at is None
    assert django_settings.MESSAGE_REFRESH_INTERVAL == INTERVAL
