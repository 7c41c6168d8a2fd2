"""sync_services: upstream costs into the catalogue, negative margins reported, outages refused."""
from decimal import Decimal

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError

from verifications.catalogue import margin
from providers.tests.support import API, API_KEY, BASE, USERNAME, add_auth
from verifications.models import Country, PricingSettings, PricingTier, Service


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def catalogue(db):
    PricingSettings.current()  # voice premium 0.30
    standard = PricingTier.objects.create(name="Standard", sms_price=Decimal("1.00"))
    premium = PricingTier.objects.create(name="Premium", sms_price=Decimal("1.50"))
    Country.objects.create(code="US", name="United States", dialling_code="+1", provider="textverified")
    return {
        "discord": Service.objects.create(slug="discord", name="Discord", provider_service_name="discord", tier=standard),
        "whatsapp": Service.objects.create(slug="whatsapp", name="WhatsApp", provider_service_name="whatsapp",
                                           tier=premium),
        "facebook": Service.objects.create(slug="facebook", name="Facebook", provider_service_name="facebook",
                                           tier=standard, supports_sms=False),
        "gone": Service.objects.create(slug="gone", name="Gone", provider_service_name="gone", tier=standard,
                                       supports_voice=False),
    }


def test_it_stores_costs_and_reports_negative_margins_with_the_mock(catalogue, settings, capsys):
    settings.PROVIDER = "mock"
    call_command("sync_services")
    out, err = capsys.readouterr()
    discord = Service.objects.get(slug="discord")
    assert (discord.provider_cost_sms, discord.provider_cost_voice) == (Decimal("0.50"), Decimal("1.00"))
    assert discord.provider_cost_updated_at is not None
    assert Service.objects.get(slug="whatsapp").provider_cost_sms == Decimal("1.50")
    assert "negative margin: whatsapp/sms cost 1.50 >= price 1.50" in err
    assert "not sold upstream: gone/sms" in err
    assert out.strip().splitlines() == [
        "sync_services: 4 services, 5 prices updated from mock, 1 at or above our price, 1 not sold upstream"]
    assert margin(service=discord, capability="sms") == Decimal("0.50")
    assert margin(service=discord, capability="voice") == Decimal("0.30")
    assert margin(service=Service.objects.get(slug="gone"), capability="sms") is None


def test_dry_run_writes_nothing(catalogue, settings, capsys):
    settings.PROVIDER = "mock"
    call_command("sync_services", "--dry-run")
    assert "(dry run)" in capsys.readouterr().out
    assert not Service.objects.filter(provider_cost_updated_at__isnull=False).exists()


def configure_textverified(settings):
    settings.PROVIDER = "textverified"
    settings.TEXTVERIFIED_BASE_URL = BASE
    settings.TEXTVERIFIED_API_KEY = API_KEY
    settings.TEXTVERIFIED_EMAIL = USERNAME
    settings.TEXTVERIFIED_MAX_RETRIES = 0


def test_it_quotes_textverified_per_service_and_capability(catalogue, settings, rsps, capsys):
    configure_textverified(settings)
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/services", json=[
        {"serviceName": "discord", "capability": "sms"}, {"serviceName": "discord", "capability": "voice"},
        {"serviceName": "whatsapp", "capability": "sms"}, {"serviceName": "whatsapp", "capability": "voice"},
        {"serviceName": "facebook", "capability": "voice"}])
    prices = {("discord", "sms"): 0.5, ("discord", "voice"): 2.5, ("whatsapp", "sms"): 1.5,
              ("whatsapp", "voice"): 2.5, ("facebook", "voice"): 2.5}
    for (name, capability), amount in prices.items():
        rsps.add(responses.POST, f"{API}/pricing/verifications", json={"serviceName": name, "price": amount},
                 match=[responses.matchers.json_params_matcher(
                     {"serviceName": name, "capability": capability}, strict_match=False)])
    call_command("sync_services")
    _, err = capsys.readouterr()
    assert Service.objects.get(slug="discord").provider_cost_voice == Decimal("2.50")
    # Real voice prices are above what we charge: every voice offer loses money.
    assert err.count("negative margin") == 4
    assert len([c for c in rsps.calls if "pricing" in c.request.url]) == 5


def test_it_exits_1_and_changes_nothing_when_the_upstream_is_unavailable(catalogue, settings, rsps):
    configure_textverified(settings)
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/services", json=[{"serviceName": "discord", "capability": "sms"}])
    rsps.add(responses.POST, f"{API}/pricing/verifications", status=503, headers={"Retry-After": "30"})
    with pytest.raises(CommandError) as caught:
        call_command("sync_services")
    assert caught.value.returncode == 1
    assert "textverified is unavailable" in str(caught.value) and "retry in 30s" in str(caught.value)
    assert not Service.objects.filter(provider_cost_updated_at__isnull=False).exists()
