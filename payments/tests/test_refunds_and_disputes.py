"""charge.refunded and charge.dispute.created take a top-up back, once per refund or dispute; the
balance may go below zero, and purchases are then refused until a top-up settles it."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import LedgerEntry
from accounts.services import ledger_mismatches
from payments.models import PaymentEvent, TopUpReversal
from payments.tests.support import balance, open_topup, post_event
from verifications.tests.lifecycle import api_for, make_shop


@pytest.fixture
def credited(alice, client, fake_stripe):
    """A $10.00 top-up, paid and credited."""
    topup = open_topup(alice, "10.00")
    assert post_event(client, fake_stripe.pay(topup.stripe_session_id)).json()["outcome"] == "credited"
    return topup


def reversals(topup):
    return list(LedgerEntry.objects.filter(topup=topup).exclude(kind="topup").values_list("kind", "amount"))


def test_it_debits_a_full_refund_once_however_often_it_is_delivered(alice, client, fake_stripe, credited):
    event = fake_stripe.refund(credited.stripe_session_id)

    outcomes = [post_event(client, event).json()["outcome"] for _ in range(3)]

    assert outcomes == ["debited", "already_debited", "already_debited"]
    assert reversals(credited) == [("topup_refund", Decimal("-10.00"))]
    reversal = TopUpReversal.objects.get()
    assert (reversal.kind, reversal.amount, reversal.topup_id) == ("refund", Decimal("10.00"), credited.pk)
    assert reversal.stripe_id.startswith("re_") and reversal.ledger_entry.topup_id == credited.pk
    assert balance(alice) == Decimal("0.00")
    assert ledger_mismatches() == []


def test_it_debits_each_partial_refund_once(alice, client, fake_stripe, credited):
    first = fake_stripe.refund(credited.stripe_session_id, amount=300)
    assert post_event(client, first).json()["outcome"] == "debited"
    second = fake_stripe.refund(credited.stripe_session_id, amount=450)

    # The second event's charge has both refunds: the first is recognised, the second debited.
    assert post_event(client, second).json()["outcome"] == "already_debited,debited"
    assert post_event(client, first).json()["outcome"] == "already_debited,already_debited"

    assert sorted(reversals(credited)) == [("topup_refund", Decimal("-4.50")), ("topup_refund", Decimal("-3.00"))]
    assert balance(alice) == Decimal("2.50")


def test_it_debits_a_dispute_once(alice, client, fake_stripe, credited):
    event = fake_stripe.dispute(credited.stripe_session_id)

    outcomes = [post_event(client, event).json()["outcome"] for _ in range(2)]

    assert outcomes == ["debited", "already_debited"]
    assert reversals(credited) == [("dispute", Decimal("-10.00"))]
    assert TopUpReversal.objects.get().stripe_id == event.data["data"]["object"]["id"]


def test_it_never_takes_back_more_than_the_topup_brought(alice, client, fake_stripe, credited):
    post_event(client, fake_stripe.refund(credited.stripe_session_id))

    # A dispute of a payment already refunded must not charge the customer a second time.
    response = post_event(client, fake_stripe.dispute(credited.stripe_session_id))

    assert (response.status_code, response.json()["outcome"]) == (200, "wrong_state")
    assert balance(alice) == Decimal("0.00")
    assert PaymentEvent.objects.get(outcome="wrong_state").needs_attention


def test_a_dispute_after_spending_takes_the_balance_below_zero_and_purchases_are_refused(alice, client, fake_stripe,
                                                                                          credited, settings):
    settings.MOCK_SMS_DELAY = 0
    make_shop()
    api = api_for(alice)
    bought = api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"}, format="json")
    assert bought.status_code == 201
    assert balance(alice) == Decimal("9.00")

    post_event(client, fake_stripe.dispute(credited.stripe_session_id))
    assert balance(alice) == Decimal("-1.00")
    assert LedgerEntry.objects.filter(account=alice.account).order_by("-id").first().balance_after == Decimal("-1.00")

    refused = api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"}, format="json")
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert (error["code"], error["balance"], error["missing"]) == ("insufficient_balance", "-1.00", "2.00")
    assert error["message"] == ("Your balance is $-1.00 because a card top-up was refunded or disputed: "
                                "add funds to settle it ($1.00 needed, $2.00 missing).")
    assert error["topup_url"] == "http://testserver/add-funds"
    assert balance(alice) == Decimal("-1.00")

    # A top-up smaller than what is missing still lands; one that covers it lets purchases through.
    for amount in ("5.00", "5.00"):
        settle = open_topup(alice, amount)
        assert post_event(client, fake_stripe.pay(settle.stripe_session_id)).json()["outcome"] == "credited"
    assert balance(alice) == Decimal("9.00")
    assert api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                    format="json").status_code == 201
    assert ledger_mismatches() == []


def test_it_acknowledges_a_refund_of_a_payment_that_is_not_ours(client, db, fake_stripe):
    session_id = fake_stripe.add_session(amount_total=2000)
    fake_stripe.pay(session_id)

    response = post_event(client, fake_stripe.refund(session_id))

    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_payment")
    assert not LedgerEntry.objects.exists()
    assert PaymentEvent.objects.get().needs_attention


def test_it_answers_503_when_stripe_cannot_list_the_refunds_and_debits_on_redelivery(alice, client, fake_stripe,
                                                                                   credited):
    event = fake_stripe.refund(credited.stripe_session_id)
    fake_stripe.down = True

    response = post_event(client, event)

    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert reversals(credited) == [] and balance(alice) == Decimal("10.00")
    fake_stripe.down = False
    assert post_event(client, event).json()["outcome"] == "debited"
    assert balance(alice) == Decimal("0.00")


def test_a_refund_of_a_delayed_payment_not_yet_credited_is_debited_and_flagged(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    post_event(client, fake_stripe.pay(topup.stripe_session_id, delayed=True))

    assert post_event(client, fake_stripe.refund(topup.stripe_session_id)).json()["outcome"] == "debited"
    assert balance(alice) == Decimal("-10.00")
    flagged = PaymentEvent.objects.get(outcome="debited")
    assert flagged.needs_attention and "before the top-up was credited" in flagged.detail

    # Once the payment settles, the credit makes the books whole again.
    post_event(client, fake_stripe.settle(topup.stripe_session_id))
    assert balance(alice) == Decimal("0.00")
    assert ledger_mismatches() == []


def test_a_refund_that_arrives_before_its_payment_is_placed_by_the_payment_intent(alice, client, fake_stripe):
    # checkout.session.completed is lost; the merchant refunds before reconcile_payments runs. The
    # refund must still be taken back, or the later credit would keep money Stripe returned.
    topup = open_topup(alice, "10.00")
    fake_stripe.pay(topup.stripe_session_id)

    assert post_event(client, fake_stripe.refund(topup.stripe_session_id)).json()["outcome"] == "debited"
    topup.refresh_from_db()
    assert topup.stripe_payment_intent == fake_stripe.session(topup.stripe_session_id)["payment_intent"]
    assert balance(alice) == Decimal("-10.00")
    assert PaymentEvent.objects.get(outcome="debited").needs_attention  # taken back before it was credited

    out = StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "1 credited now" in out.getvalue()
    assert balance(alice) == Decimal("0.00")
    assert ledger_mismatches() == []


def test_a_dispute_of_a_payment_not_placed_yet_is_placed_by_the_payment_intent(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    fake_stripe.pay(topup.stripe_session_id)

    assert post_event(client, fake_stripe.dispute(topup.stripe_session_id)).json()["outcome"] == "debited"
    assert reversals(topup) == [("dispute", Decimal("-10.00"))]


def test_it_answers_503_when_stripe_cannot_place_a_dispute_and_debits_on_redelivery(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    fake_stripe.pay(topup.stripe_session_id)
    event = fake_stripe.dispute(topup.stripe_session_id)
    fake_stripe.down = True

    response = post_event(client, event)

    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert not LedgerEntry.objects.exists() and not PaymentEvent.objects.exists()
    fake_stripe.down = False
    assert post_event(client, event).json()["outcome"] == "debited"
