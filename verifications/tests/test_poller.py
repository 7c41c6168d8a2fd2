"""The background poller (`poll_upstream`): customers' polls become database reads while it runs,
and requests take polling back when its heartbeat lapses."""
import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from verifications import heartbeat, poller
from verifications.models import Message, Verification
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop, rewrite

SMS_PATH = "/api/pub/v2/sms"
pytestmark = pytest.mark.django_db(transaction=True)  # the poller's threads have their own connections


@pytest.fixture
def fake(settings):
    with fake_textverified(settings, sms_delay=None) as server:  # SMS only when a test sends one
        yield server


@pytest.fixture
def shop():
    return make_shop()


def buy(api, service="telegram") -> Verification:
    response = api.post("/verify/create", {"service": service, "country": "US", "capability": "sms"}, format="json")
    assert response.status_code == 201, response.content
    return Verification.objects.get(pk=response.json()["id"])


def sms_calls(fake) -> int:
    return fake.fake.count("GET", SMS_PATH)


def poll_once() -> str:
    out = io.StringIO()
    call_command("poll_upstream", "--once", "--threads", "4", stdout=out)
    return out.getvalue()


def test_one_round_fetches_codes_and_completes_verifications(fake, shop, alice):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 123987", code="123987")
    assert "1 open, 1 polled upstream, 0 expired, 0 errors" in poll_once()
    verification.refresh_from_db()
    assert verification.status == Verification.Status.COMPLETED
    assert list(Message.objects.filter(verification=verification).values_list("code", flat=True)) == ["123987"]


def test_while_the_poller_beats_polls_read_the_database_and_refresh_still_asks(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    heartbeat.beat(cycle_seconds=0.1, polled=0)
    before = sms_calls(fake)
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 555111", code="555111")
    for _ in range(3):
        body = api.get(f"/verify/{verification.pk}/messages").json()
        assert body["status"] == "pending" and body["code"] is None  # not fetched yet: the poller's job
    assert sms_calls(fake) == before
    body = api.get(f"/verify/{verification.pk}/messages?refresh=1").json()  # "check now" still asks
    assert body["code"] == "555111" and sms_calls(fake) == before + 1


def test_requests_poll_for_themselves_when_the_heartbeat_lapses(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    heartbeat.beat(cycle_seconds=0.1, polled=0)
    api.get(f"/verify/{verification.pk}/messages")
    before = sms_calls(fake)
    cache.delete(heartbeat.HEARTBEAT_KEY)  # what its timeout does when the poller dies
    heartbeat.forget_heartbeat()  # ... and this worker's one-second memory of it
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 777000", code="777000")
    assert api.get(f"/verify/{verification.pk}/messages").json()["code"] == "777000"
    assert sms_calls(fake) == before + 1


def test_the_heartbeat_outlives_a_few_missed_rounds(settings):
    settings.MESSAGE_REFRESH_INTERVAL = 3.0
    assert heartbeat.heartbeat_ttl() == 14.0


def test_a_round_expires_and_refunds_due_verifications_and_skips_settled_ones(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    due, cancelled = buy(api, "test-pending"), buy(api, "test-pending")
    assert api.delete(f"/verify/{cancelled.pk}").status_code == 200
    rewrite(due, expires_at=timezone.now() - timedelta(seconds=1))
    before = sms_calls(fake)
    assert "1 open, 1 polled upstream, 1 expired" in poll_once()
    assert sms_calls(fake) == before + 1  # the cancelled one is not asked about
    due.refresh_from_db()
    assert due.status == Verification.Status.EXPIRED and due.refunded_at is not None
    assert balance(alice) == Decimal("5.00")
    assert "0 open" in poll_once()


def test_two_pollers_in_one_interval_ask_the_provider_once_per_verification(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    buy(api), buy(api)
    before = sms_calls(fake)
    assert "2 polled upstream" in poll_once()
    assert "0 polled upstream" in poll_once()
    assert sms_calls(fake) == before + 2


def test_a_running_poller_beats_and_clears_its_heartbeat_when_stopped(fake, shop, alice, settings):
    settings.MESSAGE_REFRESH_INTERVAL = 0.5
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    stop, completed, rounds = threading.Event(), threading.Event(), []

    def report(cycle):  # after each round, in the poller's thread
        rounds.append(cycle)
        if Verification.objects.get(pk=verification.pk).status == Verification.Status.COMPLETED:
            completed.set()

    thread = threading.Thread(target=poller.run, kwargs={"threads": 2, "limit": 100, "once": False, "stop": stop,
                                                         "report": report})
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 246810", code="246810")
    thread.start()
    try:
        assert completed.wait(timeout=10)
        assert heartbeat.heartbeat()["pid"] and heartbeat.poller_running()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and rounds
    assert heartbeat.heartbeat() is None
    heartbeat.forget_heartbeat()
    assert not heartbeat.poller_running()


@pytest.mark.parametrize("argv, message", [(["--threads", "0"], "--threads"), (["--limit", "0"], "--limit")])
def test_bad_arguments_are_refused_with_exit_code_2(argv, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("poll_upstream", "--once", *argv)
    assert caught.value.returncode == 2


def test_completed_verifications_are_polled_only_while_a_customer_watches(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 100001", code="100001")
    poll_once()
    heartbeat.beat(cycle_seconds=0.1, polled=1)
    cache.delete_many([f"poll:{verification.pk}"])  # as if an interval had passed
    assert "0 open, 0 polled upstream" in poll_once()  # completed, and nobody looks at it
    fake.fake.deliver_sms(verification.provider_ref, text="Your new code is 200002", code="200002")
    assert api.get(f"/verify/{verification.pk}/messages").json()["code"] == "100001"  # a read, and a sign of interest
    assert "1 open, 1 polled upstream" in poll_once()
    assert api.get(f"/verify/{verification.pk}/messages").json()["code"] == "200002"


def test_while_webhooks_arrive_the_poller_asks_only_every_webhook_poll_interval(fake, shop, alice, settings):
    import time_machine

    settings.MESSAGE_REFRESH_INTERVAL, settings.WEBHOOK_POLL_INTERVAL = 3, 30
    # Travelling in time moves local-memory expiries, not a Redis server's.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "webhooks"}}
    fund(alice, "5.00")
    buy(api_for(alice))
    start = timezone.now()
    assert "1 polled upstream" in poll_once()

    def at(seconds):
        heartbeat.forget_heartbeat()  # this process's one-second memos
        return time_machine.travel(start + timedelta(seconds=seconds))

    with at(5):
        assert "1 polled upstream" in poll_once()  # no webhooks: every interval
        heartbeat.note_webhook()
    with at(10):
        assert "1 polled upstream" in poll_once()  # this round takes the long lock
    with at(25):
        assert "0 polled upstream" in poll_once()
    with at(45):
        assert "1 polled upstream" in poll_once()


def test_expiry_asks_the_provider_once_more_before_refunding(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    heartbeat.beat(cycle_seconds=0.1, polled=0)  # requests do not poll: only the last check can find it
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 909090", code="909090")
    rewrite(verification, expires_at=timezone.now() - timedelta(seconds=1))
    body = api.get(f"/verify/{verification.pk}/messages").json()
    assert body["status"] == "completed" and body["code"] == "909090"
    assert balance(alice) == Decimal("4.00")  # charged: the code arrived in time


def test_an_sms_brought_for_a_verification_settled_meanwhile_is_not_stored(fake, shop, alice):
    from providers.base import Sms
    from verifications import services

    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api, "test-pending")
    stale = Verification.objects.get(pk=verification.pk)  # what a webhook or poll read a moment ago
    assert api.delete(f"/verify/{verification.pk}").status_code == 200
    sms = Sms(id="late", sender="1", text="Your code is 121212", code="121212", received_at=timezone.now())
    assert services.record_received(stale, [sms]) == 0
    assert stale.status == Verification.Status.CANCELLED and not Message.objects.exists()


def test_pending_verifications_come_first_when_a_round_is_full(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    old, new = buy(api), buy(api)
    rewrite(old, status=Verification.Status.COMPLETED)
    heartbeat.beat(cycle_seconds=0.1, polled=0)
    api.get(f"/verify/{old.pk}/messages")  # watched: still a candidate, after every pending one
    assert [v.pk for v in poller.open_verifications(limit=1)] == [new.pk]
    assert [v.pk for v in poller.open_verifications(limit=5)] == [new.pk, old.pk]


def test_a_cache_outage_leaves_completed_ones_unwatched_and_the_round_goes_on(fake, shop, alice, settings):
    fund(alice, "5.00")
    buy(api_for(alice))
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05}}}
    assert heartbeat.watched(["a", "b"]) == set()
    assert "1 open, 1 polled upstream, 0 expired, 0 errors" in poll_once()  # poll locks fail open


def test_a_stopping_poller_leaves_another_pollers_heartbeat(settings):
    cache.set(heartbeat.HEARTBEAT_KEY, {"host": "elsewhere", "pid": 1, "at": 0, "cycle_seconds": 0, "polled": 0}, 30)
    heartbeat.stop_beating()
    assert heartbeat.heartbeat()["host"] == "elsewhere"
    heartbeat.beat(cycle_seconds=0, polled=0)
    heartbeat.stop_beating()
    assert heartbeat.heartbeat() is None


def test_threads_do_not_queue_behind_one_asking_the_cache():
    heartbeat._memo.update(until=0.0, alive=True)
    with heartbeat._memo_lock:  # another thread is asking the (maybe hanging) cache
        assert heartbeat.poller_running() is True  # the last answer, at once


def test_the_service_runs_until_sigterm_and_warns_without_a_shared_cache(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'poller.db'}", DJANGO_SETTINGS_MODULE="namaskah.settings",
               DEBUG="true", MESSAGE_REFRESH_INTERVAL="0.5")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=root, env=env, check=True)
    service = subprocess.Popen([sys.executable, "manage.py", "poll_upstream", "-v", "2"], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = service.stdout.readline()
        assert first.startswith("poll_upstream: polling every 0.5 s")
        assert service.stdout.readline().startswith("poll_upstream: 0 open, 0 polled upstream")  # a round ran
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=20)
    assert service.returncode == 0 and out.rstrip().endswith("poll_upstream: stopped")
    assert "the cache is local memory" in err
