"""Background checks as Celery tasks (verifications/checks.py, tasks.py), run eagerly: claims that
never ask twice, no starvation, expiry on schedule with a last look, the checks' own circuit, and
lost purchases given back. The same with real workers: test_workers.py."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.models import LedgerEntry
from fakes.textverified.state import Fault
from providers import simulation
from providers.base import RentalState
from providers.breaker import OPEN, breaker_for
from verifications import checks, services
from verifications.models import Verification
from verifications.services import orphans
from verifications.tasks import check_verifications, dispatch_checks, expire_due
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop, rewrite, run_checks


@pytest.fixture
def shop(db):
    return make_shop()


def buy(api, service="test-pending", capability="sms") -> Verification:
    response = api.post("/verify/create", {"service": service, "country": "US", "capability": capability},
                        format="json")
    assert response.status_code == 201, response.content
    return Verification.objects.get(pk=response.json()["id"])


def test_a_purchase_is_scheduled_one_interval_on_and_closed_rows_leave_the_schedule(shop, alice, settings):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    due = Verification.objects.get(pk=verification.pk).next_check_at
    assert timedelta(seconds=2) < due - verification.created_at < timedelta(seconds=settings.MESSAGE_REFRESH_INTERVAL + 1)
    assert api.delete(f"/verify/{verification.pk}").status_code == 200
    assert Verification.objects.get(pk=verification.pk).next_check_at is None


def test_every_due_verification_is_dispatched_in_one_round_oldest_due_first(shop, alice, settings):
    # More than one claim page: no row limit leaves the newest unchecked.
    fund(alice, "5.00")
    template = buy(api_for(alice))
    now = timezone.now()
    rows = [Verification(user=alice, service=template.service, country=template.country, capability="sms",
                         provider="mock", provider_ref=f"r{i}", price=Decimal("1.00"),
                         expires_at=now + timedelta(minutes=10), next_check_at=now - timedelta(seconds=i))
            for i in range(checks.CLAIM_PAGE + 150)]
    Verification.objects.bulk_create(rows)
    first = checks.claim_due(limit=3)
    assert [c.pk for c in first] == [str(r.pk) for r in rows[-1:-4:-1]]  # the most overdue first
    # A second dispatcher at the same moment claims none of those again.
    rest = checks.claim_due(limit=10_000)
    assert not {c.pk for c in first} & {c.pk for c in rest} and len(first) + len(rest) == len(rows)
    assert checks.claim_due() == []  # all moved one interval on
    later = timezone.now() + timedelta(seconds=settings.MESSAGE_REFRESH_INTERVAL + 0.5)
    assert len(checks.claim_due(now=later, limit=10_000)) == len(rows) + 1  # and due again a round later (the template too)


def test_a_redelivered_or_stale_task_never_asks_the_upstream_twice(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "5.00")
    verification = buy(api_for(alice), service="telegram")
    rewrite(verification, next_check_at=timezone.now())
    [claim] = checks.claim_due()
    message = [[claim.pk, claim.round]]
    assert check_verifications(message) == {"checked": 1}
    # acks_late: the same message again after a worker died mid-task, or a stale one.
    assert check_verifications(message) == {"stale": 1}
    assert check_verifications([[claim.pk, claim.round - 1]]) == {"stale": 1}


def test_a_lost_task_costs_one_interval(shop, alice, settings):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    rewrite(verification, next_check_at=timezone.now())
    [lost] = checks.claim_due()  # claimed, and its message never arrives anywhere
    assert checks.claim_due() == []
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.MESSAGE_REFRESH_INTERVAL + 0.1)):
        [again] = checks.claim_due()
        assert again.pk == lost.pk and again.round > lost.round
        assert services.check(again) == "checked"
        assert services.check(lost) == "stale"  # the lost message turning up late changes nothing


def test_while_webhooks_arrive_checks_fall_to_the_webhook_interval(shop, alice, settings):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    rewrite(verification, next_check_at=timezone.now())
    checks.note_webhook()
    before = timezone.now()
    checks.claim_due()
    due = Verification.objects.get(pk=verification.pk).next_check_at
    assert timedelta(seconds=settings.WEBHOOK_POLL_INTERVAL - 1) < due - before <= timedelta(
        seconds=settings.WEBHOOK_POLL_INTERVAL + 1)


def test_a_completed_verification_is_checked_until_expiry_then_never_again(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    verification = buy(api_for(alice), service="telegram")
    run_checks(verification)
    verification.refresh_from_db()
    assert verification.status == "completed" and verification.next_check_at is not None
    with time_machine.travel(verification.expires_at + timedelta(seconds=1)):
        run_checks(verification)
    assert Verification.objects.get(pk=verification.pk).next_check_at is None


def test_the_check_at_expiry_settles_on_time_and_refunds_once(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 100_000
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    verification.refresh_from_db()
    # The last claim before expiry schedules the next check at expires_at itself, not later.
    with time_machine.travel(verification.expires_at - timedelta(seconds=1)):
        rewrite(verification, next_check_at=timezone.now())
        checks.claim_due()
    assert Verification.objects.get(pk=verification.pk).next_check_at == verification.expires_at
    with time_machine.travel(verification.expires_at + timedelta(seconds=1)):
        assert dispatch_checks() == 1
        assert expire_due() == 0  # nothing left for the sweep: one refund
    verification.refresh_from_db()
    assert verification.status == "expired" and balance(alice) == Decimal("5.00")
    assert LedgerEntry.objects.filter(verification=verification, kind="refund").count() == 1


def test_a_code_arriving_at_the_last_second_beats_the_expiry(settings, shop, alice):
    # The upstream delivered the SMS a moment before expiry and no check has brought it yet: the
    # last look under the row lock stores it, the sale completes, nothing is refunded.
    with fake_textverified(settings, sms_delay=None) as server:
        fund(alice, "5.00")
        verification = buy(api_for(alice), service="telegram")
        verification.refresh_from_db()
        with time_machine.travel(verification.expires_at - timedelta(seconds=1)):
            server.fake.deliver_sms(verification.provider_ref, text="Your code is 551177", code="551177")
        with time_machine.travel(verification.expires_at + timedelta(seconds=2)):
            assert expire_due() == 0
    verification.refresh_from_db()
    assert verification.status == "completed" and balance(alice) == Decimal("4.00")
    assert not LedgerEntry.objects.filter(verification=verification, kind="refund").exists()


def test_an_upstream_that_cannot_answer_at_expiry_gets_a_minutes_grace_then_the_refund(settings, shop, alice):
    settings.MOCK_SMS_DELAY = 100_000
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    verification.refresh_from_db()
    with time_machine.travel(verification.expires_at + timedelta(seconds=5)):
        breaker_for("mock-checks").trip()
        assert expire_due() == 0
    assert Verification.objects.get(pk=verification.pk).status == "pending"
    with time_machine.travel(verification.expires_at + services.receive.EXPIRY_GRACE + timedelta(seconds=5)):
        assert expire_due() == 1
    assert balance(alice) == Decimal("5.00")


def test_failing_checks_open_their_own_circuit_and_sales_go_on(settings, shop, alice):
    settings.BREAKER_FAILURE_THRESHOLD = 3
    with fake_textverified(settings, sms_delay=None) as server:
        fund(alice, "5.00")
        api = api_for(alice)
        verification = buy(api, service="telegram")
        # The sweep is rate-limited upstream: every read answers 429.
        server.fake.add_fault(Fault(status=429, retry_after="0", path="/api/pub/v2/sms", count=-1))
        settings.TEXTVERIFIED_MAX_RETRIES = 0
        for _ in range(4):
            run_checks(verification)
        assert breaker_for("textverified-checks").snapshot().state == OPEN
        assert breaker_for("textverified").snapshot().state == "closed"
        assert buy(api, service="telegram").phone_number  # purchases still sell


def test_a_purchase_whose_answer_was_lost_is_refunded_and_its_number_given_back(
        settings, shop, alice, django_capture_on_commit_callbacks):
    settings.TEXTVERIFIED_READ_TIMEOUT = 0.5
    settings.TEXTVERIFIED_MAX_RETRIES = 0
    with fake_textverified(settings, sms_delay=None) as server:
        # The upstream sells the number, then its answer never reaches us.
        server.fake.add_fault(Fault(method="POST", path="/api/pub/v2/verifications", stall=3))
        fund(alice, "5.00")
        with django_capture_on_commit_callbacks(execute=True):
            response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US",
                                                               "capability": "sms"}, format="json")
        assert response.status_code == 503
        verification = Verification.objects.get(user=alice)
        assert verification.status == "failed" and balance(alice) == Decimal("5.00")
        # The give-back task ran (eagerly): asked again with the same key, then cancelled upstream.
        assert verification.orphan_check_at is None and "given back upstream" in verification.status_reason
        [record] = server.fake.records.values()
        assert simulation.view(record.facts, now=timezone.now()).state == RentalState.CANCELLED
        assert server.fake.count("POST", "/api/pub/v2/verifications") == 2  # the lost one and the replay


def test_reconcile_gives_back_orphans_the_task_could_not(settings, shop, alice):
    with fake_textverified(settings, sms_delay=None) as server:
        fund(alice, "5.00")
        verification = buy(api_for(alice), service="telegram")
        # As if the answer had been lost and the task had failed every retry: the row still waits.
        services.fail_and_refund(verification, reason="provider_timeout: lost")  # refunds; no orphan flag
        rewrite(verification, orphan_check_at=timezone.now())
        from verifications.tasks import reconcile

        reconcile()
        verification.refresh_from_db()
        assert verification.orphan_check_at is None and "given back upstream" in verification.status_reason
        record = server.fake.records[verification.provider_ref]
        assert simulation.view(record.facts, now=timezone.now()).state == RentalState.CANCELLED
        assert balance(alice) == Decimal("5.00")
        assert orphans.give_back(verification.pk) == "done"  # nothing left to do


def test_check_outcomes_and_task_outcomes_reach_the_metrics(shop, alice, staff, settings, client):
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    buy(api_for(alice), service="telegram")
    run_checks()
    client.force_login(staff)
    background = client.get("/system/metrics").json()["background"]
    assert background["checks"].get("checked", 0) >= 1
    assert set(background["queues"]) == {"default", "checks", "voice", "webhooks"}
    # Tasks signal their outcomes (here the eager ones the dispatcher sent).
    assert background["tasks"]["verifications.check_verifications"]["succeeded"] >= 1
    text = client.get("/system/metrics", HTTP_ACCEPT="text/plain").content.decode()
    assert 'namaskah_checks_total{outcome="checked"}' in text and "namaskah_queue_depth" in text


def test_how_late_each_check_started_reaches_the_metrics_as_a_histogram(shop, alice, staff, settings, client):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "5.00")
    late = buy(api_for(alice))
    on_time = buy(api_for(alice))
    now = timezone.now()
    Verification.objects.filter(pk=late.pk).update(next_check_at=now - timedelta(seconds=3))
    Verification.objects.filter(pk=on_time.pk).update(next_check_at=now)
    claims = {c.pk: c for c in checks.claim_due()}
    assert claims[str(late.pk)].due == pytest.approx((now - timedelta(seconds=3)).timestamp())
    check_verifications([[c.pk, c.round, c.due] for c in claims.values()])
    check_verifications([[c.pk, c.round, c.due] for c in claims.values()])  # redelivered: stale, not counted
    check_verifications([[str(on_time.pk), 99]])  # a message from before `due` was sent: still checked, no lag
    client.force_login(staff)
    lag = client.get("/system/metrics").json()["background"]["check_lag_s"]
    assert lag["count"] == 2 and lag["le"]["0.5"] == 1 and lag["le"]["2"] == 1 and lag["le"]["5"] == 2
    assert lag["le"]["+Inf"] == 2 and 1.4 < lag["mean_s"] < 2.5
    text = client.get("/system/metrics", HTTP_ACCEPT="text/plain").content.decode()
    assert 'namaskah_check_lag_seconds_bucket{le="1.0"} 1.0' in text and "namaskah_check_lag_seconds_count 2.0" in text


def test_an_expired_number_is_given_back_upstream_before_the_refund(settings, shop, alice):
    # Nothing can arrive (and be billed to us) after the customer's refund.
    with fake_textverified(settings, sms_delay=None) as server:
        fund(alice, "5.00")
        verification = buy(api_for(alice), service="telegram")
        verification.refresh_from_db()
        with time_machine.travel(verification.expires_at - timedelta(seconds=30)):
            # Ours expires before the upstream's own end: ours decides.
            rewrite(verification, expires_at=timezone.now())
            assert expire_due() == 1
            record = server.fake.records[verification.provider_ref]
            assert simulation.view(record.facts, now=timezone.now()).state == RentalState.CANCELLED
    verification.refresh_from_db()
    assert verification.status == "expired" and balance(alice) == Decimal("5.00")
