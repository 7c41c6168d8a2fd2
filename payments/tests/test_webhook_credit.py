"""checkout.session.* events credit a top-up once, through the real stripe library's verification."""
from decimal import Decimal

from accounts.models import LedgerEntry
from payments.models import PaymentEvent, TopUp
from payments.tests.support import balance, open_topup, post_event


def test_it_credits_a_paid_session_once_and_points_the_ledger_at_the_topup(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    event = fake_stripe.pay(topup.stripe_session_id)

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "credited"}
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.PAID and topup.paid_at is not None
    assert topup.stripe_payment_intent == fake_stripe.session(topup.stripe_session_id)["payment_intent"]
    entry = LedgerEntry.objects.get(account=alice.account)
    assert (entry.kind, entry.amount, entry.balance_after, entry.topup_id) == ("topup", Decimal("10.00"),
                                                                              Decimal("10.00"), topup.pk)
    assert balance(alice) == Decimal("10.00")
    recorded = PaymentEvent.objects.get()
    assert (recorded.event_type, recorded.outcome, recorded.topup_id, recorded.needs_attention) == (
        "checkout.session.completed", "credited", topup.pk, False)
    assert recorded.stripe_event_id == event.data["id"]


def test_it_credits_nothing_more_when_stripe_redelivers(alice, client, fake_stripe):
    topup = open_topup(alice, "25.00")
    event = fake_stripe.pay(topup.stripe_session_id)

    outcomes = [post_event(client, event).json()["outcome"] for _ in range(3)]

    assert outcomes == ["credited", "already_credited", "already_credited"]
    assert LedgerEntry.objects.filter(topup=topup).count() == 1
    assert balance(alice) == Decimal("25.00")


def test_it_waits_for_a_delayed_payment_then_credits_it(alice, client, fake_stripe):
    topup = open_topup(alice, "50.00")

    completed = post_event(client, fake_stripe.pay(topup.stripe_session_id, delayed=True))
    topup.refresh_from_db()
    assert (completed.json()["outcome"], topup.status) == ("awaiting_payment", "pending")
    assert balance(alice) == Decimal("0.00")
    assert topup.stripe_payment_intent  # kept, so a refund of it can be found

    succeeded = post_event(client, fake_stripe.settle(topup.stripe_session_id, succeeded=True))

    topup.refresh_from_db()
    assert (succeeded.json()["outcome"], topup.status, balance(alice)) == ("credited", "paid", Decimal("50.00"))


def test_it_marks_a_failed_delayed_payment_failed_and_credits_nothing(alice, client, fake_stripe):
    topup = open_topup(alice)
    post_event(client, fake_stripe.pay(topup.stripe_session_id, delayed=True))

    response = post_event(client, fake_stripe.settle(topup.stripe_session_id, succeeded=False))

    topup.refresh_from_db()
    assert (response.status_code, response.json()["outcome"], topup.status) == (200, "failed", "failed")
    assert not LedgerEntry.objects.exists()


def test_it_marks_an_expired_session_expired(alice, client, fake_stripe):
    topup = open_topup(alice)
    session = fake_stripe.session(topup.stripe_session_id)
    session.update(status="expired", url=None)

    response = post_event(client, fake_stripe.event("checkout.session.expired", session))

    topup.refresh_from_db()
    assert (response.status_code, response.json()["outcome"], topup.status) == (200, "expired", "expired")
    assert not LedgerEntry.objects.exists()


def test_it_never_reopens_a_paid_topup(alice, client, fake_stripe):
    topup = open_topup(alice)
    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    session = fake_stripe.session(topup.stripe_session_id)

    response = post_event(client, fake_stripe.event("checkout.session.expired", {**session, "status": "expired"}))

    topup.refresh_from_db()
    assert (response.status_code, response.json()["outcome"], topup.status) == (200, "wrong_state", "paid")
    assert balance(alice) == Decimal("10.00")


def test_it_acknowledges_an_event_it_does_not_use(client, db, fake_stripe):
    response = post_event(client, fake_stripe.event("customer.created", {"id": "cus_1", "object": "customer"}))

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert PaymentEvent.objects.get().outcome == "ignored"
