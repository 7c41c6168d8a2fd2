"""POST /webhooks/stripe answers 400 to anything Stripe did not sign just now, and credits nothing."""
import time
from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from payments.models import PaymentEvent, TopUp
from payments.tests.support import balance, open_topup, post_event


@pytest.fixture
def paid(alice, fake_stripe):
    """A top-up Stripe has been paid for, and the genuine event about it (not delivered yet)."""
    topup = open_topup(alice, "10.00")
    return topup, fake_stripe.pay(topup.stripe_session_id)


def assert_nothing_credited(alice, topup):
    topup.refresh_from_db()
    assert topup.status == TopUp.Status.PENDING
    assert balance(alice) == Decimal("0.00")
    assert not LedgerEntry.objects.exists()
    assert not PaymentEvent.objects.exists()


def test_it_refuses_an_unsigned_event(alice, client, paid):
    topup, event = paid
    response = post_event(client, event, signature="")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert_nothing_credited(alice, topup)


def test_it_refuses_an_event_signed_with_another_secret(alice, client, fake_stripe, paid):
    topup, event = paid
    forged = fake_stripe.sign(event.payload, secret="whsec_somebody_else")
    response = post_event(client, event, signature=forged)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_signature")
    assert_nothing_credited(alice, topup)


def test_it_refuses_a_body_changed_after_signing(alice, client, paid):
    topup, event = paid
    tampered = event.payload.replace(b'"amount_total": 1000', b'"amount_total": 100000')
    assert tampered != event.payload
    response = post_event(client, event, payload=tampered)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_signature")
    assert_nothing_credited(alice, topup)


def test_it_refuses_a_stale_event_beyond_the_libraries_tolerance(alice, client, fake_stripe, paid):
    topup, event = paid
    # Stripe's library accepts five minutes of clock difference (a replay window); ten is refused.
    stale = fake_stripe.sign(event.payload, timestamp=int(time.time()) - 600)
    response = post_event(client, event, signature=stale)
    assert response.status_code == 400
    assert "tolerance" in response.json()["error"]["message"]
    assert_nothing_credited(alice, topup)


@pytest.mark.parametrize("signature", ["garbage", "t=notanumber,v1=abc", "t=1700000000", "v1=abc"])
def test_it_refuses_a_malformed_signature_header(alice, client, paid, signature):
    topup, event = paid
    assert post_event(client, event, signature=signature).status_code == 400
    assert_nothing_credited(alice, topup)


@pytest.mark.parametrize("body", [b"not json at all", b"[]", b'"a string"', b"\xff\xfe"])
def test_it_refuses_a_correctly_signed_body_that_is_not_an_event(alice, client, fake_stripe, paid, body):
    topup, event = paid
    response = post_event(client, event, payload=body, signature=fake_stripe.sign(body))
    assert response.status_code == 400
    assert_nothing_credited(alice, topup)


def test_it_answers_only_post(client, db):
    assert client.get("/webhooks/stripe").status_code == 405
