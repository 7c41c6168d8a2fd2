"""PAYMENTS=mock: the local test-checkout page sends Stripe-shaped, signed events through the same
webhook verification and crediting as Stripe's."""
import json
import time
from decimal import Decimal

import pytest
import stripe

from accounts.models import LedgerEntry
from payments.gateway import mock
from payments.models import MockCheckoutSession, PaymentEvent, TopUp
from payments.tests.support import balance


@pytest.fixture
def checkout(alice, alice_client):
    """Add funds ($10) in mock mode (the default); returns the mock checkout page's path."""
    response = alice_client.post("/add-funds", {"preset": "10.00"})
    assert response.status_code == 302
    return response["Location"].removeprefix("http://testserver")


def press(client, checkout_path: str, button: str):
    return client.post(f"{checkout_path}/{button}")


def test_it_redirects_to_the_local_mock_checkout(alice, alice_client, checkout):
    topup = TopUp.objects.get()
    assert checkout == f"/add-funds/mock-checkout/{topup.stripe_session_id}"
    assert topup.checkout_url == f"http://testserver{checkout}" and topup.stripe_session_id.startswith("cs_mock_")
    page = alice_client.get(checkout).content.decode()
    assert "Pay $10.00" in page and "Decline the card" in page and "Pay later (bank debit)" in page


def test_pay_credits_through_the_signed_webhook_path(alice, alice_client, checkout):
    response = press(alice_client, checkout, "pay")

    topup = TopUp.objects.get()
    assert response.status_code == 302 and response["Location"] == f"http://testserver/add-funds/{topup.pk}/paid"
    assert (topup.status, balance(alice)) == ("paid", Decimal("10.00"))
    recorded = PaymentEvent.objects.get()
    assert (recorded.source, recorded.event_type, recorded.outcome) == ("webhook", "checkout.session.completed",
                                                                        "credited")
    assert recorded.stripe_event_id.startswith("evt_mock_")
    assert topup.stripe_payment_intent.startswith("pi_mock_")


def test_a_second_press_sends_nothing_more(alice, alice_client, checkout):
    press(alice_client, checkout, "pay")
    again = press(alice_client, checkout, "pay")
    assert again.status_code == 409 and "already been answered" in again.content.decode()
    assert LedgerEntry.objects.filter(kind="topup").count() == 1 and PaymentEvent.objects.count() == 1


def test_decline_expires_the_session_and_returns_with_nothing_charged(alice, alice_client, checkout):
    response = press(alice_client, checkout, "decline")

    assert response.status_code == 302
    followed = alice_client.get(response["Location"].removeprefix("http://testserver"), follow=True)
    assert "Payment cancelled: nothing was charged." in followed.content.decode()
    assert (TopUp.objects.get().status, balance(alice)) == ("expired", Decimal("0.00"))
    assert PaymentEvent.objects.get().event_type == "checkout.session.expired"


def test_cancel_on_the_mock_page_expires_the_session_through_its_event(alice, alice_client, checkout):
    cancel_url = MockCheckoutSession.objects.get().cancel_url.removeprefix("http://testserver")

    followed = alice_client.get(cancel_url, follow=True)

    assert "Payment cancelled: nothing was charged." in followed.content.decode()
    assert (TopUp.objects.get().status, MockCheckoutSession.objects.get().status) == ("expired", "expired")
    assert PaymentEvent.objects.get().event_type == "checkout.session.expired"
    assert press(alice_client, checkout, "pay").status_code == 409 and balance(alice) == Decimal("0.00")


def test_pay_later_credits_when_the_bank_confirms(alice, alice_client, checkout):
    press(alice_client, checkout, "later")
    topup = TopUp.objects.get()
    assert (topup.status, balance(alice)) == ("pending", Decimal("0.00"))
    success = alice_client.get(f"/add-funds/{topup.pk}/paid").content.decode()
    assert "Payment received, crediting…" in success and checkout in success  # the mock's link, for developers
    assert "The bank confirms the payment" in alice_client.get(checkout).content.decode()

    press(alice_client, checkout, "succeed")

    topup.refresh_from_db()
    assert (topup.status, balance(alice)) == ("paid", Decimal("10.00"))
    assert list(PaymentEvent.objects.order_by("id").values_list("event_type", "outcome")) == [
        ("checkout.session.completed", "awaiting_payment"), ("checkout.session.async_payment_succeeded", "credited")]


def test_pay_later_fails_when_the_bank_refuses(alice, alice_client, checkout):
    press(alice_client, checkout, "later")
    press(alice_client, checkout, "fail")
    assert (TopUp.objects.get().status, balance(alice)) == ("failed", Decimal("0.00"))
    assert press(alice_client, checkout, "succeed").status_code == 409


def test_an_unknown_button_or_session_is_a_404(alice_client, checkout):
    assert press(alice_client, checkout, "steal").status_code == 404
    assert alice_client.get("/add-funds/mock-checkout/cs_mock_nope").status_code == 404
    assert alice_client.post("/add-funds/mock-checkout/cs_mock_nope/pay").status_code == 404


def test_the_mock_does_not_exist_with_real_payments(alice_client, checkout, settings):
    settings.PAYMENTS = "stripe"
    assert alice_client.get(checkout).status_code == 404
    assert press(alice_client, checkout, "pay").status_code == 404
    assert TopUp.objects.get().status == "pending" and not LedgerEntry.objects.exists()


def test_its_signature_is_stripes_own_scheme():
    payload = json.dumps({"id": "evt_1", "object": "event"})
    now = int(time.time())
    header = mock.sign(payload, secret="whsec_abc", timestamp=now)
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_abc", tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, header, "whsec_other", tolerance=300)


def test_a_mock_shaped_event_signed_with_another_secret_is_refused(alice, alice_client, checkout):
    session = MockCheckoutSession.objects.get()
    payload = json.dumps({"id": "evt_x", "object": "event", "type": "checkout.session.completed",
                          "data": {"object": {**mock.stripe_json(session), "status": "complete",
                                              "payment_status": "paid"}}})
    header = mock.sign(payload, secret="whsec_not_ours", timestamp=int(time.time()))
    response = alice_client.post("/webhooks/stripe", data=payload, content_type="application/json",
                                 HTTP_STRIPE_SIGNATURE=header)
    assert response.status_code == 400 and not LedgerEntry.objects.exists()


def test_a_dispute_of_a_mock_payment_not_placed_yet_is_placed_by_its_session(alice, client, checkout, settings):
    # The mock's sessions stand in for Stripe's payment intents: a dispute signed like Stripe's for
    # a payment whose completion never arrived still finds its top-up.
    MockCheckoutSession.objects.update(status="complete", payment_status="paid", payment_intent="pi_mock_lost")
    payload = json.dumps({"id": "evt_d", "object": "event", "type": "charge.dispute.created", "data": {"object": {
        "id": "du_mock_1", "object": "dispute", "amount": 1000, "currency": "usd", "charge": "ch_mock_1",
        "payment_intent": "pi_mock_lost", "status": "needs_response"}}})
    header = mock.sign(payload, secret=settings.STRIPE_WEBHOOK_SECRET, timestamp=int(time.time()))

    response = client.post("/webhooks/stripe", data=payload, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=header)

    assert (response.status_code, response.json()["outcome"]) == (200, "debited")
    assert TopUp.objects.get().stripe_payment_intent == "pi_mock_lost"
    assert balance(alice) == Decimal("-10.00")
