"""Reads with rules in them: prices and what a user may see."""
from __future__ import annotations

from decimal import Decimal

from accounts.money import money_str
from verifications.models import Capability, Country, PricingSettings, Service, Verification


def price(*, service: Service, country: Country | None, capability: str, voice_premium: Decimal | None = None) -> Decimal:
    """What the customer pays: the service's tier price, plus the voice premium for voice.

    The one pricing function: the API quote, the dashboard and the purchase all call it, so the
    price shown is the price charged. (Country does not change the price yet.)
    """
    amount = service.tier.sms_price
    if capability == Capability.VOICE:
        amount += PricingSettings.current().voice_premium if voice_premium is None else voice_premium
    return amount


def verifications_for(*, user, status: str | None = None, service: str | None = None):
    rows = Verification.objects.filter(user=user).select_related("service", "country").order_by("-created_at")
    if status:
        rows = rows.filter(status=status)
    if service:
        rows = rows.filter(service__slug=service)
    return rows


def service_catalogue() -> list[dict]:
    """Enabled services with their tier and price per capability (None where not offered)."""
    premium = PricingSettings.current().voice_premium
    rows = []
    for service in Service.objects.filter(enabled=True).select_related("tier").order_by("tier__order", "name"):
        sms = price(service=service, country=None, capability=Capability.SMS)
        rows.append({
            "slug": service.slug, "name": service.name, "tier": service.tier.name,
            "capabilities": [c for c, ok in (("sms", service.supports_sms), ("voice", service.supports_voice)) if ok],
            "prices": {"sms": money_str(sms) if service.supports_sms else None,
                       "voice": money_str(price(service=service, country=None, capability=Capability.VOICE,
                                                voice_premium=premium)) if service.supports_voice else None},
        })
    return rows


def country_catalogue() -> list[dict]:
    """Enabled countries; a country served by the development mock says so (`simulated`)."""
    from providers.base import ProviderUnavailable
    from providers.registry import for_country

    rows = []
    for country in Country.objects.filter(enabled=True):
        try:
            provider = for_country(country).name
            available = True
        except ProviderUnavailable:
            provider, available = country.provider, False
        rows.append({"code": country.code, "name": country.name, "dialling_code": country.dialling_code,
                     "flag": country.flag, "provider": provider, "available": available,
                     "simulated": provider == "mock"})
    return rows


def latest_code(entries) -> str | None:
    """The code of the latest (received_at, id, code) entry that has one, or None. The one rule for
    "the code" shown by the API, the polling read and the dashboard."""
    coded = [entry for entry in entries if entry[2]]
    return max(coded)[2] if coded else None


def newest_code(items) -> str | None:
    """latest_code() of fetched messages or calls. Works on rows already loaded, so the dashboard
    cards spend no query on it."""
    return latest_code((item.received_at, item.pk, item.code) for item in items)
