"""POST /webhooks/textverified: SMS pushed by TextVerified (`v2.sms.received`), so a code shows up
the moment it arrives instead of at the next poll.

Answers fast and always 2xx for a genuine event, even one we cannot use (an unknown reservation, an
event we do not subscribe to): TextVerified retries failures and may disable the webhook after
repeated ones. 401 for a bad signature, 400 for a body that is not an event, 404 when no secret is
configured. Storing is idempotent, so redeliveries and replays change nothing.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.textverified import webhooks as tv
from verifications import checks, services
from verifications.models import Capability, Verification

log = logging.getLogger(__name__)
Status = Verification.Status


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt  # no cookies involved: the HMAC signature is the authentication
@require_POST
def textverified(request):
    secret = settings.TEXTVERIFIED_WEBHOOK_SECRET
    if not secret:
        return _error(404, "not_found", "Webhooks are not configured (TEXTVERIFIED_WEBHOOK_SECRET).")
    body = request.body
    if not tv.signature_ok(body, request.headers.get(tv.SIGNATURE_HEADER), secret):
        log.warning("webhook refused: bad or missing signature")
        return _error(401, "bad_signature", "Missing or invalid X-Webhook-Signature.")
    try:
        event = tv.parse(body)
    except tv.BadPayload as exc:
        return _error(400, "bad_payload", str(exc))
    checks.note_webhook()
    if event.name != tv.SMS_RECEIVED:
        return JsonResponse({"received": True, "handled": False, "event": event.name})
    return JsonResponse({"received": True, "handled": True, "stored": _store(event)})


def _store(event: tv.Event) -> int:
    verification = Verification.objects.filter(provider="textverified", provider_ref=event.reservation_id).first()
    if verification is None:
        # A rental, another system on the same account, or a purchase still being stored: the
        # poller picks the SMS up once the verification exists.
        log.info("webhook SMS for unknown reservation %s (event %s)", event.reservation_id, event.key)
        return 0
    if verification.capability != Capability.SMS or event.sms is None:
        return 0  # an SMS to a voice number is not what the customer waits for (and is not shown)
    if verification.status not in (Status.PENDING, Status.COMPLETED):
        return 0  # settled: the number was given back, nothing may be charged or shown now
    return services.record_received(verification, [event.sms])
