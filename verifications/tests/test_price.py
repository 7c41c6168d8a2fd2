from decimal import Decimal

import pytest

from verifications import seed
from verifications.models import Capability, Country, PricingSettings, PricingTier, Service
from verifications.selectors import price


@pytest.fixture
def tiers(db):
    return {name: PricingTier.objects.create(name=name, sms_price=amount, order=order) for name, amount, order in seed.TIERS}


@pytest.fixture
def country(db):
    return Country.objects.create(code="US", name="United States", dialling_code="+1")


def service_in(tier):
    return Service.objects.create(slug=tier.name.lower(), name=tier.name, provider_service_name="x", tier=tier)


@pytest.mark.parametrize("tier, capability, expected", [
    ("High-Demand", Capability.SMS, "0.75"),
    ("High-Demand", Capability.VOICE, "1.05"),
    ("Standard", Capability.SMS, "1.00"),
    ("Standard", Capability.VOICE, "1.30"),
    ("Premium", Capability.SMS, "1.50"),
    ("Premium", Capability.VOICE, "1.80"),
])
def test_it_prices_every_tier_and_capability(tiers, country, tier, capability, expected):
    assert price(service=service_in(tiers[tier]), country=country, capability=capability) == Decimal(expected)


def test_it_follows_a_changed_voice_premium(tiers, country):
    service = service_in(tiers["Standard"])
    PricingSettings.objects.update_or_create(pk=1, defaults={"voice_premium": Decimal("0.45")})
    assert price(service=service, country=country, capability=Capability.VOICE) == Decimal("1.45")
    assert price(service=service, country=country, capability=Capability.SMS) == Decimal("1.00")


def test_it_follows_a_changed_tier_price(tiers, country):
    service = service_in(tiers["Premium"])
    PricingTier.objects.filter(pk=tiers["Premium"].pk).update(sms_price=Decimal("2.00"))
    service.refresh_from_db()
    assert price(service=service, country=country, capability=Capability.SMS) == Decimal("2.00")
    assert price(service=service, country=country, capability=Capability.VOICE) == Decimal("2.30")
