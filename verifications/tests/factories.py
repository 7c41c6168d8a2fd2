"""Plain builders for test data; the conftest fixtures in accounts/tests and verifications/tests wrap them."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from verifications.models import Capability, Country, PricingTier, ProviderName, Service, Verification


@dataclass
class Catalogue:
    tier: PricingTier
    service: Service
    country: Country


def make_catalogue() -> Catalogue:
    tier = PricingTier.objects.create(name="Standard", sms_price=Decimal("1.00"), order=2)
    service = Service.objects.create(slug="telegram", name="Telegram", provider_service_name="telegram", tier=tier)
    country = Country.objects.create(code="US", name="United States", dialling_code="+1",
                                     provider=ProviderName.TEXTVERIFIED, order=0)
    return Catalogue(tier=tier, service=service, country=country)


def make_verification(*, user, catalogue: Catalogue, price: Decimal | str = "1.00", capability: str = Capability.SMS,
                      **fields) -> Verification:
    """A bare Verification row (no charge): money tests charge it themselves through the services."""
    return Verification.objects.create(
        user=user, service=catalogue.service, country=catalogue.country, capability=capability,
        provider=catalogue.country.provider, price=Decimal(price), **fields,
    )
