"""The TextVerified v2 client: `TextVerifiedClient` implements providers.base.Provider."""
from providers.textverified.client import TextVerifiedClient

__all__ = ["TextVerifiedClient"]
