"""The provider interface the rest of the project uses, its small frozen results, and its two errors.

`ProviderRejected`: the provider answered "no" (a business answer: unknown service, no numbers,
not allowed in this state). It never trips the circuit breaker.
`ProviderUnavailable`: we could not get an answer (timeout, connection error, 5xx, 429 after
retries, circuit open). It counts towards the breaker and becomes a 503 with Retry-After.

One optional method stays outside the Protocol, as TextVerified and the mock have no such step:
`finish(reference)` closes a rental upstream once its code is in (the SMS-Activate protocol's
setStatus 6). Call it through registry.Guarded.finish(), a no-op for providers without it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable


class ProviderError(Exception):
    def __init__(self, message: str, *, code: str = "provider_error"):
        super().__init__(message)
        self.code = code
        self.message = message


class ProviderRejected(ProviderError):
    """The provider said no. Codes: unknown_service, unknown_country, unsupported_country, no_numbers,
    insufficient_upstream_balance, price_above_cap, too_many_unfinished, not_allowed, not_found,
    invalid_request."""


# ProviderRejected codes that mean "we cannot sell this right now" (both APIs tell the customer to
# retry later), and how long to suggest waiting when the upstream gave no Retry-After.
TEMPORARY_REJECTIONS = frozenset({"no_numbers", "insufficient_upstream_balance", "too_many_unfinished", "price_above_cap"})
DEFAULT_RETRY_AFTER = 30


class ProviderUnavailable(ProviderError):
    """No usable answer from the provider; `retry_after` is a hint in seconds (or None)."""

    def __init__(self, message: str, *, code: str = "provider_unavailable", retry_after: int | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class RentalState:
    """Our normalised view of an upstream verification's state (unknown upstream states map to UNKNOWN)."""

    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REPORTED = "reported"
    REFUNDED = "refunded"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Rental:
    """A number we rented: `reference` is the provider's id for it (TextVerified's reservation id)."""

    reference: str
    phone_number: str  # E.164, e.g. +15550100123
    expires_at: datetime
    cost: Decimal | None = None


@dataclass(frozen=True)
class RentalStatus:
    reference: str
    state: str  # a RentalState value
    raw_state: str
    can_cancel: bool
    can_report: bool
    expires_at: datetime | None
    phone_number: str = ""


@dataclass(frozen=True)
class Sms:
    id: str
    sender: str
    text: str
    code: str | None
    received_at: datetime


@dataclass(frozen=True)
class Call:
    id: str
    caller: str
    received_at: datetime
    duration: int | None = None
    recording_url: str = ""
    transcription: str = ""
    code: str | None = None


@dataclass(frozen=True)
class ServiceOffer:
    name: str  # the provider's service name
    capability: str  # "sms" | "voice"
    description: str = ""
    cost: Decimal | None = None
    stock: int | None = None  # numbers on sale now, where the provider says (None: not reported)


@dataclass(frozen=True)
class CountryInfo:
    """A country a provider sells, by our ISO alpha-2 code; `upstream_id` is the provider's own id."""

    code: str
    name: str
    upstream_id: str


@dataclass(frozen=True)
class CountryPrice:
    """What one service costs us in one country at one provider, and how many numbers it has."""

    country: str  # ISO alpha-2
    service: str  # our slug where we know the provider's code, else the provider's code
    upstream_code: str
    cost: Decimal
    count: int


@dataclass(frozen=True)
class Health:
    ok: bool
    latency_ms: float | None
    checked_at: datetime
    detail: str = ""
    breaker_state: str = "closed"


_DIGITS = re.compile(r"(?<!\d)(\d{4,8})(?!\d)")
_SPLIT_SIX = re.compile(r"(?<!\d)(\d{3})[- ](\d{3})(?!\d)")
# A letter prefix and digits, as Google writes it: "G-482913 is your Google verification code."
_PREFIXED = re.compile(r"(?<![\w-])([A-Z]{1,3}-\d{4,8})(?![\w-])")
# Letters and digits mixed ("AB12CD"), upper case: only after a word that announces a code.
_ALPHANUMERIC = re.compile(r"\b(?:code|pin|otp|passcode|password|token)\b\W{0,3}(?:is\W{0,3})?"
                           r"(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])([A-Z0-9]{4,8})\b", re.IGNORECASE)
_LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)


def extract_code(text: str | None) -> str | None:
    """The verification code in a message text, or None: a prefixed code such as G-482913, a
    6-digit number (the common length), a split form such as 123-456, any 4-8 digit number, then
    a mixed code such as AB12CD after "code"/"PIN"/"OTP". Links are never read for a code (a token
    in a URL is not one the customer types)."""
    if not text:
        return None
    text = _LINK.sub(" ", text)
    prefixed = _PREFIXED.search(text)
    if prefixed:
        return prefixed.group(1)
    candidates = _DIGITS.findall(text)
    for candidate in candidates:
        if len(candidate) == 6:
            return candidate
    split = _SPLIT_SIX.search(text)
    if split:
        return split.group(1) + split.group(2)
    if candidates:
        return candidates[0]
    mixed = _ALPHANUMERIC.search(text)
    if mixed and mixed.group(1).upper() == mixed.group(1):
        return mixed.group(1)
    return None


@runtime_checkable
class Provider(Protocol):
    name: str

    def rent(self, *, service: str, capability: str, country: str, max_price: Decimal, idempotency_key: str) -> Rental:
        """Buy a number of `country` (ISO 3166 code, e.g. "GB"). Never buys twice for one idempotency
        key; never pays more than max_price. ProviderRejected(unsupported_country) for a country the
        provider does not sell."""

    def status(self, reference: str) -> RentalStatus: ...

    def messages(self, reference: str) -> list[Sms]:
        """SMS received by this rental only (by reference, never by phone number), oldest first."""

    def calls(self, reference: str) -> list[Call]: ...

    def cancel(self, reference: str) -> None:
        """Cancel upstream. Raises ProviderRejected(code="not_allowed") when the provider refuses."""

    def report(self, reference: str) -> None:
        """Report a number that did not work. Raises ProviderRejected(code="not_allowed") when refused."""

    def services(self) -> list[ServiceOffer]: ...

    def quote(self, *, service: str, capability: str) -> Decimal: ...

    def balance(self) -> Decimal: ...

    def health(self) -> Health:
        """A cheap probe, cached (PROVIDER_HEALTH_TTL) and refreshed by real traffic."""
