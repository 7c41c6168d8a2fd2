"""The fake's side of TextVerified's wire format, written from the published contract and not taken
from providers.textverified: the client is tested against something it did not write.

JSON with exact decimal numbers (prices are money), and the webhook signature
`X-Webhook-Signature: HMAC-SHA512=<base64 of HMAC-SHA512(secret, raw body)>`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

SIGNATURE_HEADER = "X-Webhook-Signature"
SMS_RECEIVED = "v2.sms.received"


def dumps(payload) -> str:
    """JSON text, Decimal values written as exact JSON numbers (json itself cannot write a Decimal)."""
    numbers: list[str] = []

    def default(value):
        if isinstance(value, Decimal):
            numbers.append(format(value, "f"))
            return f"\x00decimal{len(numbers) - 1}\x00"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(payload, default=default)
    for index, number in enumerate(numbers):
        text = text.replace(f'"\\u0000decimal{index}\\u0000"', number)
    return text


def loads(content: bytes):
    """JSON with numbers as Decimal."""
    return json.loads(content, parse_float=Decimal)


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha512).digest()
    return "HMAC-SHA512=" + base64.b64encode(digest).decode()
