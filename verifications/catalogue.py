"""Upstream costs of our catalogue: refresh them from the provider, and the margin they leave."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from providers.base import Provider, ProviderRejected
from verifications.models import Capability, Country, Service
from verifications.selectors import price


@dataclass
class SyncReport:
    services: int = 0
    prices: int = 0
    missing: list[str] = field(default_factory=list)  # "slug/capability" the upstream does not sell
    negative: list[str] = field(default_factory=list)  # "slug/capability cost X >= price Y"


def margin(*, service: Service, capability: str, country: Country | None = None) -> Decimal | None:
    """Our price minus the stored upstream cost; None when the cost is unknown. Zero or less loses money."""
    cost = service.provider_cost_voice if capability == Capability.VOICE else service.provider_cost_sms
    if cost is None:
        return None
    return price(service=service, country=country or _reference_country(), capability=capability) - cost


def sync_costs(*, provider: Provider, dry_run: bool = False) -> SyncReport:
    """Quote every service+capability our catalogue sells and store the costs (unless dry_run).
    Raises ProviderUnavailable when the upstream cannot answer; nothing is written then."""
    offered = {(o.name, o.capability) for o in provider.services()}
    country = _reference_country()
    report = SyncReport()
    updates: dict[int, dict] = {}
    # Quote everything first, write after: an outage half-way leaves the stored costs untouched.
    for service in Service.objects.select_related("tier").order_by("slug"):
        report.services += 1
        fields = {}
        for capability in (Capability.SMS, Capability.VOICE):
            if not service.supports(capability):
                continue
            label = f"{service.slug}/{capability}"
            if (service.provider_service_name, capability) not in offered:
                report.missing.append(label)
                continue
            try:
                cost = provider.quote(service=service.provider_service_name, capability=capability)
            except ProviderRejected:
                report.missing.append(label)
                continue
            fields["provider_cost_voice" if capability == Capability.VOICE else "provider_cost_sms"] = cost
            report.prices += 1
            ours = price(service=service, country=country, capability=capability)
            if cost >= ours:
                report.negative.append(f"{label} cost {cost} >= price {ours}")
        if fields:
            updates[service.pk] = fields
    if not dry_run:
        now = timezone.now()
        for pk, fields in updates.items():
            Service.objects.filter(pk=pk).update(**fields, provider_cost_updated_at=now)
    return report


def _reference_country() -> Country | None:
    # price() does not vary by country yet; the US is TextVerified's only market.
    return Country.objects.filter(code="US").first() or Country.objects.order_by("order").first()
