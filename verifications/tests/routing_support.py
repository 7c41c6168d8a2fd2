"""Builders for the routing tests: the fake SMS-Activate-protocol provider over HTTP, with the settings
pointing the real client at it, and its catalogue synced into ours."""
from __future__ import annotations

from contextlib import contextmanager

from providers.registry import get_provider
from verifications.catalogue import sync_costs

SMSA_KEY = "routing-smsa-key-SECRET"


@contextmanager
def fake_smsactivate(settings, **options):
    """The fake provider on a free port; SMSACTIVATE_* point the real client at it (no retry sleeps)."""
    from fakes.smsactivate import start_fake_smsactivate

    server = start_fake_smsactivate(api_key=SMSA_KEY, **options)
    settings.SMSACTIVATE_BASE_URL = server.base_url
    settings.SMSACTIVATE_API_KEY = SMSA_KEY
    settings.SMSACTIVATE_NAME = "Fake SMS-Activate"
    settings.SMSACTIVATE_BACKOFF_FACTOR = 0
    settings.SMSACTIVATE_READ_TIMEOUT = 2
    settings.SMSACTIVATE_MAX_RETRIES = 1
    try:
        yield server
    finally:
        server.stop()


def sync_smsactivate():
    """What `sync_services` does for the second provider: its countries, costs and stock."""
    return sync_costs(provider=get_provider("smsactivate"))


def activation(server, verification):
    """The fake's activation behind one of our verifications."""
    verification.refresh_from_db()
    return server.fake.activation(int(verification.provider_ref))
