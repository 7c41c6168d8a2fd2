"""Done when: with DEBUG off against the two fakes (TextVerified and the SMS-Activate-protocol
provider), a customer buys real-format numbers in at least ten countries from the dashboard, the
JSON API and the SMS-Activate-compatible endpoint."""
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts import services as accounts
from verifications.models import Country, Verification
from verifications.tests.lifecycle import fake_textverified
from verifications.tests.routing_support import fake_smsactivate

# E.164 digits (country code included) of a mobile number in each country's own plan.
LENGTHS = {"US": 11, "CA": 11, "GB": 12, "DE": 13, "FR": 11, "MX": 12, "NL": 11, "ES": 11, "PL": 11, "IN": 12,
           "BR": 13, "AU": 11, "ID": 12}


@pytest.fixture
def platform(settings, db):
    settings.DEBUG = False
    with fake_textverified(settings, sms_delay=0), fake_smsactivate(settings):
        call_command("seed_demo", stdout=open("/dev/null", "w"))
        call_command("sync_services", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
        yield


def customer(email: str) -> User:
    user = User.objects.create_user(email, "correct-horse-battery")
    accounts.credit(user=user, amount="50.00", memo="test funds")
    return user


def real_countries() -> list[Country]:
    rows = APIClient().get("/countries").json()
    codes = [row["code"] for row in rows if row["available"] and not row["simulated"]]
    assert all(row["providers"] and "mock" not in row["providers"] for row in rows if row["available"])
    return list(Country.objects.filter(code__in=codes))


def assert_real_format(country: Country, phone: str, *, provider: str) -> None:
    digits = phone.removeprefix("+")
    assert phone.startswith("+") and digits.isdigit(), phone
    assert digits.startswith(country.dialling_code.removeprefix("+")) and len(digits) == LENGTHS[country.code], phone
    assert provider in ("textverified", "smsactivate")


def test_ten_or_more_countries_are_real_and_none_simulated(platform):
    countries = real_countries()
    assert len(countries) >= 10
    assert {"US", "GB", "IN", "ID"} <= {c.code for c in countries}  # ID: sold by the provider, added by the sync


def test_the_json_api_buys_real_numbers_in_every_real_country(platform):
    user = customer("json@example.com")
    api = APIClient()
    key = api.post("/auth/token", {"email": user.email, "password": "correct-horse-battery"}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.json()['access']}")
    for country in real_countries():
        response = api.post("/verify/create", {"service": "whatsapp", "country": country.code, "capability": "sms"},
                            format="json")
        assert response.status_code == 201, (country.code, response.json())
        verification = Verification.objects.get(pk=response.json()["id"])
        assert_real_format(country, response.json()["phone_number"], provider=verification.provider)


def test_the_sms_activate_endpoint_buys_real_numbers_in_every_real_country(platform, client):
    user = customer("protocol@example.com")
    api = APIClient()
    api.force_authenticate(user)
    key = api.post("/auth/api-keys", {"name": "bot"}, format="json").json()["key"]
    for country in real_countries():
        answer = client.get("/stubs/handler_api.php", {"api_key": key, "action": "getNumber", "service": "wa",
                                                       "country": country.protocol_id}).content.decode()
        match = re.fullmatch(r"ACCESS_NUMBER:(\d+):(\d+)", answer)
        assert match, (country.code, answer)
        verification = Verification.objects.get(activation_id=int(match.group(1)))
        assert verification.country == country
        assert_real_format(country, "+" + match.group(2), provider=verification.provider)
    prices = client.get("/stubs/handler_api.php", {"action": "getPrices", "service": "wa"}).json()
    assert len(prices) >= 10 and all(row["wa"]["count"] > 0 for row in prices.values())


def test_the_dashboard_offers_and_buys_real_numbers_in_every_real_country(platform, client):
    user = customer("dashboard@example.com")
    client.force_login(user)
    page = client.get(reverse("dashboard"))
    html = page.content.decode()
    countries = real_countries()
    prices = page.context["prices"]
    for country in countries:
        option = re.search(rf'<option value="{country.code}"[^>]*>[^<]*</option>', html).group(0)
        assert 'data-simulated=""' in option and "· simulated" not in option and "unavailable" not in option, option
        assert not re.search(r"\sdisabled[\s>]", option), option
        assert prices[country.code]["whatsapp"][0], country.code  # a price shown for that country
        # What static/js/dashboard.js sends: the JSON API with the session (and its CSRF token).
        response = client.post("/verify/create", {"service": "whatsapp", "country": country.code,
                                                  "capability": "sms"}, content_type="application/json")
        assert response.status_code == 201, (country.code, response.json())
        assert response.json()["price"] == prices[country.code]["whatsapp"][0]  # the price shown is charged
        verification = Verification.objects.get(pk=response.json()["id"])
        assert_real_format(country, response.json()["phone_number"], provider=verification.provider)
    cards = client.get(reverse("dashboard")).context["active"]
    assert sorted(card["country"] for card in cards) == sorted(c.code for c in countries)
