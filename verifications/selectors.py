"""Reads with rules in them: prices and what a user may see."""
from __future__ import annotations

from decimal import Decimal

from verifications.models import Capability, Country, PricingSettings, Service


def price(*, service: Service, country: Country, capability: str) -> Decimal:
    """What the customer pays: the service's tier price, plus the voice premium for voice.

    The one pricing function: the API quote, the dashboard and the purchase all call it, so the
    price shown is the price charged. (Country does not change the price yet.)
    """
    amount = service.tier.sms_price
    if capability == Capability.VOICE:
        amount += PricingSettings.current().voice_premium
    return amount
