"""A small shop on the mock provider, with the protocol's ids, and alice's API key."""
from __future__ import annotations

import pytest

from accounts import services as accounts
from verifications.models import Country, Service
from verifications.tests.lifecycle import make_shop

PATH = "/stubs/handler_api.php"


@pytest.fixture
def shop(db, settings):
    # The mock delivers nothing by itself here: SMS arrive when a test records one (as a webhook would).
    settings.PROVIDER = "mock"
    settings.MOCK_SMS_DELAY = 3600
    settings.RATELIMIT_ENABLE = False
    shop = make_shop()
    Country.objects.filter(code="US").update(protocol_id=187)
    Country.objects.filter(code="GB").update(protocol_id=16)
    Service.objects.filter(slug="whatsapp").update(protocol_code="wa")
    Service.objects.filter(slug="telegram").update(protocol_code="tg")
    for name in shop:
        shop[name].refresh_from_db()
    return shop


@pytest.fixture
def key(alice) -> str:
    return accounts.create_api_key(user=alice, name="bot")[1]


@pytest.fixture
def bob_key(bob) -> str:
    return accounts.create_api_key(user=bob, name="bob's bot")[1]


@pytest.fixture
def proto(client, key):
    """proto(action=..., **params) -> (body, response): a GET with alice's key unless api_key is given."""

    def call(method: str = "get", **params):
        params.setdefault("api_key", key)
        if params["api_key"] is None:
            del params["api_key"]
        response = getattr(client, method)(PATH, params)
        assert response.status_code == 200
        return response.content.decode(), response

    return call


@pytest.fixture
def fake_tv(shop, settings):
    """The fake TextVerified over HTTP behind the real client, for the US: it counts what reaches it."""
    from verifications.tests.lifecycle import fake_textverified

    with fake_textverified(settings, sms_delay=None) as server:
        yield server


def reached(server) -> int:
    with server.fake.lock:
        return sum(server.fake.requests.values())


def sms(verification, *, text: str, code: str | None, seconds_after: float = 1.0, sms_id: str | None = None):
    """Store an SMS through the services, as a provider's webhook would."""
    from datetime import timedelta

    from providers.base import Sms
    from verifications import services

    sent = verification.created_at + timedelta(seconds=seconds_after)
    return services.record_received(verification, [Sms(id=sms_id or f"sms-{sent.timestamp()}", sender="22000",
                                                       text=text, code=code, received_at=sent)])
