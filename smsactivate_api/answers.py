"""What the endpoint sends: a text token (`TOKEN` or `TOKEN:value`, text/plain, no trailing newline)
or a JSON body (application/json), always with HTTP 200 (contract §1)."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

from django.http import HttpResponse

from accounts.money import money_str

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
USD = 840  # ISO 4217 numeric, sent beside every amount in JSON


@dataclass(frozen=True)
class Answer:
    body: str
    content_type: str
    label: str  # the token without its value, or "json": a metric label, never data
    headers: dict = field(default_factory=dict)

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, content_type=self.content_type, status=200)
        for name, value in self.headers.items():
            response[name] = value
        return response


class Refusal(Exception):
    """An answer that ends an action early: `raise Refusal("BAD_SERVICE")`."""

    def __init__(self, token: str, value: str | None = None, *, headers: dict | None = None):
        super().__init__(token)
        self.answer = text(token, value, headers=headers)


def text(token: str, value: str | None = None, *, headers: dict | None = None) -> Answer:
    body = token if value is None else f"{token}:{value}"
    return Answer(body=body, content_type=TEXT, label=token, headers=headers or {})


def json_answer(data) -> Answer:
    return Answer(body=dumps(data), content_type=JSON, label="json")


def money(value: Decimal) -> str:
    """Two decimals, '.' as separator, for text tokens (ACCESS_BALANCE:10.00)."""
    return money_str(value)


def when(value: datetime | None) -> str | None:
    """`YYYY-MM-DD HH:MM:SS`, UTC: the protocol's one time format."""
    if value is None:
        return None
    return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def dumps(data) -> str:
    """JSON where every Decimal is a number with its two decimals (`1.50`, parsed as 1.5).

    The json module can only write a float's shortest form (1.5), so amounts travel as unique
    placeholder strings and are put back as literals; the nonce keeps any text written by strangers
    (an SMS) from ever matching a placeholder.
    """
    nonce = secrets.token_hex(8)
    amounts: list[str] = []

    def swap(value):
        if isinstance(value, Decimal):
            amounts.append(money_str(value))
            return f"{nonce}#{len(amounts) - 1}"
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [swap(item) for item in value]
        return value

    body = json.dumps(swap(data), ensure_ascii=False, separators=(",", ":"))
    return re.sub(f'"{nonce}#(\\d+)"', lambda match: amounts[int(match.group(1))], body)
