"""Tolerant readers for the protocol's answers (sms-activate-protocol.md §1, §5 and §13).

Providers differ in what they send for the same thing: a text token or JSON, any content type,
numbers as strings or JSON numbers, HTTP 200 or a 4xx with `{"title": "NO_BALANCE", ...}`. Every
reader here accepts all of those and returns None (or leaves an item out) for what it cannot read,
so one odd field never crashes a poll. Money is read as Decimal and never passes through float.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import requests

from providers.base import Call, CountryInfo, CountryPrice, Sms, extract_code
from providers.smsactivate import codes

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NON_DIGITS = re.compile(r"\D")
MAX_TEXT = 300  # characters of an unreadable body kept for a log line or an error message


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read both ways: a text token (`TOKEN[:rest]`) and/or a JSON value."""

    status: int
    token: str | None = None  # "ACCESS_NUMBER", "NO_BALANCE" (also from a JSON error body)
    rest: str = ""  # what follows the first ":" of a text token, unsplit (SMS text may hold ":")
    data: object = None  # the parsed JSON, when the body was JSON
    text: str = ""  # the body, shortened, for messages
    retry_after: int | None = None  # seconds, from a Retry-After header

    def values(self, count: int) -> list[str]:
        """The rest split into at most `count` parts: `ACCESS_NUMBER:<id>:<digits>` -> 2 values."""
        return self.rest.split(":", count - 1) if self.rest else []


def read(response: requests.Response) -> Answer:
    """Read a body whatever its content type says: JSON when it parses as JSON, else a text token."""
    body = response.content.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
    base = {"status": response.status_code, "text": body[:MAX_TEXT], "retry_after": retry_after(response)}
    if body[:1] in ("{", "["):
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError:
            return Answer(**base)
        error = json_error(data)
        if error:
            return Answer(**base, token=error, data=data)
        # A text answer wrapped in JSON, as some providers send: {"status": "STATUS_OK", "code": "123456"}.
        status = ci(data, "status")
        if isinstance(status, str) and _TOKEN.match(status.strip()):
            value = ci(data, "code") if ci(data, "code") is not None else ci(data, "value")
            return Answer(**base, token=status.strip(), rest="" if value is None else str(value).strip(), data=data)
        return Answer(**base, data=data)
    if body[:1] == '"':  # a JSON string holding a token, as one provider sends
        try:
            body = str(json.loads(body))
        except ValueError:
            pass
    head, _, rest = body.partition(":")
    if _TOKEN.match(head):
        return Answer(**base, token=head, rest=rest.strip())
    return Answer(**base)


def retry_after(response: requests.Response) -> int | None:
    """Retry-After in whole seconds (the delta form; providers do not send dates)."""
    raw = (response.headers.get("Retry-After") or "").strip()
    try:
        return max(0, int(float(raw) + 0.999))
    except ValueError:
        return None


def json_error(data: object) -> str | None:
    """The error token of a JSON error body: `{"title": T}` (4xx, V2-first providers),
    `{"status": "error", "error" | "message": T}` or a bare `{"error": T}`; else None."""
    if not isinstance(data, dict):
        return None
    candidates = [ci(data, "title")]
    status = str(ci(data, "status") or "").lower()
    if status in ("error", "fail", "failed", ""):
        candidates += [ci(data, "error"), ci(data, "message") if status else None]
    for value in candidates:
        if isinstance(value, str):
            head = value.strip().partition(":")[0]
            if _TOKEN.match(head):
                return head
    return None


def ci(data: object, key: str, default=None):
    """A key read case-insensitively: `activationId`, `activationID` and `activationid` all occur."""
    if not isinstance(data, dict):
        return default
    if key in data:
        return data[key]
    lowered = key.lower()
    for name, value in data.items():
        if isinstance(name, str) and name.lower() == lowered:
            return value
    return default


def decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def integer(value: object) -> int | None:
    number = decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def timestamp(value: object) -> datetime | None:
    """`YYYY-MM-DD HH:MM:SS` in UTC (§1), or ISO 8601 with an offset; None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("unreadable SMS-Activate time %r", value[:40])
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def phone(value: object) -> str:
    """`+<digits>` (§3.2 sends country code and national number, digits only); "" when not a number."""
    if value is None or isinstance(value, bool):
        return ""
    digits = _NON_DIGITS.sub("", str(value))
    return "+" + digits if 7 <= len(digits) <= 15 else ""


def truthy(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes")


# --- purchases ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Number:
    reference: str
    phone_number: str
    cost: Decimal | None = None
    expires_at: datetime | None = None
    bought_at: datetime | None = None
    service: str = ""  # the protocol code, where the answer names it
    country: str = ""  # the protocol id, as a string, where the answer names it


def number(answer: Answer) -> Number | None:
    """A bought number from getNumberV2's JSON or getNumber's `ACCESS_NUMBER:<id>:<digits>`."""
    if answer.token == "ACCESS_NUMBER":
        parts = answer.values(2)
        if len(parts) == 2 and integer(parts[0]) is not None and phone(parts[1]):
            return Number(reference=str(integer(parts[0])), phone_number=phone(parts[1]))
        return None
    return activation(answer.data)


def activation(item: object) -> Number | None:
    """One activation object (getNumberV2's answer, or a getActiveActivations row)."""
    reference = integer(ci(item, "activationId"))
    digits = phone(ci(item, "phoneNumber"))
    if reference is None or reference <= 0 or not digits:
        return None
    return Number(reference=str(reference), phone_number=digits, cost=decimal(ci(item, "activationCost")),
                  expires_at=timestamp(ci(item, "activationEndTime")), bought_at=timestamp(ci(item, "activationTime")),
                  service=str(ci(item, "serviceCode") or ""), country=str(ci(item, "countryCode") or "").strip())


def active_activations(data: object) -> list[Number]:
    """getActiveActivations: `activeActivations` (documented), `data` (V2-first) or a bare list."""
    if isinstance(data, dict):
        rows = ci(data, "activeActivations")
        if not isinstance(rows, list):
            rows = ci(data, "data")
    else:
        rows = data
    if not isinstance(rows, list):
        return []
    return [found for found in map(activation, rows) if found is not None]


# --- status, SMS and calls ---------------------------------------------------------------------------

def _derived_id(reference: str, *parts: object) -> str:
    # The protocol gives an SMS no id: derive a stable one, so polling the same SMS twice stores it
    # once. The reference is part of it because ids are unique per provider, not per rental.
    digest = hashlib.sha256("|".join(str(p) for p in (reference, *parts)).encode()).hexdigest()[:24]
    return f"{reference}:{digest}"


def sms_v2(reference: str, item: object, *, seen_at: datetime) -> Sms | None:
    """getStatusV2's `sms` object (the latest SMS only: the protocol shows no older ones)."""
    if not isinstance(item, dict):
        return None
    text = ci(item, "text")
    text = "" if text is None else str(text)
    raw_code = ci(item, "code")
    code = str(raw_code).strip() if raw_code not in (None, "") else extract_code(text)
    if not text and not code:
        return None
    when = ci(item, "dateTime")
    return Sms(id=_derived_id(reference, "sms", when, text, code), sender=str(ci(item, "from") or ""),
               text=text or str(code), code=code or None, received_at=timestamp(when) or seen_at)


def call_v2(reference: str, item: object, *, seen_at: datetime) -> Call | None:
    """getStatusV2's `call` object: caller, transcription, code and the recording's URL."""
    if not isinstance(item, dict):
        return None
    when = ci(item, "dateTime")
    text = ci(item, "text")
    raw_code = ci(item, "code")
    url = ci(item, "url")
    return Call(id=_derived_id(reference, "call", when, url, text, raw_code), caller=str(ci(item, "from") or ""),
                received_at=timestamp(when) or seen_at, recording_url=str(url or ""),
                transcription="" if text is None else str(text),
                code=str(raw_code).strip() if raw_code not in (None, "") else None)


def sms_v1(reference: str, value: str, *, seen_at: datetime) -> Sms | None:
    """getStatus's `STATUS_OK:<code>` (or the SMS text, when the provider found no code in it)."""
    value = value.strip()
    if not value:
        return None
    code = value if re.fullmatch(r"[A-Za-z0-9-]{3,12}", value) else extract_code(value)
    # Stable id: the same code seen on every poll is one SMS; getStatus carries no time of arrival.
    return Sms(id=_derived_id(reference, "v1", value), sender="", text=value, code=code or None, received_at=seen_at)


def call_v1(reference: str, value: str, *, seen_at: datetime) -> Call | None:
    """getStatus's `STATUS_OK:<code>` for a voice activation: the code of the latest call."""
    value = value.strip()
    if not value:
        return None
    return Call(id=_derived_id(reference, "v1call", value), caller="", received_at=seen_at, transcription=value,
                code=value if re.fullmatch(r"[A-Za-z0-9-]{3,12}", value) else extract_code(value))


# --- catalogue ---------------------------------------------------------------------------------------

def countries(data: object) -> list[CountryInfo]:
    """getCountries, keyed by id (a list is accepted too): only ids in §3.3's table, only visible ones."""
    rows = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
    found: dict[str, CountryInfo] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        iso = codes.country_iso(ci(row, "id"))
        if iso is None or iso in found:
            continue
        if "visible" in {str(k).lower() for k in row} and not truthy(ci(row, "visible")):
            continue
        name = ci(row, "eng") or ci(row, "name") or ci(row, "rus") or iso
        found[iso] = CountryInfo(code=iso, name=str(name), upstream_id=str(integer(ci(row, "id"))))
    return sorted(found.values(), key=lambda c: c.code)


def prices(data: object) -> list[CountryPrice]:
    """getPrices: `{country id: {code: {cost, count}}}`; unknown country ids and unreadable rows left out."""
    if not isinstance(data, dict):
        return []
    found: list[CountryPrice] = []
    for country_key, services in data.items():
        iso = codes.country_iso(country_key)
        if iso is None or not isinstance(services, dict):
            continue
        for code, row in services.items():
            cost = decimal(ci(row, "cost"))
            count = integer(ci(row, "count"))
            if not isinstance(code, str) or cost is None or cost < 0:
                continue
            found.append(CountryPrice(country=iso, service=codes.slug_for(code), upstream_code=code, cost=cost,
                                      count=max(0, count or 0)))
    return sorted(found, key=lambda p: (p.country, p.upstream_code))


def services_list(data: object) -> dict[str, str]:
    """getServicesList: code -> name from `{"services": [{code, name}]}`, a list, or a dict of objects."""
    rows = ci(data, "services") if isinstance(data, dict) and ci(data, "services") is not None else data
    if isinstance(rows, dict):
        rows = [{"code": k, **v} if isinstance(v, dict) else {"code": k, "name": v} for k, v in rows.items()]
    if not isinstance(rows, list):
        return {}
    found = {}
    for row in rows:
        code = ci(row, "code")
        if isinstance(code, str) and code.strip():
            found[code.strip()] = str(ci(row, "name") or code).strip()
    return found
