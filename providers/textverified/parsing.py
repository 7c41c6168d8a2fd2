"""Tolerant readers for TextVerified's JSON: unknown states, enum casing, .NET 7-digit fractions,
missing fields and national phone numbers must never crash a poll."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from providers.base import Call, RentalState, RentalStatus, Sms, extract_code

logger = logging.getLogger(__name__)

_STATES = {
    "verificationpending": RentalState.PENDING,
    # Undocumented successors of a reuse/reactivation: still waiting for a code, defensively.
    "verificationreused": RentalState.PENDING,
    "verificationreactivated": RentalState.PENDING,
    "verificationcompleted": RentalState.COMPLETED,
    "verificationcanceled": RentalState.CANCELLED,
    "verificationcancelled": RentalState.CANCELLED,
    "verificationtimedout": RentalState.EXPIRED,
    "verificationreported": RentalState.REPORTED,
    "verificationrefunded": RentalState.REFUNDED,
}
_CAPABILITIES = {"sms": "sms", "voice": "voice", "smsandvoicecombo": "smsAndVoiceCombo"}
_FRACTION = re.compile(r"(\.\d{6})\d+")
_NON_DIGITS = re.compile(r"\D")


def loads(content: bytes) -> object:
    """JSON with numbers as Decimal (money never passes through float)."""
    return json.loads(content, parse_float=Decimal)


def dumps(payload: dict) -> str:
    """JSON with Decimal values written as exact JSON numbers (json cannot write Decimal itself)."""
    exact: dict[str, str] = {}

    def default(value):
        if isinstance(value, Decimal):
            token = f"__decimal_{len(exact)}__"
            exact[token] = format(value, "f")
            return token
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(payload, default=default)
    for token, number in exact.items():
        text = text.replace(f'"{token}"', number)
    return text


def decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def timestamp(value: object) -> datetime | None:
    """ISO-8601 with or without offset, 'Z', and .NET's 7 fractional digits; None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("unreadable timestamp from TextVerified: %r", value[:64])
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def phone(value: object) -> str:
    """E.164 for a US number: '6184195979', '16184195979', '+1 (618) 419-5979' -> '+16184195979'."""
    if value is None:
        return ""
    raw = str(value).strip()
    digits = _NON_DIGITS.sub("", raw)
    if not digits:
        return ""
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return "+" + digits


def state(value: object) -> str:
    return _STATES.get(str(value or "").strip().lower(), RentalState.UNKNOWN)


def capability(value: object) -> str | None:
    return _CAPABILITIES.get(str(value or "").strip().lower())


def ci(data: object, key: str, default=None):
    """A key read case-insensitively (the upstream's casing is not guaranteed)."""
    if not isinstance(data, dict):
        return default
    if key in data:
        return data[key]
    lowered = key.lower()
    for k, v in data.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return default


def href(link: object) -> str | None:
    value = ci(link, "href")
    return value if isinstance(value, str) and value.strip() else None


def status(data: dict, *, reference: str) -> RentalStatus:
    raw = str(ci(data, "state") or "")
    parsed = state(raw)
    if parsed == RentalState.UNKNOWN:
        logger.warning("unknown TextVerified state %r for %s", raw[:64], reference)
    return RentalStatus(
        reference=str(ci(data, "id") or reference),
        state=parsed,
        raw_state=raw,
        can_cancel=ci(ci(data, "cancel"), "canCancel") is True,
        can_report=ci(ci(data, "report"), "canReport") is True,
        expires_at=timestamp(ci(data, "endsAt")),
        phone_number=phone(ci(data, "number")),
    )


def sms(item: dict) -> Sms | None:
    if not isinstance(item, dict) or not ci(item, "id"):
        return None
    text = ci(item, "smsContent") or ""
    parsed = ci(item, "parsedCode")
    code = str(parsed).strip() if parsed not in (None, "") else extract_code(text)
    return Sms(
        id=str(ci(item, "id")),
        sender=str(ci(item, "from") or ""),
        text=str(text),
        code=code or None,
        received_at=timestamp(ci(item, "createdAt")) or datetime.now(timezone.utc),
    )


def call(item: dict) -> Call | None:
    if not isinstance(item, dict) or not ci(item, "id"):
        return None
    return Call(
        id=str(ci(item, "id")),
        caller=str(ci(item, "from") or ""),
        received_at=timestamp(ci(item, "createdAt")) or datetime.now(timezone.utc),
        recording_url=str(ci(item, "recordingUri") or ""),
    )
