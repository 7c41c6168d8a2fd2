"""Health, metrics and /system/info per provider: every provider in use is probed and measured, and
/system/info lists each with the countries it serves."""
import pytest

from fakes.smsactivate.faults import Fault
from providers.breaker import breaker_for
from verifications.models import Country, Route
from verifications.tests.lifecycle import api_for, fake_textverified, fund, make_shop
from verifications.tests.routing_support import fake_smsactivate, sync_smsactivate


@pytest.fixture
def fakes(settings, db):
    settings.DEBUG = False
    with fake_textverified(settings, sms_delay=0) as textverified, fake_smsactivate(settings) as smsactivate:
        make_shop()
        sync_smsactivate()
        yield textverified, smsactivate


def test_info_lists_each_provider_with_the_countries_it_serves(fakes, client):
    body = client.get("/system/info").json()
    served = {row["name"]: row for row in body["providers"]}
    assert body["provider"] == "textverified" and body["providers"][0]["name"] == "textverified"
    assert served["textverified"] == {"name": "textverified", "primary": True, "countries": ["US"]}
    assert served["smsactivate"]["primary"] is False
    assert {"US", "GB", "IN", "ID"} <= set(served["smsactivate"]["countries"]) and "mock" not in served
    assert body["countries"] == len(served["smsactivate"]["countries"])
    assert "routing-smsa-key-SECRET" not in str(body)


def test_info_follows_staff_routes(fakes, client):
    us = Country.objects.get(code="US")
    Route.objects.create(country=us, provider="smsactivate", position=0)
    served = {row["name"]: row["countries"] for row in client.get("/system/info").json()["providers"]}
    assert "US" not in served["textverified"] and "US" in served["smsactivate"]


def test_health_checks_each_provider_and_degrades_when_the_second_fails(fakes, client):
    _, smsactivate = fakes
    body = client.get("/system/health").json()
    assert body["status"] == "healthy"
    assert {"provider:textverified", "provider:smsactivate"} <= set(body["components"])
    assert "provider:mock" not in body["components"]
    breaker_for("smsactivate").trip()
    body = client.get("/system/health").json()
    assert body["status"] == "degraded" and body["components"]["provider:smsactivate"]["status"] == "failing"
    assert body["components"]["provider:textverified"]["status"] == "ok"


def test_metrics_count_calls_per_provider(fakes, staff_client, alice):
    _, smsactivate = fakes
    fund(alice, "5.00")
    api = api_for(alice)
    assert api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                    format="json").status_code == 201
    assert api.post("/verify/create", {"service": "telegram", "country": "GB", "capability": "sms"},
                    format="json").status_code == 201
    smsactivate.fake.add_fault(Fault(action="getNumberV2", body="NO_NUMBERS"))
    assert api.post("/verify/create", {"service": "telegram", "country": "IN", "capability": "sms"},
                    format="json").status_code == 503
    providers = staff_client.get("/system/metrics").json()["providers"]
    assert providers["textverified"]["by_outcome"]["ok"] >= 1
    assert providers["smsactivate"]["by_outcome"]["ok"] >= 1 and providers["smsactivate"]["by_outcome"]["rejected"] >= 1
    text = staff_client.get("/system/metrics?format=prometheus").content.decode()
    assert 'namaskah_breaker_state{provider="smsactivate",state="closed"} 1.0' in text
