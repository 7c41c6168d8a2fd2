"""The events verifications emits, as bodies for each endpoint's format (the contract's §8.3, §8.4).

Called inside the transaction that stores the SMS or writes the refund: the delivery rows commit
with it or not at all (an event is never lost, nor sent for a change that was rolled back), and
the sending starts after the commit. The verification is read only through the object given, so
this app needs nothing from verifications.
"""
from __future__ import annotations

from accounts.money import money_str
from hooks import services
from hooks.bodies import dump, protocol_time, rfc3339

CODE_RECEIVED, COMPLETED, REFUNDED = "verification.code_received", "verification.completed", "verification.refunded"
# The words of verifications' report() in status_reason: a reported number also ends `failed`.
REPORTED_PREFIX = "number reported"


def received(verification, items, *, completed: bool) -> None:
    """Record code_received for each new SMS (and each new call with a code), and completed if this
    is the first code, for the owner's endpoints."""
    calls = verification.capability == "voice"
    shown = [i for i in items if i.code] if calls else list(items)
    if not shown and not completed:
        return
    endpoints = services.endpoints_of(verification.user_id)
    if not endpoints:
        return
    for item in shown:
        text = item.transcription if calls else item.text
        data = {**_about(verification), "kind": "call" if calls else "sms", "code": item.code or None, "text": text,
                "received_at": rfc3339(item.received_at)}
        key = f"{CODE_RECEIVED}:{verification.pk}:{item.received_at.timestamp():.6f}:{services.digest(text)}"
        protocol_body = dump({
            "activationId": verification.activation_id,
            "service": verification.service.protocol_code or verification.service.slug,
            "text": text, "code": item.code or None, "country": verification.country.protocol_id,
            "receivedAt": protocol_time(item.received_at),
        })
        services.record(endpoints, event_type=CODE_RECEIVED, key=key, at=item.received_at, data=data,
                        protocol_body=protocol_body)
    if completed:
        with_code = sorted((i for i in items if i.code), key=lambda i: i.received_at)
        data = {**_about(verification), "status": "completed", "code": with_code[-1].code if with_code else None,
                "completed_at": rfc3339(verification.completed_at)}
        services.record(endpoints, event_type=COMPLETED, key=f"{COMPLETED}:{verification.pk}",
                        at=verification.completed_at, data=data)


def refunded(verification, entry) -> None:
    """Record refunded (with the amount given back) for the owner's endpoints."""
    endpoints = services.endpoints_of(verification.user_id)
    if not endpoints:
        return
    # The caller changed the status with an UPDATE: the object it holds may still say `pending`.
    state = type(verification).objects.filter(pk=verification.pk).values("status", "status_reason").get()
    data = {**_about(verification), "reason": _reason(state["status"], state["status_reason"]),
            "amount": money_str(abs(entry.amount)), "currency": "USD", "refunded_at": rfc3339(entry.created_at)}
    services.record(endpoints, event_type=REFUNDED, key=f"{REFUNDED}:{verification.pk}", at=entry.created_at,
                    data=data)


def _reason(status: str, status_reason: str) -> str:
    if status == "expired":
        return "expired"
    if status == "failed":
        return "reported" if status_reason.startswith(REPORTED_PREFIX) else "purchase_failed"
    # Cancelled by the customer or staff, and a staff refund of a completed one: given back on request.
    return "cancelled"


def _about(verification) -> dict:
    return {
        "verification_id": str(verification.pk), "activation_id": verification.activation_id,
        "service": verification.service.slug, "country": verification.country.code,
        "capability": verification.capability, "phone_number": verification.phone_number,
    }

