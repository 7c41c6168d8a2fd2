"""Real threads: redeliveries racing each other, and reconcile racing them, move money once."""
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts.models import LedgerEntry
from accounts.services import ledger_mismatches
from payments.models import PaymentEvent, TopUpReinstatement, TopUpReversal
from payments.tests.support import balance, open_topup, post_event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs row locks and concurrent writers (SQLite's shared in-memory test database "
                              "refuses a second writer at once): run with DATABASE_URL=postgresql://…"),
]


def race(workers):
    """Run every callable in its own thread, all released at once; return what each returned or raised."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def run(i, work):
        try:
            barrier.wait(timeout=10)
            results[i] = work()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def deliver(event):
    return lambda: post_event(Client(), event)


def test_ten_concurrent_redeliveries_credit_once(alice, fake_stripe):
    topup = open_topup(alice, "10.00")
    event = fake_stripe.pay(topup.stripe_session_id)

    responses = race([deliver(event)] * 10)

    assert [r.status_code for r in responses] == [200] * 10, responses
    assert sorted(r.json()["outcome"] for r in responses) == ["already_credited"] * 9 + ["credited"]
    assert LedgerEntry.objects.filter(topup=topup).count() == 1
    assert balance(alice) == Decimal("10.00")
    assert PaymentEvent.objects.filter(outcome="credited").count() == 1
    assert ledger_mismatches() == []


def test_redeliveries_and_two_reconcile_runs_at_once_credit_once(alice, fake_stripe):
    topup = open_topup(alice, "10.00")
    event = fake_stripe.pay(topup.stripe_session_id)

    results = race([deliver(event)] * 4 + [lambda: call_command("reconcile_payments")] * 2)

    assert not any(isinstance(r, Exception) for r in results), results
    assert LedgerEntry.objects.filter(topup=topup, kind="topup").count() == 1
    assert balance(alice) == Decimal("10.00")


def test_concurrent_redeliveries_of_a_refund_and_a_dispute_debit_each_once(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    refund = fake_stripe.refund(topup.stripe_session_id, amount=400)
    dispute = fake_stripe.dispute(topup.stripe_session_id, amount=600)

    responses = race([deliver(refund)] * 5 + [deliver(dispute)] * 5)

    assert [r.status_code for r in responses] == [200] * 10, responses
    assert TopUpReversal.objects.count() == 2
    assert sorted(LedgerEntry.objects.filter(topup=topup).values_list("amount", flat=True)) == [
        Decimal("-6.00"), Decimal("-4.00"), Decimal("10.00")]
    assert balance(alice) == Decimal("0.00")
    assert ledger_mismatches() == []


def test_concurrent_redeliveries_of_a_won_dispute_and_a_failed_refund_give_back_each_once(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    post_event(client, fake_stripe.refund(topup.stripe_session_id, amount=400))
    [refund_id] = fake_stripe.refund_ids(topup.stripe_session_id)
    opened = fake_stripe.dispute(topup.stripe_session_id, amount=600)
    post_event(client, opened)
    assert balance(alice) == Decimal("0.00")
    failed = fake_stripe.update_refund(refund_id, status="failed")
    won = fake_stripe.close_dispute(opened.data["data"]["object"]["id"], status="won")

    responses = race([deliver(failed)] * 5 + [deliver(won)] * 5)

    assert [r.status_code for r in responses] == [200] * 10, responses
    assert sorted(r.json()["outcome"] for r in responses) == ["already_reinstated"] * 8 + ["reinstated"] * 2
    assert TopUpReinstatement.objects.count() == 2
    assert LedgerEntry.objects.filter(topup=topup, kind="reinstated").count() == 2
    assert balance(alice) == Decimal("10.00")
    assert ledger_mismatches() == []


def test_a_refund_failing_while_its_debit_runs_never_leaves_it_taken(alice, client, fake_stripe):
    # The failure and a stale "still pending" update of the same refund race: whichever takes the
    # account lock first, the refund ends up not taken from the customer.
    topup = open_topup(alice, "10.00")
    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    fake_stripe.refund(topup.stripe_session_id)
    [refund_id] = fake_stripe.refund_ids(topup.stripe_session_id)
    pending = fake_stripe.event("charge.refund.updated", {**fake_stripe.refunds[refund_id], "status": "pending"})
    failed = fake_stripe.update_refund(refund_id, status="failed")

    responses = race([deliver(pending)] * 5 + [deliver(failed)] * 5)

    assert [r.status_code for r in responses] == [200] * 10, responses
    assert balance(alice) == Decimal("10.00")
    assert TopUpReinstatement.objects.count() == 1
    assert ledger_mismatches() == []
