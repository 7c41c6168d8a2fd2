"""max_price on POST /verify/create (issue 16 item 3): inclusive; above it, 409 price_above_max with
nothing charged and nothing asked of the provider. The protocol's maxPrice goes through the same
check (smsactivate_api/tests/test_buying.py)."""
from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from verifications.models import Verification
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop


@pytest.fixture
def fake(settings):
    with fake_textverified(settings, sms_delay=None) as server:
        yield server


@pytest.fixture
def shop(db):
    return make_shop()


def create(user, **extra):
    return api_for(user).post("/verify/create", {"service": "whatsapp", "country": "US", "capability": "sms", **extra},
                              format="json")


def reached(server) -> int:
    with server.fake.lock:
        return sum(server.fake.requests.values())


@pytest.mark.parametrize("cap", ["1.49", 1.4, "0.01"])
def test_a_price_above_max_price_is_409_and_buys_nothing(fake, shop, alice, cap):
    fund(alice, "5.00")
    response = create(alice, max_price=cap)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "price_above_max" and error["price"] == "1.50"
    assert Decimal(error["max_price"]) == Decimal(str(cap))
    assert balance(alice) == Decimal("5.00") and not Verification.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()
    assert reached(fake) == 0


@pytest.mark.parametrize("cap", ["1.50", 1.5, "2", 10])
def test_a_price_equal_to_or_below_max_price_buys(fake, shop, alice, cap):
    fund(alice, "5.00")
    response = create(alice, max_price=cap)
    assert response.status_code == 201, response.json()
    assert balance(alice) == Decimal("3.50") and Verification.objects.get().price == Decimal("1.50")


@pytest.mark.parametrize("cap", ["0", "-1", "1.505", "abc", "", None])
def test_a_bad_max_price_is_a_field_error_and_costs_nothing(shop, alice, cap):
    fund(alice, "5.00")
    response = create(alice, max_price=cap)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["max_price"]
    assert balance(alice) == Decimal("5.00") and not Verification.objects.exists()


def test_without_max_price_nothing_changes(fake, shop, alice):
    fund(alice, "5.00")
    assert create(alice).status_code == 201
    assert api_for(alice).get("/pricing/quote", {"service": "whatsapp", "country": "US", "capability": "sms",
                                                 "max_price": "0.01"}).json()["price"] == "1.50"
