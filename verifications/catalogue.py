"""Upstream costs of our catalogue: refresh them from every provider, per country, and the margin they leave.

A provider with a per-country price table (the SMS-Activate protocol's getPrices) is read in one
call: its countries join our catalogue (with flag, dialling code and protocol id), and every
(service, country) it prices becomes a ProviderOffer with its cost and stock. A provider without one
(TextVerified, the mock) is quoted per service, for the countries it serves. The price floor
(verifications.routing) and routing's "has numbers" read these offers; nothing waits on this sync.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from providers.base import Provider, ProviderRejected
from providers.simulation import NUMBER_PLANS
from providers.smsactivate import codes
from verifications.models import Capability, Country, ProviderOffer, Service
from verifications.routing import Book
from verifications.selectors import price


@dataclass
class SyncReport:
    services: int = 0
    prices: int = 0
    countries: int = 0  # countries priced (per-country providers)
    added: list[str] = field(default_factory=list)  # ISO codes of countries added to our catalogue
    missing: list[str] = field(default_factory=list)  # "slug/capability" the upstream does not sell
    negative: list[str] = field(default_factory=list)  # "slug/capability cost X >= price Y"


def margin(*, service: Service, capability: str, country: Country | None = None) -> Decimal | None:
    """Our price minus the stored upstream cost; None when the cost is unknown. Zero or less loses money."""
    cost = service.provider_cost_voice if capability == Capability.VOICE else service.provider_cost_sms
    if cost is None:
        return None
    return price(service=service, country=country or _reference_country(), capability=capability) - cost


def synced_providers() -> list[str]:
    """The providers sync_services refreshes: the primary, and the second when it is configured."""
    names = ["mock" if settings.PROVIDER == "mock" else "textverified"]
    if settings.SMSACTIVATE_BASE_URL:
        names.append("smsactivate")
    return names


def sync_costs(*, provider: Provider, dry_run: bool = False) -> SyncReport:
    """Refresh one provider's costs and stock (unless dry_run). Raises ProviderUnavailable when the
    upstream cannot answer; nothing is written then."""
    if getattr(provider, "per_country", False):
        return _sync_per_country(provider=provider, dry_run=dry_run)
    return _sync_quoted(provider=provider, dry_run=dry_run)


def _sync_quoted(*, provider: Provider, dry_run: bool) -> SyncReport:
    """Quote every service+capability our catalogue sells; the costs are the provider's in each
    country it serves (TextVerified: the US; the mock: every country with a number plan)."""
    offered = {(o.name, o.capability): o for o in provider.services()}
    book = Book()
    report = SyncReport()
    updates: dict[int, dict] = {}
    quotes: list[tuple[Service, str, Decimal, int | None]] = []
    # Quote everything first, write after: an outage half-way leaves the stored costs untouched.
    for service in Service.objects.select_related("tier").order_by("slug"):
        report.services += 1
        fields = {}
        for capability in (Capability.SMS, Capability.VOICE):
            if not service.supports(capability):
                continue
            label = f"{service.slug}/{capability}"
            offer = offered.get((service.provider_service_name, capability))
            if offer is None:
                report.missing.append(label)
                continue
            try:
                cost = provider.quote(service=service.provider_service_name, capability=capability)
            except ProviderRejected:
                report.missing.append(label)
                continue
            fields["provider_cost_voice" if capability == Capability.VOICE else "provider_cost_sms"] = cost
            quotes.append((service, capability, cost, offer.stock))
            report.prices += 1
            ours = book.base_price(service, capability)
            if cost >= ours:
                report.negative.append(f"{label} cost {cost} >= price {ours}")
        if fields:
            updates[service.pk] = fields
    if dry_run:
        return report
    served = {"US"} if provider.name == "textverified" else set(NUMBER_PLANS)
    countries = list(Country.objects.filter(code__in=served))
    now = timezone.now()
    with transaction.atomic():
        for pk, fields in updates.items():
            Service.objects.filter(pk=pk).update(**fields, provider_cost_updated_at=now)
        rows = [(service, country, capability, cost, stock) for service, capability, cost, stock in quotes
                for country in countries]
        _replace_offers(provider.name, rows, now=now)
    return report


def _sync_per_country(*, provider, dry_run: bool) -> SyncReport:
    """One price table for every country the provider sells; its countries join our catalogue."""
    report = SyncReport()
    countries = provider.countries()
    table = provider.prices()
    book = Book()
    services = list(Service.objects.select_related("tier").order_by("slug"))
    by_code: dict[str, list[Service]] = {}
    for service in services:
        code = codes.upstream_code(service.provider_service_name)
        if code:
            by_code.setdefault(code, []).append(service)
    report.services = len(services)
    known = {c.code: c for c in Country.objects.all()}
    report.added = sorted(c.code for c in countries if c.code not in known and c.code in codes.DIALLING_CODES)
    priced_countries = {row.country for row in table}
    report.countries = len(priced_countries)
    sold = {(s.pk, row.country) for row in table for s in by_code.get(row.upstream_code, [])}
    for service in services:
        if service.supports_sms and not any(pk == service.pk for pk, _ in sold):
            report.missing.append(f"{service.slug}/sms")
    if dry_run:
        report.prices = len(sold)
        return report
    now = timezone.now()
    with transaction.atomic():
        for info in countries:
            if info.code in report.added:
                # Shown beside the seed's countries, after them; staff can reorder or disable it.
                known[info.code] = Country.objects.create(
                    code=info.code, name=info.name[:64], dialling_code=codes.DIALLING_CODES[info.code],
                    provider=provider.name, order=200, protocol_id=_free_protocol_id(info.code))
            elif info.code in known and known[info.code].protocol_id is None:
                # Reachable on our own SMS-Activate endpoint too, under the protocol's id (if free).
                number = _free_protocol_id(info.code)
                if number is not None:
                    Country.objects.filter(pk=known[info.code].pk).update(protocol_id=number)
        rows = []
        for row in table:
            country = known.get(row.country)
            if country is None:
                continue
            for service in by_code.get(row.upstream_code, []):
                rows.append((service, country, Capability.SMS, row.cost, row.count))
                ours = book.base_price(service, Capability.SMS)
                if row.cost >= ours:
                    report.negative.append(f"{service.slug}/sms in {row.country} cost {row.cost} >= price {ours}")
        report.prices = len(rows)
        _replace_offers(provider.name, rows, now=now)
    return report


def _replace_offers(name: str, rows, *, now) -> None:
    """The provider's offers become exactly `rows`: what it no longer sells stops being routed to it."""
    keep = set()
    for service, country, capability, cost, stock in rows:
        offer, _ = ProviderOffer.objects.update_or_create(
            provider=name, service=service, country=country, capability=capability,
            defaults={"cost": cost, "stock": stock, "updated_at": now})
        keep.add(offer.pk)
    ProviderOffer.objects.filter(provider=name).exclude(pk__in=keep).delete()


def _free_protocol_id(code: str) -> int | None:
    number = codes.country_id(code)
    if number is None or Country.objects.filter(protocol_id=number).exists():
        return None
    return number


def _reference_country() -> Country | None:
    # Service.provider_cost_* are the primary provider's costs, and TextVerified sells the US only.
    return Country.objects.filter(code="US").first() or Country.objects.order_by("order").first()
