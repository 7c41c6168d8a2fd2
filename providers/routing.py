"""Which providers may serve a purchase, in which order, and when a failure lets the next one try.

Pure rules over settings and the breakers (no database: verifications.routing brings staff's routes
and the synced offers). The rules:
* `PROVIDER` names the primary (textverified or mock); the SMS-Activate-protocol provider is on when
  `SMSACTIVATE_BASE_URL` is set. The mock serves only when it is the primary (a demo) or, with DEBUG
  on, as the stand-in for simulated countries: with PROVIDER=textverified in production, never.
* With no staff routes, the US goes to TextVerified first, then to the second provider if it sells
  US numbers; every other country to the providers that sell it (in development, the seed's
  simulated countries that no real provider sells go to the mock).
* A failure moves the purchase on to the next provider only when it proves nothing was sold (the
  circuit was open, the provider said it has no numbers or wants more than our cap, ...). A
  timeout or a broken connection during a purchase may hide a sale: the purchase stops there.
"""
from __future__ import annotations

from typing import Callable, Iterable

from django.conf import settings

from providers.base import ProviderError, ProviderRejected, ProviderUnavailable
from providers.breaker import OPEN, breaker_state

PRIMARY_NAMES = ("textverified", "mock")
SECOND = "smsactivate"
# ProviderRejected codes given before anything was bought, which say nothing about other providers.
REJECTIONS_TO_PASS_ON = frozenset({
    "no_numbers", "price_above_cap", "insufficient_upstream_balance", "too_many_unfinished",
    "unsupported_country", "unknown_country", "unknown_service",
})
# ProviderUnavailable codes raised before any request left: nothing can have been bought.
OUTAGES_TO_PASS_ON = frozenset({"circuit_open", "not_configured"})


def configured() -> list[str]:
    """The providers this deployment talks to, primary first."""
    names = [settings.PROVIDER or "mock"]
    if getattr(settings, "SMSACTIVATE_BASE_URL", None):
        names.append(SECOND)
    if settings.DEBUG and "mock" not in names:
        names.append("mock")  # a stand-in for simulated countries in development only
    return names


def allowed(name: str) -> bool:
    """Whether a purchase may go to this provider here. The mock only by configuration: as the
    primary (PROVIDER=mock, a demo), or as development's stand-in; never as production's fallback."""
    return name in configured()


def default_order(country_code: str, *, sells: Callable[[str], bool], simulated: bool) -> list[str]:
    """The providers of a country nobody routed by hand. `sells(name)`: whether that provider's
    synced catalogue has the country; `simulated`: the seed marks the country as the mock's."""
    primary = settings.PROVIDER or "mock"
    if primary == "mock":
        order = ["mock"] + ([SECOND] if SECOND in configured() and sells(SECOND) else [])
    elif (country_code or "").upper() == "US":
        order = ["textverified"] + ([SECOND] if SECOND in configured() and sells(SECOND) else [])
    elif SECOND in configured() and sells(SECOND):
        order = [SECOND]
    else:
        # Development's stand-in, only where no real provider sells: never a fallback for one.
        order = ["mock"] if simulated else []
    return [name for name in order if allowed(name)]


def only_allowed(names: Iterable[str]) -> list[str]:
    """Staff's order, without the providers this deployment cannot use (and without repeats)."""
    seen: list[str] = []
    for name in names:
        if name not in seen and allowed(name):
            seen.append(name)
    return seen


def circuit_retry_after(name: str) -> int | None:
    """Seconds until the provider's open circuit lets a probe through, or None while it is not open."""
    snapshot = breaker_state(name)
    if snapshot.state != OPEN:
        return None
    return max(1, int(snapshot.retry_after or 1))


def passes_on(exc: ProviderError) -> bool:
    """True when the next provider may try: this one failed before selling anything."""
    if isinstance(exc, ProviderRejected):
        return exc.code in REJECTIONS_TO_PASS_ON
    if isinstance(exc, ProviderUnavailable):
        return exc.code in OUTAGES_TO_PASS_ON
    return False
