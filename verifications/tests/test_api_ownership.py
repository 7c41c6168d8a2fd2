"""Alice's verification does not exist for bob: 404 on every route, and nothing changes."""
from decimal import Decimal

import pytest

from verifications.models import Verification
from verifications.tests.lifecycle import api_for, balance, fund, make_shop


@pytest.fixture
def alices_verification(db, alice, settings):
    settings.MOCK_SMS_DELAY = 600
    make_shop()
    fund(alice, "5.00")
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                                   format="json")
    return response.json()["id"]


@pytest.mark.parametrize(("method", "suffix"), [
    ("get", ""), ("get", "/messages"), ("get", "/voice"), ("delete", ""), ("post", "/report"),
])
def test_bob_cannot_touch_alices_verification(alices_verification, alice, bob, method, suffix):
    response = getattr(api_for(bob), method)(f"/verify/{alices_verification}{suffix}")
    assert response.status_code == 404
    assert alices_verification not in response.content.decode()
    assert Verification.objects.get(pk=alices_verification).status == "pending"
    assert balance(alice) == Decimal("4.00")


def test_bobs_list_does_not_include_alices(alices_verification, bob):
    assert api_for(bob).get("/verify").json()["count"] == 0
    assert api_for(bob).get("/account/transactions").json()["count"] == 0
