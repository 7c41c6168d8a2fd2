"""The lifecycle through the real TextVerified client: over HTTP against the fake server, and at the
`responses` network edge for what the fake cannot stage (a recycled number)."""
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses as responses_lib

from accounts.models import LedgerEntry
from providers.breaker import breaker_for
from verifications.models import Verification
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop, run_checks

KEY, EMAIL = "provider-path-key", "ops@example.com"


@pytest.fixture
def textverified(settings):
    settings.PROVIDER = "textverified"
    settings.TEXTVERIFIED_API_KEY, settings.TEXTVERIFIED_EMAIL = KEY, EMAIL


@pytest.fixture
def fake(settings):
    with fake_textverified(settings, sms_delay=0) as server:
        yield server


@pytest.fixture
def shop(db):
    return make_shop()


def create(api, service="telegram", capability="sms"):
    return api.post("/verify/create", {"service": service, "country": "US", "capability": capability}, format="json")


def test_purchase_sms_code_through_the_real_client(fake, shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    assert body["status"] == "pending" and re.fullmatch(r"\+1\d{10}", body["phone_number"])
    verification = Verification.objects.get(pk=body["id"])
    assert verification.provider == "textverified" and verification.provider_ref
    run_checks()
    messages = api.get(f"/verify/{body['id']}/messages").json()
    assert messages["status"] == "completed" and re.fullmatch(r"\d{4,8}", messages["code"])
    assert balance(alice) == Decimal("4.00")


def test_voice_below_the_upstream_cost_is_refused_and_refunded(fake, shop, alice):
    # The fake charges voice like TextVerified ($2.50): our $1.30 cap makes it refuse (the voice
    # path end to end is in test_voice_path.py).
    fund(alice, "5.00")
    response = create(api_for(alice), capability="voice")
    assert response.status_code == 503 and response.json()["error"]["code"] == "price_above_cap"
    assert balance(alice) == Decimal("5.00")


def test_cancel_through_the_real_client_refunds_once(fake, shop, alice, settings):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, service="test-pending").json()
    assert api.delete(f"/verify/{body['id']}").json()["refunded"] == "1.00"
    assert api.delete(f"/verify/{body['id']}").status_code == 409
    assert balance(alice) == Decimal("5.00")


def test_an_upstream_refusal_refunds_and_answers_503(fake, shop, alice):
    fund(alice, "5.00")
    response = create(api_for(alice), service="test-no-numbers")
    assert response.status_code == 503 and response.json()["error"]["code"] == "no_numbers"
    assert balance(alice) == Decimal("5.00")


def test_an_open_circuit_answers_503_before_charging(fake, shop, alice):
    fund(alice, "5.00")
    breaker_for("textverified").trip()
    response = create(api_for(alice))
    assert response.status_code == 503 and response.json()["error"]["code"] == "circuit_open"
    assert int(response.headers["Retry-After"]) > 0
    assert balance(alice) == Decimal("5.00")
    assert not Verification.objects.exists() and not LedgerEntry.objects.filter(kind="charge").exists()


BASE = "https://tv.test"
API = BASE + "/api/pub/v2"
NUMBER = "5550104242"


def _details(vid: str, created: str, ends: str) -> dict:
    url = f"{API}/verifications/{vid}"
    return {"id": vid, "number": NUMBER, "serviceName": "telegram", "state": "verificationPending", "totalCost": 0.75,
            "createdAt": created, "endsAt": ends,
            "sms": {"method": "GET", "href": f"{API}/sms?reservationId={vid}"},
            "calls": {"method": "GET", "href": f"{API}/calls?reservationId={vid}"},
            "cancel": {"canCancel": True, "link": {"method": "POST", "href": f"{url}/cancel"}},
            "report": {"canReport": True, "link": {"method": "POST", "href": f"{url}/report"}},
            "reuse": {"reusableUntil": None, "link": {"method": None, "href": None}},
            "reactivate": {"canReactivate": False, "link": {"method": None, "href": None}}}


def test_an_old_sms_on_a_recycled_number_is_never_shown(textverified, settings, shop, alice):
    """The number belonged to someone else before: asking by number would leak their code."""
    from django.utils import timezone

    settings.TEXTVERIFIED_BASE_URL = BASE
    now = timezone.now()
    created, ends = now.isoformat(), (now + timezone.timedelta(minutes=15)).isoformat()
    old_sms = {"id": "sms_old", "from": "22000", "to": NUMBER, "createdAt": (now - timezone.timedelta(hours=3)).isoformat(),
               "smsContent": "Your code is 111111", "parsedCode": "111111", "encrypted": False}
    stale_for_ours = {**old_sms, "id": "sms_stale", "smsContent": "Your code is 222222", "parsedCode": "222222"}
    empty = {"data": [], "hasNext": False, "count": 0, "links": {"next": {"method": None, "href": None}}}

    def sms(request):
        query = parse_qs(urlsplit(request.url).query)
        if query.get("reservationId") == ["lr_NEW"]:
            # Even a stale message filed under our reservation predates the purchase: not ours.
            return 200, {}, __import__("json").dumps({**empty, "data": [stale_for_ours], "count": 1})
        if query.get("to"):
            return 200, {}, __import__("json").dumps({**empty, "data": [old_sms], "count": 1})
        return 200, {}, __import__("json").dumps(empty)

    fund(alice, "5.00")
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses_lib.POST, f"{API}/auth", json={"token": "eyJ.t", "expiresIn": 900,
                                                           "expiresAt": (now + timezone.timedelta(minutes=15)).isoformat()})
        rsps.add(responses_lib.POST, f"{API}/pricing/verifications", json={"serviceName": "telegram", "price": 0.75})
        rsps.add(responses_lib.POST, f"{API}/verifications", status=201, headers={"Location": f"{API}/verifications/lr_NEW"},
                 json={"method": "GET", "href": f"{API}/verifications/lr_NEW"})
        rsps.add(responses_lib.GET, f"{API}/verifications/lr_NEW", json=_details("lr_NEW", created, ends))
        rsps.add_callback(responses_lib.GET, re.compile(rf"{re.escape(API)}/sms.*"), callback=sms)
        api = api_for(alice)
        body = create(api).json()
        assert body["phone_number"] == "+1" + NUMBER
        run_checks()
        messages = api.get(f"/verify/{body['id']}/messages").json()
        sms_calls = [c.request.url for c in rsps.calls if "/sms" in c.request.url]
    assert messages == {"status": "pending", "code": None, "expires_at": messages["expires_at"], "messages": []}
    assert sms_calls and all("reservationId=lr_NEW" in url and "to=" not in url for url in sms_calls)
