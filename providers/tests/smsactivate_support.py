"""Helpers for the SMS-Activate-protocol client's tests: constants, a UTC clock, wire helpers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import responses as responses_lib

from providers.tests.support import Sleeps

SMSA_KEY = "smsa-key-SECRET-9f8e7d6c5b4a"
SMSA_BASE = "https://smsa.test"
SMSA_URL = SMSA_BASE + "/stubs/handler_api.php"


class FakeUtcClock:
    """A UTC clock for the fake provider that moves only when told."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 11, 25, 14, 3, 7, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_client(base_url: str, sleeps=None, **options):
    from providers.smsactivate import SmsActivateClient

    defaults = {"api_key": SMSA_KEY, "connect_timeout": 1, "read_timeout": 2, "max_retries": 2, "backoff_factor": 0,
                "retry_after_cap": 5, "sleep": sleeps if sleeps is not None else Sleeps()}
    return SmsActivateClient(base_url=base_url, **{**defaults, **options})


def answer(rsps, action: str, body, *, status: int = 200, content_type: str | None = None, headers=None):
    """Register one answer for requests of `action` (matched on the query string's action)."""
    kwargs = {"status": status, "headers": headers or {}}
    if isinstance(body, (dict, list)):
        kwargs["json"] = body
    else:
        kwargs["body"] = body
        kwargs["content_type"] = content_type or "text/plain"
    if content_type and isinstance(body, (dict, list)):
        kwargs["content_type"] = content_type
    return rsps.add(responses_lib.POST, SMSA_URL, match=[responses_lib.matchers.query_param_matcher(
        {"action": action}, strict_match=False)], **kwargs)


def sent(call) -> dict:
    """The form fields of one recorded `responses` call."""
    return {k: v[-1] for k, v in parse_qs(call.request.body or "").items()}


def query(call) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def calls_of(rsps, action: str) -> list:
    return [c for c in rsps.calls if query(c).get("action") == action]
