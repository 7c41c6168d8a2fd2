"""Every error has one shape: {"error": {"code", "message"}} with the right status."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from verifications.models import Verification
from verifications.tests.lifecycle import api_for, balance, fund, make_shop


@pytest.fixture
def shop(db):
    return make_shop()


def create(client, **body):
    return client.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms", **body}, format="json")


def error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return body["error"]


def test_400_lists_the_fields_at_fault(shop, alice):
    e = error(api_for(alice).post("/verify/create", {"service": "nope", "capability": "fax"}, format="json"), 400)
    assert e["code"] == "invalid"
    assert set(e["fields"]) == {"service", "country", "capability"}


def test_400_for_a_capability_the_service_does_not_offer(shop, alice):
    fund(alice, "5.00")
    e = error(create(api_for(alice), service="paypal"), 400)
    assert e["code"] == "service_not_available"
    assert balance(alice) == Decimal("5.00")


def test_400_for_a_disabled_service(shop, alice):
    fund(alice, "5.00")
    shop["telegram"].enabled = False
    shop["telegram"].save()
    assert error(create(api_for(alice)), 400)["code"] == "service_not_available"


def test_400_for_malformed_json(shop, alice):
    response = api_for(alice).generic("POST", "/verify/create", "{not json", content_type="application/json")
    assert error(response, 400)["code"] in ("parse_error", "invalid")


def test_401_without_credentials(shop):
    for method, path in (("get", "/verify"), ("post", "/verify/create"), ("get", "/account")):
        e = error(getattr(APIClient(), method)(path), 401)
        assert e["code"] == "not_authenticated"


def test_402_says_how_much_is_missing(shop, alice):
    fund(alice, "0.40")
    e = error(create(api_for(alice)), 402)
    assert (e["code"], e["missing"], e["balance"], e["required"]) == ("insufficient_balance", "0.60", "0.40", "1.00")
    assert not Verification.objects.exists()


def test_404_for_an_unknown_id(shop, alice):
    e = error(api_for(alice).get("/verify/00000000-0000-0000-0000-000000000000"), 404)
    assert e["code"] == "not_found"


def test_409_for_voice_calls_of_an_sms_verification(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    vid = create(api).json()["id"]
    assert error(api.get(f"/verify/{vid}/voice"), 409)["code"] == "not_voice"


def test_422_for_a_reused_idempotency_key(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"}, format="json",
             headers={"Idempotency-Key": "k1"})
    response = api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "voice"},
                        format="json", headers={"Idempotency-Key": "k1"})
    assert error(response, 422)["code"] == "idempotency_key_reused"


def test_429_with_retry_after_when_purchases_are_too_fast(shop, alice, bob, settings):
    settings.RATE_PURCHASE = "2/m"
    fund(alice, "10.00")
    fund(bob, "10.00")
    api = api_for(alice)
    assert create(api).status_code == 201
    assert create(api).status_code == 201
    response = create(api)
    e = error(response, 429)
    assert e["code"] == "rate_limited" and int(response.headers["Retry-After"]) >= 1
    assert balance(alice) == Decimal("8.00")
    # Per user, not per IP: bob on the same address is not limited by alice's purchases.
    assert create(api_for(bob)).status_code == 201


def test_503_with_retry_after_and_nothing_charged(shop, alice):
    fund(alice, "5.00")
    response = create(api_for(alice), service="test-unavailable")
    e = error(response, 503)
    assert int(response.headers["Retry-After"]) > 0 and e["retry_after"] > 0
    assert balance(alice) == Decimal("5.00")


def test_405_for_a_wrong_method(shop, alice):
    assert error(api_for(alice).put("/verify/create", {}, format="json"), 405)["code"] == "method_not_allowed"
