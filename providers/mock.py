"""The mock backend: deterministic, time-driven fake numbers for development and tests.

Selected only by configuration (PROVIDER=mock, or a country whose provider is "mock" while DEBUG is
on), never as a fallback. Its rules live in providers/simulation.py, shared with the fake
TextVerified server. Time is `django.utils.timezone.now()`, so tests move it with time_machine.

Several gunicorn workers must agree on every rental without sharing memory, so a reference carries
the facts the workers need (creation time, capability, SMS delay, lifetime, country, service):
    mock-<created ms>-<sms|voice>-<sms delay ms>-<lifetime s>-<nonce>.<country>-<service>
(references made before countries were carried have no ".<country>": they are US numbers), and the
little that changes later (cancelled/reported, and idempotency keys) is in the Django cache.
"""
from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache as default_cache
from django.utils import timezone

from namaskah import cache as shared_cache
from providers import simulation
from providers.base import (
    Call, Health, ProviderRejected, ProviderUnavailable, Rental, RentalState, RentalStatus, ServiceOffer, Sms,
)
from providers.recordings import Recording, identify

logger = logging.getLogger(__name__)

PREFIX = "mock"
BALANCE = Decimal("1000.00")
RECORDING_SCHEME = "mock-recording:"
FAILURE_WINDOW = 10  # seconds: an injected read failure lasts at most this long for one reference


class MockProvider:
    name = "mock"

    def __init__(self, *, cache=None):
        self._cache = cache or default_cache
        # The mock keeps its state in the cache; a cache outage is remembered like everywhere else.
        self._outage = shared_cache.DEFAULT if cache is None else shared_cache.Outage("mock provider")

    # --- purchase ---------------------------------------------------------------------------

    def rent(self, *, service: str, capability: str, country: str, max_price: Decimal, idempotency_key: str) -> Rental:
        """Rent a fictional number of `country` (an ISO code) in that country's format. Raises
        ProviderRejected (unsupported_country for a country without a number plan) and
        ProviderUnavailable like the real one."""
        if not idempotency_key or not idempotency_key.strip():
            raise ValueError("rent() needs an idempotency key")
        self._pause()
        self._maybe_fail("rent", idempotency_key)
        try:
            simulation.number_plan(country)
            cost = simulation.check_purchase(service=service, capability=capability, max_price=max_price, strict=False)
        except simulation.Outage as exc:
            raise ProviderUnavailable(str(exc), code="upstream_error", retry_after=30) from None
        except simulation.Refused as exc:
            raise ProviderRejected(exc.message, code=exc.code) from None
        nonce = hashlib.sha256(idempotency_key.strip().encode()).hexdigest()[:10]
        reference = make_reference(service=service, capability=capability, country=country.upper(),
                                   created_at=timezone.now(), nonce=nonce,
                                   sms_delay=float(settings.MOCK_SMS_DELAY),
                                   lifetime=int(settings.MOCK_VERIFICATION_LIFETIME))
        key = f"{PREFIX}:idem:{nonce}"
        # add() is atomic across workers: the first purchase for a key wins, a repeat gets its rental.
        lifetime = int(settings.MOCK_VERIFICATION_LIFETIME) + 3600
        if not self._outage.call(lambda: self._cache.add(key, reference, timeout=lifetime), True):
            reference = self._outage.call(lambda: self._cache.get(key), None) or reference
        facts = parse_reference(reference)
        return Rental(reference=reference, phone_number=facts.number, expires_at=facts.ends_at, cost=cost)

    # --- reads --------------------------------------------------------------------------------

    def status(self, reference: str) -> RentalStatus:
        facts, seen = self._look(reference, "status")
        return RentalStatus(reference=reference, state=seen.state, raw_state=seen.upstream_state,
                            can_cancel=seen.can_cancel, can_report=seen.can_report, expires_at=seen.ends_at,
                            phone_number=facts.number)

    def messages(self, reference: str) -> list[Sms]:
        _, seen = self._look(reference, "messages")
        return [Sms(id=m.id, sender=m.sender, text=m.text, code=m.code, received_at=m.at) for m in seen.sms]

    def calls(self, reference: str) -> list[Call]:
        """Calls as TextVerified lists them: a recording URI each, no transcript, no code."""
        _, seen = self._look(reference, "calls")
        return [Call(id=m.id, caller=m.sender, received_at=m.at, duration=_seconds(m.recording),
                     recording_url=f"{RECORDING_SCHEME}{m.recording}")
                for m in seen.calls]

    def recording(self, uri: str) -> Recording:
        """The committed recording a mock call's URI names. ProviderRejected(not_found) for any other URI."""
        self._pause()
        self._maybe_fail("recording", uri, window=True)
        chosen = simulation.recording_named(uri.removeprefix(RECORDING_SCHEME)) if uri.startswith(RECORDING_SCHEME) \
            else None
        if chosen is None:
            raise ProviderRejected("No such mock recording.", code="not_found")
        return identify(chosen.path.read_bytes(), chosen.content_type)

    # --- actions ------------------------------------------------------------------------------

    def cancel(self, reference: str) -> None:
        """Give the number back. Raises ProviderRejected(not_allowed) once a code arrived or it expired."""
        self._act(reference, "cancel", flag="cancelled_at", done=RentalState.CANCELLED)

    def report(self, reference: str) -> None:
        """Report the number. Raises ProviderRejected(not_allowed) when it is expired, cancelled or reported."""
        self._act(reference, "report", flag="reported_at", done=RentalState.REPORTED)

    # --- catalogue and account ---------------------------------------------------------------

    def services(self) -> list[ServiceOffer]:
        self._pause()
        return [ServiceOffer(name=name, capability=capability, description=display,
                             cost=simulation.price(service=name, capability=capability, strict=False))
                for name, capability, display in simulation.offers()]

    def quote(self, *, service: str, capability: str) -> Decimal:
        self._pause()
        try:
            return simulation.price(service=service, capability=capability, strict=False)
        except simulation.Refused as exc:
            raise ProviderRejected(exc.message, code=exc.code) from None

    def balance(self) -> Decimal:
        self._pause()
        return BALANCE

    def health(self) -> Health:
        started = time.perf_counter()
        self._pause()
        return Health(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2),
                      checked_at=timezone.now(), detail="mock backend")

    # --- internals ----------------------------------------------------------------------------

    def _look(self, reference: str, operation: str) -> tuple[simulation.Facts, simulation.View]:
        self._pause()
        self._maybe_fail(operation, reference, window=True)
        facts = self._facts(reference)
        return facts, simulation.view(facts, now=timezone.now())

    def _act(self, reference: str, operation: str, *, flag: str, done: str) -> None:
        facts, seen = self._look(reference, operation)
        if seen.state == done:
            return  # repeating a cancel/report is a no-op, so a retry after a timeout is safe
        allowed = seen.can_cancel if operation == "cancel" else seen.can_report
        if not allowed:
            reason = "a code has already arrived" if seen.state == RentalState.COMPLETED else f"it is {seen.state}"
            raise ProviderRejected(f"Cannot {operation} this number: {reason}.", code="not_allowed")
        flags = self._flags(reference)
        flags[flag] = timezone.now().isoformat()
        if not self._outage.call(lambda: self._cache.set(self._flags_key(reference), flags,
                                                         timeout=self._flags_ttl(facts)) or True, False):
            raise ProviderUnavailable("The mock's state store (the cache) is unavailable.", code="upstream_error")

    def _facts(self, reference: str) -> simulation.Facts:
        facts = parse_reference(reference)
        flags = self._flags(reference)
        return simulation.Facts(
            reference=facts.reference, service=facts.service, capability=facts.capability,
            created_at=facts.created_at, sms_delay=facts.sms_delay, lifetime=facts.lifetime, country=facts.country,
            cancelled_at=_when(flags.get("cancelled_at")), reported_at=_when(flags.get("reported_at")),
        )

    def _flags(self, reference: str) -> dict:
        return dict(self._outage.call(lambda: self._cache.get(self._flags_key(reference)), None) or {})

    @staticmethod
    def _flags_key(reference: str) -> str:
        return f"{PREFIX}:flags:{hashlib.sha256(reference.encode()).hexdigest()[:32]}"

    @staticmethod
    def _flags_ttl(facts: simulation.Facts) -> int:
        return int(facts.lifetime) + 86400

    @staticmethod
    def _pause() -> None:
        latency = float(getattr(settings, "MOCK_LATENCY", 0) or 0)
        if latency > 0:
            time.sleep(latency)

    @staticmethod
    def _maybe_fail(operation: str, subject: str, *, window: bool = False) -> None:
        """Fail a share of calls, deterministically: a purchase by its idempotency key, a read by its
        reference and a 10-second window (so a failing read recovers instead of failing forever)."""
        rate = float(getattr(settings, "MOCK_FAILURE_RATE", 0) or 0)
        if rate <= 0:
            return
        bucket = int(timezone.now().timestamp() // FAILURE_WINDOW) if window else 0
        if simulation.fraction("failure", operation, subject, bucket) < rate:
            raise ProviderUnavailable(f"Injected mock failure ({operation}).", code="mock_failure",
                                      retry_after=FAILURE_WINDOW)


def make_reference(*, service: str, capability: str, country: str, created_at: datetime, nonce: str,
                   sms_delay: float | None, lifetime: int) -> str:
    millis = int(created_at.timestamp() * 1000)
    delay = "x" if sms_delay is None else str(int(round(sms_delay * 1000)))
    return f"{PREFIX}-{millis}-{capability}-{delay}-{int(lifetime)}-{nonce}.{country}-{service}"


def parse_reference(reference: str) -> simulation.Facts:
    """The facts a reference carries; ProviderRejected(not_found) for anything that is not one of ours."""
    parts = (reference or "").split("-", 6)
    try:
        prefix, millis, capability, delay, lifetime, nonce, service = parts
        nonce, _, country = nonce.partition(".")
        country = country or "US"
        if prefix != PREFIX or capability not in simulation.CAPABILITIES or not service or not nonce \
                or country not in simulation.NUMBER_PLANS:
            raise ValueError(reference)
        created_at = datetime.fromtimestamp(int(millis) / 1000, tz=dt_timezone.utc)
        sms_delay = None if delay == "x" else int(delay) / 1000
        life = int(lifetime)
    except (ValueError, OverflowError, OSError):
        raise ProviderRejected("No such mock rental.", code="not_found") from None
    return simulation.Facts(reference=reference, service=service, capability=capability, created_at=created_at,
                            sms_delay=sms_delay, lifetime=life, country=country)


def _seconds(recording: str) -> int | None:
    chosen = simulation.recording_named(recording)
    return round(chosen.seconds) if chosen else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
