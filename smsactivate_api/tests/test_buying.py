"""getNumber and getNumberV2 (contract §5 "Buying"): the JSON API's purchase, its money rules,
idempotency, rate limits and errors, in the protocol's words."""
import json
import re
from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from smsactivate_api.tests.conftest import reached
from verifications import services
from verifications.models import Verification
from verifications.tests.factories import Catalogue, make_verification
from verifications.tests.lifecycle import api_for, balance, fund


def charges(user) -> int:
    return LedgerEntry.objects.filter(account__user=user, kind=LedgerEntry.Kind.CHARGE).count()


def test_get_number_buys_through_the_json_apis_purchase(shop, alice, proto):
    fund(alice, "5.00")
    body, _ = proto(action="getNumber", service="wa", country="187")
    match = re.fullmatch(r"ACCESS_NUMBER:(\d+):(\d+)", body)
    assert match
    verification = Verification.objects.get(activation_id=int(match.group(1)))
    assert verification.user == alice and verification.service.slug == "whatsapp" and verification.country.code == "US"
    assert verification.capability == "sms" and verification.status == "pending"
    assert "+" + match.group(2) == verification.phone_number
    assert balance(alice) == Decimal("3.50") and charges(alice) == 1
    # The JSON API shows the same object with the same integer id.
    assert api_for(alice).get(f"/verify/{verification.pk}").json()["activation_id"] == verification.activation_id


def test_get_number_v2_answers_the_documented_json_with_its_types(shop, alice, proto):
    fund(alice, "5.00")
    body, response = proto(action="getNumberV2", service="telegram", country="16")
    assert response["Content-Type"] == "application/json"
    assert '"activationCost":1.00' in body  # a number with its two decimals
    data = json.loads(body)
    verification = Verification.objects.get(activation_id=data["activationId"])
    assert isinstance(data["activationId"], int)
    assert data["phoneNumber"] == verification.phone_number.lstrip("+") and isinstance(data["phoneNumber"], str)
    assert data["activationCost"] == 1.0 and data["currency"] == 840
    assert data["countryCode"] == "16" and data["countryPhoneCode"] == 44 and data["canGetAnotherSms"] is True
    assert data["activationOperator"] == "any"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", data["activationTime"])
    assert data["activationEndTime"] == verification.expires_at.strftime("%Y-%m-%d %H:%M:%S")


def test_the_service_is_matched_by_code_then_by_slug(shop, alice, proto):
    fund(alice, "10.00")
    assert proto(action="getNumber", service="whatsapp")[0].startswith("ACCESS_NUMBER:")
    assert proto(action="getNumber", service="WA")[0].startswith("ACCESS_NUMBER:")
    assert proto(action="getNumber", service="test-pending")[0].startswith("ACCESS_NUMBER:")  # no code: its slug
    slugs = list(Verification.objects.order_by("created_at").values_list("service__slug", flat=True))
    assert slugs == ["whatsapp", "whatsapp", "test-pending"]


@pytest.mark.parametrize("service", [None, "zz", "netflix", "full"])
def test_an_unknown_service_is_bad_service_and_costs_nothing(shop, alice, proto, service):
    fund(alice, "5.00")
    params = {"action": "getNumber"} | ({"service": service} if service else {})
    assert proto(**params)[0] == "BAD_SERVICE"
    assert balance(alice) == Decimal("5.00") and not Verification.objects.exists()


def test_a_disabled_service_or_one_without_the_capability_is_bad_service(shop, alice, proto):
    fund(alice, "5.00")
    shop["telegram"].enabled = False
    shop["telegram"].save()
    assert proto(action="getNumber", service="tg")[0] == "BAD_SERVICE"
    assert proto(action="getNumber", service="paypal")[0] == "BAD_SERVICE"  # voice only
    assert proto(action="getNumber", service="paypal", activationType="2")[0].startswith("ACCESS_NUMBER:")
    assert Verification.objects.get().capability == "voice"


@pytest.mark.parametrize("country", ["0", "12", "999", "russia", "-1"])
def test_a_country_we_do_not_sell_is_bad_country(shop, alice, proto, country):
    fund(alice, "5.00")
    assert proto(action="getNumber", service="wa", country=country)[0] == "BAD_COUNTRY"
    assert balance(alice) == Decimal("5.00")


def test_no_country_or_any_buys_in_the_first_country_of_the_catalogue(shop, alice, proto):
    fund(alice, "5.00")
    proto(action="getNumber", service="tg")
    proto(action="getNumber", service="tg", country="any")
    assert set(Verification.objects.values_list("country__code", flat=True)) == {"US"}


def test_countries_not_sold_in_production_are_bad_country(shop, alice, proto, settings):
    # GB is served by the development mock: with DEBUG off it cannot be bought, so it is not offered.
    settings.DEBUG, settings.PROVIDER = False, "textverified"
    fund(alice, "5.00")
    assert proto(action="getNumber", service="wa", country="16")[0] == "BAD_COUNTRY"
    assert json.loads(proto(action="getCountries")[0]).keys() == {"187"}


def test_a_country_without_a_protocol_id_is_not_offered(shop, alice, proto):
    shop["gb"].protocol_id = None
    shop["gb"].save()
    assert json.loads(proto(action="getCountries")[0]).keys() == {"187"}


@pytest.mark.parametrize("operator", ["tmobile", "att,verizon", "mts"])
def test_an_operator_other_than_any_is_wrong_operator(shop, alice, proto, operator):
    fund(alice, "5.00")
    assert proto(action="getNumber", service="wa", operator=operator)[0] == "WRONG_OPERATOR"
    assert proto(action="getNumber", service="wa", operator="any")[0].startswith("ACCESS_NUMBER:")


def test_activation_types(shop, alice, proto):
    fund(alice, "10.00")
    assert proto(action="getNumber", service="tg", activationType="0")[0].startswith("ACCESS_NUMBER:")
    assert proto(action="getNumber", service="tg", activationType="2")[0].startswith("ACCESS_NUMBER:")
    assert proto(action="getNumber", service="tg", activationType="1")[0] == "NO_NUMBERS"
    assert proto(action="getNumber", service="tg", activationType="5")[0] == "ERROR_SQL"
    assert sorted(Verification.objects.values_list("capability", "price")) == [("sms", Decimal("1.00")),
                                                                                ("voice", Decimal("1.30"))]


def test_no_balance_charges_nothing_and_buys_nothing(shop, alice, proto, fake_tv):
    fund(alice, "1.00")
    assert proto(action="getNumber", service="wa")[0] == "NO_BALANCE"
    assert proto(action="getNumberV2", service="wa")[0] == "NO_BALANCE"
    assert balance(alice) == Decimal("1.00") and charges(alice) == 0 and not Verification.objects.exists()
    assert reached(fake_tv) == 0


@pytest.mark.parametrize("name", ["maxPrice", "max_price"])
def test_max_price_is_inclusive_and_a_price_above_it_buys_nothing(shop, alice, proto, fake_tv, name):
    fund(alice, "5.00")
    assert proto(action="getNumber", service="wa", **{name: "1.49"})[0] == "WRONG_MAX_PRICE:1.50"
    assert proto(action="getNumberV2", service="wa", **{name: "1.4"})[0] == "WRONG_MAX_PRICE:1.50"
    assert proto(action="getNumber", service="wa", **{name: "0"})[0] == "WRONG_MAX_PRICE:1.50"
    assert balance(alice) == Decimal("5.00") and charges(alice) == 0 and not Verification.objects.exists()
    assert reached(fake_tv) == 0  # the provider was never asked
    assert proto(action="getNumber", service="wa", **{name: "1.5"})[0].startswith("ACCESS_NUMBER:")
    assert balance(alice) == Decimal("3.50") and charges(alice) == 1


@pytest.mark.parametrize("value", ["abc", "-1", "1,50", "NaN", "Infinity"])
def test_a_malformed_max_price_is_error_sql(shop, alice, proto, value):
    fund(alice, "5.00")
    assert proto(action="getNumber", service="wa", maxPrice=value)[0] == "ERROR_SQL"
    assert balance(alice) == Decimal("5.00")


def test_provider_refusals_and_outages_are_no_numbers_and_refunded(shop, alice, proto):
    fund(alice, "5.00")
    assert proto(action="getNumber", service="test-no-numbers")[0] == "NO_NUMBERS"
    body, response = proto(action="getNumber", service="test-unavailable")
    assert body == "NO_NUMBERS" and response["Retry-After"]
    assert balance(alice) == Decimal("5.00")
    assert set(Verification.objects.values_list("status", flat=True)) == {"failed"}


def test_order_id_is_the_idempotency_key_of_the_json_api(shop, alice, proto):
    fund(alice, "5.00")
    first = proto(action="getNumber", service="wa", orderId="order-1")[0]
    assert proto(action="getNumber", service="wa", orderId="order-1")[0] == first  # the same activation
    v2 = json.loads(proto(action="getNumberV2", service="wa", orderId="order-1")[0])
    assert f"ACCESS_NUMBER:{v2['activationId']}:{v2['phoneNumber']}" == first
    assert proto(action="getNumber", service="tg", orderId="order-1")[0] == "ORDER_ALREADY_EXISTS"
    assert proto(action="getNumber", service="wa", orderId="order-1", activationType="2")[0] == "ORDER_ALREADY_EXISTS"
    assert balance(alice) == Decimal("3.50") and charges(alice) == 1
    # The same key through the JSON API's header is the same purchase.
    response = api_for(alice).post("/verify/create", {"service": "whatsapp", "country": "US", "capability": "sms"},
                                   format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert response.status_code == 200 and str(response.json()["activation_id"]) == first.split(":")[1]
    assert proto(action="getNumber", service="wa", orderId="x" * 256)[0] == "ERROR_SQL"


def test_order_ids_are_per_customer(shop, alice, bob, proto, bob_key):
    fund(alice, "5.00")
    fund(bob, "5.00")
    mine = proto(action="getNumber", service="wa", orderId="same")[0]
    theirs = proto(action="getNumber", service="wa", orderId="same", api_key=bob_key)[0]
    assert mine != theirs and Verification.objects.count() == 2


def test_an_order_id_still_buying_is_error_sql(shop, alice, proto):
    # The first request with this orderId has charged and is still renting (no number yet).
    fund(alice, "5.00")
    make_verification(user=alice, catalogue=Catalogue(shop["whatsapp"].tier, shop["whatsapp"], shop["us"]),
                      price="1.50", idempotency_key="busy",
                      request_fingerprint=services.fingerprint(service="whatsapp", country="US", capability="sms"))
    assert proto(action="getNumber", service="wa", orderId="busy")[0] == "ERROR_SQL"
    assert Verification.objects.count() == 1


def test_buying_counts_on_the_json_apis_purchase_counter(shop, alice, proto, settings):
    settings.RATELIMIT_ENABLE, settings.RATE_PURCHASE = True, "2/m"
    fund(alice, "10.00")
    assert api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                               format="json").status_code == 201
    assert proto(action="getNumber", service="tg")[0].startswith("ACCESS_NUMBER:")
    body, response = proto(action="getNumber", service="tg")
    assert body == "TOO_MANY_REQUESTS" and int(response["Retry-After"]) >= 1
    assert proto(action="getBalance")[0].startswith("ACCESS_BALANCE:")  # polls have their own counter
    assert Verification.objects.count() == 2


def test_other_keyed_actions_count_on_the_poll_counter(shop, alice, proto, settings):
    settings.RATELIMIT_ENABLE, settings.RATE_POLL = True, "3/m"
    for _ in range(3):
        assert proto(action="getBalance")[0].startswith("ACCESS_BALANCE:")
    assert proto(action="getStatus", id="1")[0] == "TOO_MANY_REQUESTS"
    assert proto(action="getPrices", api_key=None)[0].startswith("{")  # anonymous catalogue: not this customer's
