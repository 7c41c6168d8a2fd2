"""POST /webhooks/stripe: the events Stripe sends about our Checkout Sessions and their payments.

The signature (`Stripe-Signature`) is checked by the stripe library itself
(stripe.Webhook.construct_event, with its default five-minute timestamp tolerance) against
STRIPE_WEBHOOK_SECRET. Answers: 400 for anything unsigned, badly signed, stale or not an event;
2xx for every genuine event, also one we ignore or one about a session that is not ours (Stripe
would otherwise retry it for days); 503 only when handling needed Stripe and Stripe could not be
asked (a refund list, or the payment intent of a refund or dispute we cannot place yet), so Stripe
redelivers later. Redeliveries change nothing: see services.

Stripe events to enable on the endpoint: checkout.session.completed,
checkout.session.async_payment_succeeded, checkout.session.async_payment_failed,
checkout.session.expired, charge.refunded, charge.refund.updated, charge.dispute.created,
charge.dispute.closed.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import stripe
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import services
from payments.gateway import Charge, Dispute, GatewayError, Refund, Session
from payments.models import PaymentEvent, TopUp

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Stripe-Signature"
RETRY_AFTER = 60
CREDIT_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
EVENTS = CREDIT_EVENTS | {"checkout.session.async_payment_failed", "checkout.session.expired", "charge.refunded",
                          "charge.refund.updated", "charge.dispute.created", "charge.dispute.closed"}


class BadEvent(Exception):
    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


def receive(payload: bytes, signature: str | None) -> str:
    """Verify one Stripe event and handle it; returns what it did (PaymentEvent outcomes).

    The webhook view and the mock checkout both come here. Raises BadEvent (unsigned, badly
    signed, stale, not an event) and GatewayError (Stripe could not be asked while handling it).
    """
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError as exc:
        raise BadEvent("bad_signature", f"Stripe-Signature refused: {exc.user_message or exc}") from None
    except (ValueError, TypeError, AttributeError, KeyError):
        # Signed, but not a JSON event object (only someone holding the secret can get here).
        raise BadEvent("bad_payload", "The body is not a Stripe event.") from None
    data = event.to_dict()
    event_type = data.get("type")
    obj = (data.get("data") or {}).get("object") if isinstance(data.get("data"), Mapping) else None
    if not isinstance(event_type, str) or not isinstance(obj, Mapping):
        raise BadEvent("bad_payload", "The event has no type or no data.object.")
    via = services.Via(source=PaymentEvent.Source.WEBHOOK, event_id=str(data.get("id") or ""), event_type=event_type)
    return handle(event_type, obj, via)


def handle(event_type: str, obj: Mapping, via: services.Via) -> str:
    if event_type in CREDIT_EVENTS:
        return services.credit_paid_session(session=Session.from_stripe(obj), via=via)
    if event_type == "checkout.session.async_payment_failed":
        return services.close_session(session=Session.from_stripe(obj), status=TopUp.Status.FAILED, via=via)
    if event_type == "checkout.session.expired":
        return services.close_session(session=Session.from_stripe(obj), status=TopUp.Status.EXPIRED, via=via)
    if event_type == "charge.refunded":
        return ",".join(services.record_refunds(charge=Charge.from_stripe(obj), via=via))
    if event_type == "charge.refund.updated":
        return services.record_refund_update(refund=Refund.from_stripe(obj), via=via)
    if event_type == "charge.dispute.created":
        return services.record_dispute(dispute=Dispute.from_stripe(obj), via=via)
    if event_type == "charge.dispute.closed":
        return services.record_dispute_closed(dispute=Dispute.from_stripe(obj), via=via)
    obj_id = obj.get("id")
    return services.note_ignored(via=via, object_id=obj_id if isinstance(obj_id, str) else "")


def _error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@csrf_exempt  # no cookies involved: Stripe's signature is the authentication
@require_POST
def stripe_webhook(request):
    try:
        outcome = receive(request.body, request.headers.get(SIGNATURE_HEADER))
    except BadEvent as exc:
        log.warning("stripe webhook refused: %s", exc.message)
        return _error(400, exc.code, exc.message)
    except GatewayError as exc:
        log.warning("stripe webhook not handled, Stripe will redeliver: %s", exc)
        return _error(503, "payments_unavailable", "Stripe could not be asked; deliver the event again later.",
                      Retry_After=str(RETRY_AFTER))
    return JsonResponse({"received": True, "outcome": outcome})
