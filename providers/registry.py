"""Which provider serves a request, and the one wrapper every provider call goes through.

`get_provider(name)` returns the provider wrapped in `Guarded`: every call passes the circuit breaker
and updates provider health. Which providers serve a purchase is routing's business
(providers/routing.py, verifications/routing.py); the mock is chosen only by configuration, never as a
fallback for a real provider.
"""
from __future__ import annotations

import hashlib
import threading
import time
from decimal import Decimal
from typing import Callable, TypeVar

from django.conf import settings

from providers import health as health_module
from providers.base import (
    Call, CountryInfo, CountryPrice, Health, Provider, ProviderRejected, ProviderUnavailable, Rental, RentalStatus, ServiceOffer, Sms,
)
from providers.breaker import CircuitBreaker, breaker_for
from providers.metrics import observe_provider_call
from providers.recordings import Recording

T = TypeVar("T")
PROVIDER_NAMES = ("textverified", "mock")
# Reachable by name (its own breaker and health), on when SMSACTIVATE_BASE_URL is set; purchases reach
# it through routing by country (providers/routing.py, verifications/routing.py).
OPTIONAL_PROVIDER_NAMES = ("smsactivate",)
# Part of the client config: a change rebuilds the client (defaults 0.5, 0.5 and 16).
OPTIONAL_TEXTVERIFIED_SETTINGS = ("TEXTVERIFIED_BACKOFF_FACTOR", "TEXTVERIFIED_BACKOFF_JITTER", "TEXTVERIFIED_POOL_SIZE",
                                  "TEXTVERIFIED_QUOTE_TTL")


class Guarded:
    """A provider whose every call goes through its circuit breaker and records health."""

    def __init__(self, provider: Provider, *, breaker: CircuitBreaker | None = None):
        self.name = provider.name
        self.inner = provider
        self.breaker = breaker or breaker_for(provider.name)

    def _call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        started = time.perf_counter()
        operation = getattr(fn, "__name__", "call")
        try:
            result = self.breaker.call(fn, *args, **kwargs)
        except ProviderUnavailable as exc:
            if exc.code != "circuit_open":  # a fast-fail says nothing new about the upstream
                health_module.record(self.name, ok=False, latency_ms=_ms(started), detail=exc.code)
            self._measure(operation, "circuit_open" if exc.code == "circuit_open" else "unavailable", started)
            raise
        except ProviderRejected:
            # The upstream answered: it is up, even if the answer was "no".
            health_module.record(self.name, ok=True, latency_ms=_ms(started))
            self._measure(operation, "rejected", started)
            raise
        health_module.record(self.name, ok=True, latency_ms=_ms(started))
        self._measure(operation, "ok", started)
        return result

    def _measure(self, operation: str, outcome: str, started: float) -> None:
        observe_provider_call(provider=self.name, operation=operation, outcome=outcome,
                              seconds=time.perf_counter() - started)

    def rent(self, *, service: str, capability: str, country: str, max_price: Decimal, idempotency_key: str) -> Rental:
        return self._call(self.inner.rent, service=service, capability=capability, country=country,
                          max_price=max_price, idempotency_key=idempotency_key)

    def status(self, reference: str) -> RentalStatus:
        return self._call(self.inner.status, reference)

    def messages(self, reference: str) -> list[Sms]:
        return self._call(self.inner.messages, reference)

    def calls(self, reference: str) -> list[Call]:
        return self._call(self.inner.calls, reference)

    def recording(self, uri: str) -> Recording:
        """A call's recording (providers.recordings). ProviderRejected(not_supported) for a provider
        that hands over no recordings."""
        fetch = getattr(self.inner, "recording", None)
        if fetch is None:
            raise ProviderRejected(f"{self.name} hands over no call recordings.", code="not_supported")
        # Outside the breaker: recordings may come from another host (a CDN), and a slow or broken
        # one must not stop purchases; the download is retried with its own backoff.
        started = time.perf_counter()
        try:
            result = fetch(uri)
        except ProviderUnavailable:
            self._measure("recording", "unavailable", started)
            raise
        except ProviderRejected:
            self._measure("recording", "rejected", started)
            raise
        self._measure("recording", "ok", started)
        return result

    def cancel(self, reference: str) -> None:
        return self._call(self.inner.cancel, reference)

    def report(self, reference: str) -> None:
        return self._call(self.inner.report, reference)

    def finish(self, reference: str) -> None:
        """Close the rental upstream once its code is in (providers.base: optional); a no-op where
        the provider has no such step."""
        finish = getattr(self.inner, "finish", None)
        if finish is None:
            return None
        return self._call(finish, reference)

    @property
    def can_recover_lost_purchases(self) -> bool:
        """Whether the provider has its own search for a purchase whose answer was lost."""
        return callable(getattr(self.inner, "recover_lost_purchase", None))

    def recover_lost_purchase(self, **search):
        """Find (and with give_back=True, give back) a number whose purchase answer was lost
        (providers.smsactivate's Recovery). Only where can_recover_lost_purchases."""
        return self._call(self.inner.recover_lost_purchase, **search)

    def services(self) -> list[ServiceOffer]:
        return self._call(self.inner.services)

    def quote(self, *, service: str, capability: str) -> Decimal:
        return self._call(self.inner.quote, service=service, capability=capability)

    def balance(self) -> Decimal:
        return self._call(self.inner.balance)

    @property
    def per_country(self) -> bool:
        """Whether the provider publishes a price table per country (countries(), prices())."""
        return callable(getattr(self.inner, "prices", None)) and callable(getattr(self.inner, "countries", None))

    def countries(self) -> list[CountryInfo]:
        return self._call(self.inner.countries)

    def prices(self, **narrow) -> list[CountryPrice]:
        return self._call(self.inner.prices, **narrow)

    def health(self) -> Health:
        """Cached health with the breaker state (see providers.health.provider_health)."""
        return health_module.provider_health(self.name)

    def probe(self) -> Health:
        """One real, guarded upstream probe. Raises ProviderUnavailable when it fails."""

        def probe() -> Health:
            result = self.inner.health()
            if not result.ok:
                raise ProviderUnavailable(f"{self.name} health probe failed: {result.detail}", code="probe_failed")
            return result

        return self._call(probe)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _textverified_config() -> tuple:
    # Rebuild the client when its settings change (tests, or a reload); the key is a digest so the
    # API key itself is never kept as a dict key.
    secret = hashlib.sha256(f"{settings.TEXTVERIFIED_API_KEY}|{settings.TEXTVERIFIED_EMAIL}".encode()).hexdigest()
    return ("textverified", settings.TEXTVERIFIED_BASE_URL, secret, settings.TEXTVERIFIED_CONNECT_TIMEOUT,
            settings.TEXTVERIFIED_READ_TIMEOUT, settings.TEXTVERIFIED_MAX_RETRIES, settings.TEXTVERIFIED_RETRY_AFTER_CAP,
            *(getattr(settings, name, None) for name in OPTIONAL_TEXTVERIFIED_SETTINGS))


def _smsactivate_config() -> tuple:
    if not settings.SMSACTIVATE_BASE_URL:
        raise ProviderUnavailable("The SMS-Activate-protocol provider is not configured (SMSACTIVATE_BASE_URL).",
                                  code="not_configured")
    secret = hashlib.sha256(str(settings.SMSACTIVATE_API_KEY).encode()).hexdigest()
    return ("smsactivate", settings.SMSACTIVATE_BASE_URL, secret, settings.SMSACTIVATE_NAME,
            settings.SMSACTIVATE_CONNECT_TIMEOUT, settings.SMSACTIVATE_READ_TIMEOUT, settings.SMSACTIVATE_MAX_RETRIES,
            settings.SMSACTIVATE_BACKOFF_FACTOR, settings.SMSACTIVATE_RETRY_AFTER_CAP, settings.SMSACTIVATE_POOL_SIZE,
            settings.SMSACTIVATE_ORDER_ID)


def _build(name: str) -> Provider:
    if name == "smsactivate":
        from providers.smsactivate import SmsActivateClient

        return SmsActivateClient()
    if name == "textverified":
        from providers.textverified import TextVerifiedClient

        return TextVerifiedClient()
    from providers.mock import MockProvider

    return MockProvider()


_instances: dict[tuple, Guarded] = {}
_instances_lock = threading.Lock()


def get_provider(name: str) -> Guarded:
    """The process-wide guarded provider for a name ("textverified", "mock", or "smsactivate" when
    configured). Raises ValueError for an unknown name, ProviderUnavailable(not_configured) for
    smsactivate without SMSACTIVATE_BASE_URL."""
    known = PROVIDER_NAMES + OPTIONAL_PROVIDER_NAMES
    if name not in known:
        raise ValueError(f"Unknown provider {name!r}; expected one of {', '.join(known)}")
    if name == "smsactivate":
        key = _smsactivate_config()
    else:
        key = _textverified_config() if name == "textverified" else (name,)
    with _instances_lock:
        if key not in _instances:
            _instances[key] = Guarded(_build(name))
        return _instances[key]


# Background reads (the checks of open verifications) go through a circuit of their own, named
# "<provider>-checks": a sweep that fails or is rate-limited must not open the circuit that guards
# customers' purchases. Same client, same connection pool and token; only the breaker differs.
BACKGROUND_SUFFIX = "-checks"
_background: dict[int, Guarded] = {}


def background_provider(name: str) -> Guarded:
    """The provider for background reads (messages, calls, status), with its own circuit."""
    front = get_provider(name)
    with _instances_lock:
        guarded = _background.get(id(front))
        if guarded is None or guarded.inner is not front.inner:
            guarded = _background[id(front)] = Guarded(front.inner, breaker=breaker_for(name + BACKGROUND_SUFFIX))
        return guarded

