"""The mock gateway (PAYMENTS=mock): Stripe Checkout without Stripe, for development and tests.

Its checkout_url is our own test-checkout page (/add-funds/mock-checkout/<session id>, see
payments.views) with the buttons a card payment can end with: pay, decline, pay later (an
asynchronous method: the session completes unpaid and the bank answers later). Each button
changes the session here and sends a Stripe-shaped event, signed exactly as Stripe signs
(`t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>" with STRIPE_WEBHOOK_SECRET>`), into the same
verification and handling as POST /webhooks/stripe: development and tests credit balances through
the real path. The sessions it keeps are what reconcile_payments lists in mock mode.

It takes no refunds and opens no disputes (no button does): refunds_for_charge is always empty.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from payments.gateway import GatewayError, Refund, Session
from payments.models import MockCheckoutSession

Status = MockCheckoutSession.Status


class SessionClosed(Exception):
    """The button does not apply to the session any more (it was paid, declined or expired)."""


class MockGateway:
    name = "mock"

    def create_session(self, *, topup_id: str, amount_cents: int, currency: str, description: str,
                       customer_email: str, success_url: str, cancel_url: str) -> Session:
        row = MockCheckoutSession.objects.create(
            id=f"cs_mock_{secrets.token_hex(12)}", amount_total=amount_cents, currency=currency,
            client_reference_id=topup_id, metadata={"topup_id": topup_id}, customer_email=customer_email,
            success_url=success_url, cancel_url=cancel_url,
        )
        return Session.from_stripe(stripe_json(row))

    def expire_session(self, *, session_id: str) -> Session:
        row = _row(session_id)
        if MockCheckoutSession.objects.filter(pk=row.pk, status=Status.OPEN).update(status=Status.EXPIRED):
            row.refresh_from_db()
            deliver("checkout.session.expired", row)
        elif row.status != Status.EXPIRED:
            raise GatewayError("InvalidRequestError: HTTP 400: Only Checkout Sessions with a status in [open] "
                               "can be expired")
        return Session.from_stripe(stripe_json(row))

    def paid_sessions(self, *, created_since: datetime) -> Iterator[Session]:
        rows = MockCheckoutSession.objects.filter(status=Status.COMPLETE, payment_status="paid",
                                                  created_at__gte=created_since).order_by("created_at", "id")
        for row in rows.iterator():
            yield Session.from_stripe(stripe_json(row))

    def refunds_for_charge(self, *, charge_id: str) -> list[Refund]:
        return []

    def topup_ref_for_payment(self, *, payment_intent: str) -> str:
        row = MockCheckoutSession.objects.filter(payment_intent=payment_intent).first() if payment_intent else None
        return row.metadata.get("topup_id", "") if row is not None else ""


# --- the test-checkout page's buttons ------------------------------------------------------------

def pay(session_id: str) -> str:
    """The card is accepted: completed and paid. Returns where the browser goes next (success_url)."""
    row = _transition(session_id, {"status": Status.COMPLETE, "payment_status": "paid",
                                   "payment_intent": _payment_intent()})
    deliver("checkout.session.completed", row)
    return row.success_url


def decline(session_id: str) -> str:
    """The card is refused and the customer gives up: the session expires, nothing is charged."""
    row = _transition(session_id, {"status": Status.EXPIRED})
    deliver("checkout.session.expired", row)
    return row.cancel_url


def pay_later(session_id: str) -> str:
    """An asynchronous method (a bank debit): completed but unpaid until settle() is pressed."""
    row = _transition(session_id, {"status": Status.COMPLETE, "payment_status": "unpaid",
                                   "awaiting_payment": True, "payment_intent": _payment_intent()})
    deliver("checkout.session.completed", row)
    return row.success_url


def settle(session_id: str, *, succeeded: bool) -> str:
    """The bank answers a pay-later session: async_payment_succeeded (paid) or async_payment_failed
    (the session stays complete and unpaid, as at Stripe)."""
    changes = {"awaiting_payment": False, **({"payment_status": "paid"} if succeeded else {})}
    if not MockCheckoutSession.objects.filter(pk=session_id, awaiting_payment=True).update(**changes):
        raise SessionClosed(f"{session_id} is not waiting for a delayed payment")
    row = MockCheckoutSession.objects.get(pk=session_id)
    deliver("checkout.session.async_payment_succeeded" if succeeded else "checkout.session.async_payment_failed", row)
    return row.success_url


def checkout_session(session_id: str) -> MockCheckoutSession:
    """The session behind the test-checkout page. Raises MockCheckoutSession.DoesNotExist."""
    return MockCheckoutSession.objects.get(pk=session_id)


# --- Stripe's shapes and signature ---------------------------------------------------------------

def stripe_json(row: MockCheckoutSession) -> dict:
    """The session as Stripe's API renders a checkout.session object (the fields we read and a few more)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(row.success_url))
    return {
        "id": row.id, "object": "checkout.session", "mode": "payment", "livemode": False,
        "amount_subtotal": row.amount_total, "amount_total": row.amount_total, "currency": row.currency,
        "client_reference_id": row.client_reference_id or None, "metadata": row.metadata,
        "customer_email": row.customer_email or None, "payment_intent": row.payment_intent or None,
        "payment_status": row.payment_status, "status": row.status,
        "success_url": row.success_url, "cancel_url": row.cancel_url,
        "url": origin + reverse("mock-checkout", args=[row.id]) if row.status == Status.OPEN else None,
        "created": int(row.created_at.timestamp()),
    }


def sign(payload: str, *, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header Stripe would send with this body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(event_type: str, row: MockCheckoutSession) -> None:
    """Send one signed event through the webhook's verification and handling, as Stripe would."""
    from payments import webhooks  # the webhook handling sits above the gateway

    event = {
        "id": f"evt_mock_{secrets.token_hex(12)}", "object": "event", "type": event_type, "livemode": False,
        "created": int(time.time()), "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "data": {"object": stripe_json(row)},
    }
    payload = json.dumps(event)
    webhooks.receive(payload.encode(), sign(payload, secret=settings.STRIPE_WEBHOOK_SECRET, timestamp=int(time.time())))


def _row(session_id: str) -> MockCheckoutSession:
    try:
        return MockCheckoutSession.objects.get(pk=session_id)
    except MockCheckoutSession.DoesNotExist:
        raise GatewayError(f"InvalidRequestError: HTTP 404: No such checkout.session: {session_id}") from None


def _transition(session_id: str, changes: dict) -> MockCheckoutSession:
    # A conditional update: a double click (or two tabs) sends one event, never two outcomes.
    if not MockCheckoutSession.objects.filter(pk=session_id, status=Status.OPEN).update(**changes):
        raise SessionClosed(f"{session_id} is no longer open")
    return MockCheckoutSession.objects.get(pk=session_id)


def _payment_intent() -> str:
    return f"pi_mock_{secrets.token_hex(12)}"
