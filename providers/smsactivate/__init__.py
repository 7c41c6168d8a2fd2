"""A client for providers that speak the SMS-Activate protocol: `SmsActivateClient` implements
providers.base.Provider for many countries. The protocol's ids live in `codes` (no Django, no network)."""
from providers.smsactivate.client import Recovery, SmsActivateClient

__all__ = ["Recovery", "SmsActivateClient"]
