"""TextVerified's webhooks (textverified-api.md §8): signature and envelope, read tolerantly.

`X-Webhook-Signature: HMAC-SHA512=<base64 of HMAC-SHA512(secret, raw body)>`. Whether the `whsec_`
prefix is part of the key is undocumented, so both forms are accepted. There is no timestamp to
limit replays; replays are harmless here because storing an SMS is idempotent.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from providers.base import Sms
from providers.textverified import parsing

SIGNATURE_HEADER = "X-Webhook-Signature"
SMS_RECEIVED = "v2.sms.received"
_SCHEME = "hmac-sha512="


class BadPayload(ValueError):
    pass


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha512).digest()
    return "HMAC-SHA512=" + base64.b64encode(digest).decode()


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    header = header.strip()
    if header.lower().startswith(_SCHEME):
        header = header[len(_SCHEME):]
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        return False
    keys = {secret, secret.removeprefix("whsec_")}
    # Every candidate is compared (no early exit), each in constant time.
    results = [hmac.compare_digest(hmac.new(key.encode(), body, hashlib.sha512).digest(), given) for key in keys]
    return any(results)


@dataclass(frozen=True)
class Event:
    name: str
    key: str  # idempotencyKey, else the event id: for logs
    reservation_id: str | None = None
    sms: Sms | None = None


def parse(body: bytes) -> Event:
    """The envelope; for v2.sms.received, the SMS. Raises BadPayload for what is not a JSON event."""
    try:
        envelope = parsing.loads(body)
    except ValueError as exc:
        raise BadPayload("the body is not JSON") from exc
    if not isinstance(envelope, dict):
        raise BadPayload("the body is not a JSON object")
    name = str(parsing.ci(envelope, "event") or "")
    if not name:
        raise BadPayload("no event name")
    key = str(parsing.ci(envelope, "idempotencyKey") or parsing.ci(envelope, "id") or "")
    if name.lower() != SMS_RECEIVED:
        return Event(name=name, key=key)
    data = parsing.ci(envelope, "data")
    reservation = parsing.ci(data, "reservationId")
    if not isinstance(data, dict) or not reservation:
        raise BadPayload("an SMS event without data.reservationId")
    # The payload names no SMS id: derive a stable one, so a redelivery is recognised.
    created, content = str(parsing.ci(data, "createdAt") or ""), str(parsing.ci(data, "smsContent") or "")
    derived = "wh-" + hashlib.sha256(f"{reservation}|{created}|{content}".encode()).hexdigest()[:40]
    sms = parsing.sms({**data, "id": derived})
    return Event(name=SMS_RECEIVED, key=key, reservation_id=str(reservation), sms=sms)
