"""Routing by country: which providers serve a purchase, in which order, at which price.

A `Book` loads staff's routes and the synced offers once (two queries, three with the voice
premium), so a page pricing every service in every country costs no more than one quote. A `Plan`
is one (service, country, capability) as a customer would buy it now: the providers to try in
order (circuit not open, numbers in stock, cost within our price) and the price charged, which is
the tier price (plus the voice premium) but never below the serving provider's cost there plus
MIN_MARGIN. `rent()` walks a plan's providers within one request: the charge is made once, before,
and a provider that fails before selling hands the purchase to the next (providers.routing).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from providers import routing as rules
from providers.base import ProviderError, ProviderRejected, ProviderUnavailable, Rental
from providers.registry import Guarded, get_provider
from providers.simulation import NUMBER_PLANS
from verifications.errors import NotAvailable
from verifications.models import Capability, Country, PricingSettings, ProviderOffer, Route, Service, Verification

log = logging.getLogger(__name__)
# Providers whose catalogue is not synced per country: an unknown cost is not "not sold".
WITHOUT_COUNTRY_CATALOGUE = {"textverified": {"US"}, "mock": set(NUMBER_PLANS)}


def min_margin() -> Decimal:
    return Decimal(str(getattr(settings, "MIN_MARGIN", "0.25")))


@dataclass(frozen=True)
class Candidate:
    name: str
    cost: Decimal | None = None  # what it charges us there (None: not synced)
    stock: int | None = None  # numbers on sale there (None: no figure)


@dataclass(frozen=True)
class Plan:
    service: Service
    country: Country
    capability: str
    price: Decimal
    candidates: tuple[Candidate, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # provider -> why it is not tried
    retry_after: int | None = None  # the soonest an open circuit lets a probe through

    @property
    def available(self) -> bool:
        return bool(self.candidates)

    @property
    def first(self) -> str:
        return self.candidates[0].name

    @property
    def stock(self) -> int | None:
        return self.candidates[0].stock if self.candidates else 0

    def cap(self, candidate: Candidate) -> Decimal:
        """The most we pay this provider: our price less the margin where its cost is known (that is
        how the price was set); the price itself where it is not, as before costs were synced."""
        if candidate.cost is None:
            return self.price
        return self.price - min_margin()

    def refusal(self) -> Exception:
        """Why nothing can be bought now, as the error the APIs already know."""
        reasons = set(self.skipped.values())
        where = f"{self.service.name} in {self.country.name}"
        if not self.skipped:
            return ProviderUnavailable(f"No provider serves {self.country.name} in this deployment.",
                                       code="no_provider_for_country")
        if "no numbers" in reasons:
            return ProviderRejected(f"No numbers for {where} right now; try again shortly.", code="no_numbers")
        if "circuit open" in reasons:
            return ProviderUnavailable("The number providers are failing; purchases are paused.", code="circuit_open",
                                       retry_after=self.retry_after)
        return NotAvailable(f"{where} is not available right now")


class Book:
    """Routes, offers and circuit states read once, for any number of plans."""

    def __init__(self, *, country: Country | None = None):
        routes = Route.objects.all()
        offers = ProviderOffer.objects.all()
        if country is not None:
            routes, offers = routes.filter(country=country), offers.filter(country=country)
        self._routes: dict[int, list[Route]] = {}
        for route in routes.order_by("position", "id"):
            self._routes.setdefault(route.country_id, []).append(route)
        self._offers: dict[tuple, ProviderOffer] = {}
        self._sells: set[tuple[str, int]] = set()
        for offer in offers:
            self._offers[(offer.provider, offer.service_id, offer.country_id, offer.capability)] = offer
            self._sells.add((offer.provider, offer.country_id))
        self._premium: Decimal | None = None
        self._circuits: dict[str, int | None] = {}

    # --- which providers, in which order ----------------------------------------------------------

    def order(self, country: Country) -> list[str]:
        """Staff's routes for the country when it has any, else the defaults; only usable providers."""
        routes = self._routes.get(country.pk)
        if routes:
            return rules.only_allowed(r.provider for r in routes if r.enabled)
        return rules.default_order(country.code, sells=lambda name: self.sells(name, country),
                                   simulated=country.provider == "mock")

    def routed_by_staff(self, country: Country) -> bool:
        return bool(self._routes.get(country.pk))

    def sells(self, name: str, country: Country) -> bool:
        if (name, country.pk) in self._sells:
            return True
        return country.code in WITHOUT_COUNTRY_CATALOGUE.get(name, ())

    def offer(self, name: str, service: Service, country: Country, capability: str) -> ProviderOffer | None:
        return self._offers.get((name, service.pk, country.pk, capability))

    def circuit(self, name: str) -> int | None:
        """Seconds until an open circuit may let a probe through; None while it is not open."""
        if name not in self._circuits:
            self._circuits[name] = rules.circuit_retry_after(name)
        return self._circuits[name]

    # --- prices -----------------------------------------------------------------------------------

    def base_price(self, service: Service, capability: str) -> Decimal:
        amount = service.tier.sms_price
        if capability == Capability.VOICE:
            if self._premium is None:
                self._premium = PricingSettings.current().voice_premium
            amount += self._premium
        return amount

    def plan(self, *, service: Service, country: Country, capability: str) -> Plan:
        base = self.base_price(service, capability)
        margin = min_margin()
        usable: list[Candidate] = []
        skipped: dict[str, str] = {}
        waits: list[int] = []
        price = base
        for name in self.order(country):
            offer = self.offer(name, service, country, capability)
            if offer is None and country.code not in WITHOUT_COUNTRY_CATALOGUE.get(name, ()):
                skipped[name] = "not sold"
                continue
            if offer is not None and offer.stock == 0:
                skipped[name] = "no numbers"
                continue
            wait = self.circuit(name)
            if wait is not None:
                skipped[name] = "circuit open"
                waits.append(wait)
                continue
            candidate = Candidate(name=name, cost=None if offer is None else offer.cost,
                                  stock=None if offer is None else offer.stock)
            if not usable:
                # The serving provider sets the floor: we never sell below its cost plus the margin.
                if candidate.cost is not None:
                    price = max(base, candidate.cost + margin)
            elif candidate.cost is not None and candidate.cost + margin > price:
                skipped[name] = "cost above our price"
                continue
            usable.append(candidate)
        return Plan(service=service, country=country, capability=capability, price=price,
                    candidates=tuple(usable), skipped=skipped, retry_after=min(waits) if waits else None)


def plan_for(*, service: Service, country: Country, capability: str) -> Plan:
    """One purchase's plan, read fresh (a few queries)."""
    return Book(country=country).plan(service=service, country=country, capability=capability)


def rent(plan: Plan, *, verification: Verification) -> tuple[Rental, Guarded]:
    """Rent through the plan's providers in order, recording on the verification the provider that
    is being asked (so a crash leaves reconcile the right one to ask). Raises the last provider's
    error when none sold, or at once when a failure may hide a sale."""
    Status = Verification.Status
    for index, candidate in enumerate(plan.candidates):
        if candidate.name != verification.provider:
            # Conditional: a verification settled meanwhile (reconcile, staff) is not bought for.
            moved = Verification.objects.filter(pk=verification.pk, status=Status.PENDING, provider_ref="").update(
                provider=candidate.name)
            if not moved:
                raise ProviderUnavailable("The purchase was settled while its number was being rented.",
                                          code="purchase_settled")
            verification.provider = candidate.name
        try:
            provider = get_provider(candidate.name)
            return provider.rent(service=plan.service.provider_service_name, capability=plan.capability,
                                 country=plan.country.code, max_price=plan.cap(candidate),
                                 idempotency_key=str(verification.pk)), provider
        except ProviderError as exc:
            if isinstance(exc, ProviderRejected) and exc.code == "no_numbers":
                # Sold out since the last sync: skipped unasked until the next one says otherwise.
                ProviderOffer.objects.filter(provider=candidate.name, service=plan.service, country=plan.country,
                                             capability=plan.capability).update(stock=0)
            if index == len(plan.candidates) - 1 or not rules.passes_on(exc):
                raise
            log.info("purchase %s: %s could not sell (%s), trying %s", verification.pk, candidate.name, exc.code,
                     plan.candidates[index + 1].name)
    raise plan.refusal()
