"""The payment gateway: Stripe (`PAYMENTS=stripe`, the official library) or the embedded mock
(`PAYMENTS=mock`, development and tests). Both answer in the dataclasses below, parsed from
Stripe-shaped JSON by one tolerant set of functions, so the services never see a library object.

    from payments import gateway
    session = gateway.current().create_session(...)
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings


class GatewayError(Exception):
    """Stripe could not be asked (timeout, connection, 5xx, 429) or refused the request."""


def _text(data: Mapping, key: str) -> str:
    value = data.get(key)
    if isinstance(value, Mapping):  # an expanded object instead of its id
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _cents(data: Mapping, key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Session:
    """A Checkout Session, as much of it as we use."""

    id: str
    url: str
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    amount_total: int | None  # in cents
    currency: str
    client_reference_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent: str = ""
    created: int = 0

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Session:
        metadata = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
        return cls(
            id=_text(data, "id"), url=_text(data, "url"), status=_text(data, "status"),
            payment_status=_text(data, "payment_status"), amount_total=_cents(data, "amount_total"),
            currency=_text(data, "currency").lower(), client_reference_id=_text(data, "client_reference_id"),
            metadata={str(k): str(v) for k, v in metadata.items()}, payment_intent=_text(data, "payment_intent"),
            created=_cents(data, "created") or 0,
        )

    @property
    def topup_ref(self) -> str:
        """Our TopUp id as the session carries it (client_reference_id, else the metadata)."""
        return self.client_reference_id or self.metadata.get("topup_id", "")


@dataclass(frozen=True)
class Charge:
    id: str
    payment_intent: str
    amount: int | None
    amount_refunded: int | None
    currency: str

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Charge:
        return cls(id=_text(data, "id"), payment_intent=_text(data, "payment_intent"), amount=_cents(data, "amount"),
                   amount_refunded=_cents(data, "amount_refunded"), currency=_text(data, "currency").lower())


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int | None
    currency: str
    status: str  # pending | requires_action | succeeded | failed | canceled
    payment_intent: str = ""

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Refund:
        return cls(id=_text(data, "id"), amount=_cents(data, "amount"), currency=_text(data, "currency").lower(),
                   status=_text(data, "status"), payment_intent=_text(data, "payment_intent"))


@dataclass(frozen=True)
class Dispute:
    id: str
    amount: int | None
    currency: str
    charge: str
    payment_intent: str
    # warning_needs_response | warning_under_review | warning_closed | needs_response | under_review | won | lost
    status: str = ""

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Dispute:
        return cls(id=_text(data, "id"), amount=_cents(data, "amount"), currency=_text(data, "currency").lower(),
                   charge=_text(data, "charge"), payment_intent=_text(data, "payment_intent"),
                   status=_text(data, "status"))


class Gateway(Protocol):
    name: str

    def create_session(self, *, topup_id: str, amount_cents: int, currency: str, description: str,
                       customer_email: str, success_url: str, cancel_url: str) -> Session:
        """A Checkout Session in mode `payment` carrying topup_id. Raises GatewayError."""

    def expire_session(self, *, session_id: str) -> Session:
        """Close an open session so it can no longer be paid. Raises GatewayError."""

    def paid_sessions(self, *, created_since: datetime) -> Iterator[Session]:
        """Complete sessions created since then, every page of them. Raises GatewayError while iterating."""

    def refunds_for_charge(self, *, charge_id: str) -> list[Refund]:
        """Every refund of a charge. Raises GatewayError."""

    def topup_ref_for_payment(self, *, payment_intent: str) -> str:
        """The top-up id a payment intent carries in its metadata ("" if none, or no such intent).
        Raises GatewayError."""


_instances: dict[tuple, Gateway] = {}
_lock = threading.Lock()


def current() -> Gateway:
    """The gateway the settings choose; one instance per configuration (its HTTP pool is reused)."""
    config = (settings.PAYMENTS, settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
    with _lock:
        instance = _instances.get(config)
        if instance is None:
            if settings.PAYMENTS == "stripe":
                from payments.gateway.stripe_api import StripeGateway

                instance = StripeGateway(secret_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE)
            else:
                from payments.gateway.mock import MockGateway

                instance = MockGateway()
            _instances[config] = instance
        return instance
