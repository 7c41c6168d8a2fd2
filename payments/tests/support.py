"""Helpers of the payments tests: post an event like Stripe, open a top-up, read a balance."""
from __future__ import annotations

from decimal import Decimal

from fakes.stripe import SignedEvent

SECRET_KEY = "sk_test_namaskah_fake_stripe"
WEBHOOK_SECRET = "whsec_test_namaskah_fake_stripe"
SITE = "http://testserver"


def post_event(client, event: SignedEvent, *, signature: str | None = None, payload: bytes | None = None):
    """POST an event to our webhook the way Stripe does (raw JSON body, Stripe-Signature header)."""
    headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": event.signature if signature is None else signature}
    return client.post("/webhooks/stripe", data=event.payload if payload is None else payload,
                       content_type="application/json", **headers)


def open_topup(user, amount: str = "10.00"):
    from payments import services

    return services.create_topup(user=user, amount=amount, site_url=SITE)


def balance(user) -> Decimal:
    user.account.refresh_from_db()
    return user.account.balance
