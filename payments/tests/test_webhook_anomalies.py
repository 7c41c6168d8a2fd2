"""Genuine events that must credit nobody: acknowledged (2xx, so Stripe stops retrying), credited
to nobody, and recorded for staff."""
from decimal import Decimal

from accounts.models import LedgerEntry
from payments.models import PaymentEvent, TopUp
from payments.tests.support import balance, open_topup, post_event


def test_it_acknowledges_a_paid_session_that_is_not_ours_and_flags_it(client, db, fake_stripe):
    session_id = fake_stripe.add_session(amount_total=1000, client_reference_id="order-77")

    response = post_event(client, fake_stripe.pay(session_id))

    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_session")
    assert not LedgerEntry.objects.exists()
    recorded = PaymentEvent.objects.get()
    assert (recorded.object_id, recorded.needs_attention, recorded.topup) == (session_id, True, None)
    assert "order-77" in recorded.detail


def test_it_credits_nothing_for_another_currency(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    fake_stripe.pay(topup.stripe_session_id)
    session = {**fake_stripe.session(topup.stripe_session_id), "currency": "eur"}

    response = post_event(client, fake_stripe.event("checkout.session.completed", session))

    topup.refresh_from_db()
    assert (response.status_code, response.json()["outcome"], topup.status) == (200, "currency_mismatch", "pending")
    assert balance(alice) == Decimal("0.00")
    assert PaymentEvent.objects.get(outcome="currency_mismatch").needs_attention


def test_it_credits_nothing_for_a_mismatching_amount(alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    fake_stripe.pay(topup.stripe_session_id)
    session = {**fake_stripe.session(topup.stripe_session_id), "amount_total": 100}

    response = post_event(client, fake_stripe.event("checkout.session.completed", session))

    topup.refresh_from_db()
    assert (response.status_code, response.json()["outcome"], topup.status) == (200, "amount_mismatch", "pending")
    assert not LedgerEntry.objects.exists()
    recorded = PaymentEvent.objects.get()
    assert (recorded.topup_id, recorded.needs_attention) == (topup.pk, True)
    assert "100 cents" in recorded.detail and "1000 cents" in recorded.detail


def test_it_takes_the_amount_from_the_session_never_from_the_page_it_returns_to(alice, alice_client, fake_stripe):
    topup = open_topup(alice, "10.00")

    # Coming back to the success page (or forging a query string) credits nothing: only Stripe's event does.
    page = alice_client.get(f"/add-funds/{topup.pk}/paid?amount=500&status=paid")

    assert page.status_code == 200
    assert balance(alice) == Decimal("0.00")
    assert TopUp.objects.get().status == "pending"


def test_it_adopts_a_session_whose_id_was_never_stored(alice, client, fake_stripe):
    # The process stopped between Stripe's answer and storing the session id: the session still
    # carries our top-up id (client_reference_id), and paying it credits that top-up once.
    topup = open_topup(alice, "10.00")
    session_id = topup.stripe_session_id
    TopUp.objects.filter(pk=topup.pk).update(stripe_session_id=None)

    event = fake_stripe.pay(session_id)
    outcomes = [post_event(client, event).json()["outcome"] for _ in range(2)]

    topup.refresh_from_db()
    assert outcomes == ["credited", "already_credited"]
    assert (topup.stripe_session_id, topup.status, balance(alice)) == (session_id, "paid", Decimal("10.00"))


def test_it_credits_a_topup_marked_failed_when_stripe_says_it_was_paid(alice, client, fake_stripe):
    # Money arrived: whatever we had concluded (a creation that timed out), it is credited, once.
    topup = open_topup(alice, "10.00")
    TopUp.objects.filter(pk=topup.pk).update(status=TopUp.Status.FAILED)

    response = post_event(client, fake_stripe.pay(topup.stripe_session_id))

    topup.refresh_from_db()
    assert (response.json()["outcome"], topup.status, balance(alice)) == ("credited", "paid", Decimal("10.00"))
