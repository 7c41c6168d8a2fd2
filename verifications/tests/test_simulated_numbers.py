"""A purchase in a simulated country gets a number of that country, for every country of the demo
catalogue: the country reaches the provider (services.purchase → Guarded → mock)."""
import io

import pytest
from django.core.management import call_command

from verifications import seed
from verifications.models import Country, Service, Verification
from verifications.services import purchase
from verifications.tests.lifecycle import api_for, fund


@pytest.fixture
def demo(db, settings):
    settings.PROVIDER = "mock"
    call_command("seed_demo", stdout=io.StringIO())


@pytest.mark.parametrize("code", [row[0] for row in seed.COUNTRIES])
def test_each_demo_country_gets_a_number_with_its_own_dialling_code(demo, alice, code):
    fund(alice, "5.00")
    country = Country.objects.get(code=code)
    verification, created = purchase(user=alice, service=Service.objects.get(slug="telegram"), country=country,
                                     capability="sms", idempotency_key=f"key-{code}")
    verification.refresh_from_db()
    assert created and verification.status == Verification.Status.PENDING
    assert verification.phone_number.startswith(country.dialling_code), verification.phone_number
    if code == "CA":  # +1 as the US, but Canada's own area codes
        assert verification.phone_number[2:5] in {"416", "604", "514", "403", "613", "780", "902", "204"}


def test_the_api_sells_a_uk_number_from_ofcoms_drama_range(demo, alice):
    fund(alice, "5.00")
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "GB", "capability": "sms"},
                                   format="json")
    assert response.status_code == 201, response.content
    number = response.json()["phone_number"]
    assert number.startswith("+447700900") and len(number) == 13
    assert Verification.objects.get(pk=response.json()["id"]).phone_number == number
