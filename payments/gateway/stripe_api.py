"""The real gateway: Stripe's API through the official `stripe` library (StripeClient).

`STRIPE_API_BASE` points the library at another server (our fake in tests); everything else is
the library's public interface. Every call has explicit timeouts; the library retries connection
errors, 409s and 5xx with its own backoff, and sends an Idempotency-Key on each POST, so a retried
create never opens a second session.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import stripe

from payments.gateway import GatewayError, Refund, Session

CONNECT_TIMEOUT = 5  # seconds
READ_TIMEOUT = 30  # seconds: Stripe answers in well under a second; this bounds a hung connection
MAX_NETWORK_RETRIES = 2
PAGE_SIZE = 100  # the most Stripe serves per page


class StripeGateway:
    name = "stripe"

    def __init__(self, *, secret_key: str, api_base: str):
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)),
        )

    def create_session(self, *, topup_id: str, amount_cents: int, currency: str, description: str,
                       customer_email: str, success_url: str, cancel_url: str) -> Session:
        params = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency, "unit_amount": amount_cents, "product_data": {"name": description}}}],
            "client_reference_id": topup_id,
            "metadata": {"topup_id": topup_id},
            "payment_intent_data": {"metadata": {"topup_id": topup_id}},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if customer_email:
            params["customer_email"] = customer_email
        # Our key, not only the library's: the same top-up can never open two sessions.
        options = {"idempotency_key": f"namaskah-topup-{topup_id}"}
        try:
            return Session.from_stripe(self._client.v1.checkout.sessions.create(params, options).to_dict())
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from exc

    def expire_session(self, *, session_id: str) -> Session:
        try:
            return Session.from_stripe(self._client.v1.checkout.sessions.expire(session_id).to_dict())
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from exc

    def paid_sessions(self, *, created_since: datetime) -> Iterator[Session]:
        params = {"status": "complete", "created": {"gte": int(created_since.timestamp())}, "limit": PAGE_SIZE}
        try:
            for session in self._client.v1.checkout.sessions.list(params).auto_paging_iter():
                parsed = Session.from_stripe(session.to_dict())
                if parsed.payment_status == "paid":
                    yield parsed
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from exc

    def refunds_for_charge(self, *, charge_id: str) -> list[Refund]:
        try:
            page = self._client.v1.refunds.list({"charge": charge_id, "limit": PAGE_SIZE})
            return [Refund.from_stripe(refund.to_dict()) for refund in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from exc


    def topup_ref_for_payment(self, *, payment_intent: str) -> str:
        try:
            intent = self._client.v1.payment_intents.retrieve(payment_intent).to_dict()
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return ""  # not a payment of this account: nothing of ours
            raise GatewayError(_describe(exc)) from exc
        except stripe.StripeError as exc:
            raise GatewayError(_describe(exc)) from exc
        metadata = intent.get("metadata") if isinstance(intent.get("metadata"), dict) else {}
        ref = metadata.get("topup_id")
        return ref if isinstance(ref, str) else ""


def _describe(exc: stripe.StripeError) -> str:
    status = f"HTTP {exc.http_status}: " if exc.http_status else ""
    return f"{type(exc).__name__}: {status}{exc.user_message or str(exc) or 'no details'}"[:255]
