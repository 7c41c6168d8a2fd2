"""The catalogue actions (contract §5 "Catalogue"): the JSON API's catalogue selectors, keyed by the
protocol's country ids and service codes."""
import json

from providers.breaker import breaker_for
from verifications.models import Service


def answer(proto, **params):
    body, response = proto(**params)
    assert response["Content-Type"] == "application/json", body
    return json.loads(body), body


def test_prices_are_keyed_by_country_then_code_and_are_the_quote(shop, proto):
    data, body = answer(proto, action="getPrices")
    assert data.keys() == {"187", "16"}
    assert data["187"]["wa"] == {"cost": 1.5, "count": 100, "physicalCount": 100}
    assert '"wa":{"cost":1.50,' in body
    assert data["187"]["tg"]["cost"] == 1.0 and "test-pending" in data["187"]  # no code: its slug
    assert "paypal" not in data["187"]  # sells no SMS numbers
    from rest_framework.test import APIClient

    assert APIClient().get("/pricing/quote", {"service": "whatsapp", "country": "US", "capability": "sms"}).json()[
        "price"] == "1.50"


def test_prices_narrow_to_a_service_and_a_country(shop, proto):
    data, _ = answer(proto, action="getPrices", service="whatsapp", country="16")
    assert data == {"16": {"wa": {"cost": 1.5, "count": 100, "physicalCount": 100}}}
    assert proto(action="getPrices", service="nope")[0] == "BAD_SERVICE"
    assert proto(action="getPrices", country="0")[0] == "BAD_COUNTRY"


def test_an_open_circuit_shows_no_stock(shop, proto):
    breaker_for("mock").trip()  # staff's "pause purchases" (or a failing upstream)
    data, _ = answer(proto, action="getPrices", country="187")
    assert data["187"]["wa"]["count"] == 0
    assert answer(proto, action="getNumbersStatus")[0]["wa_0"] == 0


def test_countries(shop, proto):
    data, _ = answer(proto, action="getCountries")
    assert data["187"] == {"id": 187, "rus": "United States", "eng": "United States", "chn": "United States",
                           "visible": 1, "retry": 1, "rent": 0, "multiService": 0}
    assert list(data) == ["187", "16"]  # catalogue order


def test_services_list(shop, proto):
    data, _ = answer(proto, action="getServicesList", lang="ru")
    assert data["status"] == "success"
    codes = {row["code"]: row["name"] for row in data["services"]}
    assert codes["wa"] == "WhatsApp" and codes["tg"] == "Telegram" and "paypal" in codes
    Service.objects.filter(slug="telegram").update(enabled=False)
    assert "tg" not in {row["code"] for row in answer(proto, action="getServicesList", country="16")[0]["services"]}
    assert proto(action="getServicesList", country="999")[0] == "BAD_COUNTRY"


def test_numbers_status(shop, proto):
    data, _ = answer(proto, action="getNumbersStatus", country="187")
    assert data["wa_0"] == 100 and data["tg_0"] == 100 and "paypal_0" not in data
    assert proto(action="getNumbersStatus", country="0")[0] == "BAD_COUNTRY"
    assert proto(action="getNumbersStatus", operator="tmobile")[0] == "WRONG_OPERATOR"


def test_operators(shop, proto):
    assert answer(proto, action="getOperators")[0] == {"status": "success",
                                                         "countryOperators": {"187": ["any"], "16": ["any"]}}
    assert answer(proto, action="getOperators", country="16")[0]["countryOperators"] == {"16": ["any"]}
    assert proto(action="getOperators", country="43")[0] == "BAD_COUNTRY"


def test_a_code_wins_over_another_services_slug(shop, alice, proto):
    from verifications.tests.lifecycle import fund

    # A service whose code is another service's slug: the code is matched first (contract §3.4).
    Service.objects.filter(slug="test-pending").update(protocol_code="telegram")
    fund(alice, "5.00")
    proto(action="getNumber", service="telegram")
    from verifications.models import Verification

    assert Verification.objects.get().service.slug == "test-pending"
