"""The fake TextVerified speaks the v2 contract over real HTTP, with hooks and fault injection."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
import time_machine

from fakes.textverified import start_fake_server
from providers.tests.support import API_KEY, USERNAME

V2 = "/api/pub/v2"


class Api:
    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()
        self.token = None

    def login(self, **headers):
        sent = {"X-API-KEY": API_KEY, "X-API-USERNAME": USERNAME, **headers}
        response = self.session.post(f"{self.base}{V2}/auth", headers=sent, timeout=5)
        if response.ok:
            self.token = response.json()["token"]
        return response

    def call(self, method, path, *, auth=True, **kwargs):
        headers = kwargs.pop("headers", {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = path if path.startswith("http") else f"{self.base}{path}"
        return self.session.request(method, url, headers=headers, timeout=5, **kwargs)

    def buy(self, service="discord", key=None, **body):
        headers = {"Idempotency-Key": key} if key else {}
        return self.call("POST", f"{V2}/verifications", json={"serviceName": service, "capability": "sms", **body},
                         headers=headers)


@pytest.fixture
def api(fake_server):
    api = Api(fake_server.base_url)
    api.login()
    return api


def test_it_issues_tokens_only_for_the_right_credentials(fake_server):
    api = Api(fake_server.base_url)
    assert api.login(**{"X-API-KEY": "wrong"}).status_code == 401
    response = api.login()
    body = response.json()
    assert body["token"].startswith("eyJ") and body["expiresIn"] == 900 and body["expiresAt"].endswith("+00:00")


def test_every_other_route_needs_an_unexpired_bearer(api, fake_server):
    assert api.call("GET", f"{V2}/account/me").status_code == 200
    assert api.call("GET", f"{V2}/account/me", auth=False).status_code == 401
    fake_server.fake.expire_tokens()
    response = api.call("GET", f"{V2}/account/me")
    assert (response.status_code, response.content) == (401, b"")


def test_tokens_expire_with_time(fake_server):
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False) as traveller:
        api = Api(fake_server.base_url)
        api.login()
        traveller.shift(899)
        assert api.call("GET", f"{V2}/account/me").status_code == 200
        traveller.shift(1)
        assert api.call("GET", f"{V2}/account/me").status_code == 401


def test_it_lists_services_and_prices_and_rejects_unknown_combinations(api):
    services = api.call("GET", f"{V2}/services", params={"numberType": "mobile", "reservationType": "verification"}).json()
    assert {"serviceName": "discord", "capability": "sms", "description": "Discord"} in services
    assert not [s for s in services if s["serviceName"].startswith("test_")]
    price = api.call("POST", f"{V2}/pricing/verifications", json={"serviceName": "whatsapp", "capability": "SMS",
                                                                    "numberType": "mobile", "areaCode": False,
                                                                    "carrier": False})
    assert price.json() == {"serviceName": "whatsapp", "price": 1.5}
    assert api.call("POST", f"{V2}/pricing/verifications",
                    json={"serviceName": "nosuch", "capability": "sms"}).status_code == 400
    assert api.call("POST", f"{V2}/pricing/verifications",
                    json={"serviceName": "facebook", "capability": "sms"}).status_code == 400


def test_a_purchase_answers_201_with_location_and_link_and_charges_the_balance(api, fake_server):
    fake_server.fake.sms_delay = None
    response = api.buy(maxPrice=0.5)
    assert response.status_code == 201
    href = response.json()["href"]
    assert response.headers["Location"] == href and href.startswith(fake_server.base_url + V2 + "/verifications/lr_")
    assert re.fullmatch(r"lr_[0-9A-Z]{26}", href.rsplit("/", 1)[1])
    assert fake_server.fake.balance == Decimal("99.50")
    details = api.call("GET", href).json()
    assert details["state"] == "verificationPending" and re.fullmatch(r"\d{3}55501\d{2}", details["number"])
    assert details["cancel"]["canCancel"] is True and details["cancel"]["link"]["href"] == href + "/cancel"
    assert details["reuse"] == {"reusableUntil": None, "link": {"method": None, "href": None}}


def test_the_same_idempotency_key_gets_the_same_201_and_buys_once(api, fake_server):
    first, second = api.buy(key="k-1"), api.buy(key="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(fake_server.fake.records) == 1


def test_a_key_still_in_flight_gets_409():
    entered, release = threading.Event(), threading.Event()

    def blocking_sleep(seconds):
        entered.set()
        release.wait(timeout=10)

    with start_fake_server(api_key=API_KEY, username=USERNAME, latency=0.01, sleep=blocking_sleep) as server:
        server.fake.latency = 0  # log in without waiting
        api = Api(server.base_url)
        api.login()
        server.fake.latency = 0.01  # only the purchase "takes time", while its key is in flight
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(api.buy, "discord", "k-2")
            assert entered.wait(timeout=10)
            second = Api(server.base_url)
            second.token = api.token
            conflict = second.buy(key="k-2")
            release.set()
            assert first.result().status_code == 201
    assert conflict.status_code == 409
    assert conflict.json()["errorCode"] == "IdempotencyConflict"


@pytest.mark.parametrize("service, status, code", [
    ("test_no_numbers", 400, "Unavailable"),
    ("test_insufficient_balance", 400, "InsufficientBalance"),
    ("test_too_many_unfinished_verifications", 400, "TooManyUnfinishedVerifications"),
    ("test_unavailable", 503, None),
])
def test_test_mode_error_scenarios(api, service, status, code):
    response = api.buy(service=service)
    assert response.status_code == status
    assert response.json()["errorCode"] == code


def test_test_mode_price_and_header(api, fake_server):
    assert api.buy(service="test_success", maxPrice=0.74).json()["errorCode"] == "PricingFailure"
    response = api.buy(service="test_success", maxPrice=0.75)
    assert response.headers["X-Phoneblur-Mock"] == "true"
    assert fake_server.fake.balance == Decimal("100.00")  # test mode spends nothing


def test_balance_and_pending_limits(api, fake_server):
    fake_server.fake.max_pending = 1
    fake_server.fake.sms_delay = None
    assert api.buy().status_code == 201
    assert api.buy().json()["errorCode"] == "TooManyUnfinishedVerifications"
    fake_server.fake.max_pending = 10
    fake_server.fake.balance = Decimal("0.10")
    assert api.buy().json()["errorCode"] == "InsufficientBalance"


def test_sms_are_listed_by_reservation_with_pagination_and_delivered_by_hook(api, fake_server):
    fake_server.fake.sms_delay = None
    fake_server.fake.page_size = 1
    vid = api.buy().json()["href"].rsplit("/", 1)[1]
    other = api.buy().json()["href"].rsplit("/", 1)[1]
    for text in ("Your code is 111111", "Your code is 222222"):
        assert api.call("POST", "/_fake/sms", json={"reservationId": vid, "text": text}).status_code == 200
    first = api.call("GET", f"{V2}/sms", params={"reservationId": vid}).json()
    assert first["hasNext"] is True and len(first["data"]) == 1
    second = api.call("GET", first["links"]["next"]["href"]).json()
    assert second["hasNext"] is False and second["links"]["next"] == {"method": None, "href": None}
    assert [m["smsContent"] for m in first["data"] + second["data"]] == ["Your code is 111111", "Your code is 222222"]
    assert api.call("GET", f"{V2}/sms", params={"reservationId": other}).json()["data"] == []
    assert api.call("GET", f"{V2}/verifications/{vid}").json()["state"] == "verificationCompleted"
    assert api.call("POST", "/_fake/sms", json={"reservationId": "lr_nope", "text": "x"}).status_code == 404


def test_cancel_and_report_follow_the_action_flags_and_refund(api, fake_server):
    fake_server.fake.sms_delay = None
    href = api.buy().json()["href"]
    assert fake_server.fake.balance == Decimal("99.50")
    assert api.call("POST", href + "/cancel").status_code == 200
    assert fake_server.fake.balance == Decimal("100.00")
    details = api.call("GET", href).json()
    assert details["state"] == "verificationCanceled" and details["cancel"]["canCancel"] is False
    assert api.call("POST", href + "/cancel").status_code == 400
    assert api.call("POST", href + "/report").status_code == 400
    assert api.call("GET", f"{V2}/verifications/lr_nope").status_code == 404


def test_it_emits_seven_digit_fractions_sometimes(api):
    stamps = [api.call("GET", api.buy(service="test_success").json()["href"]).json()["createdAt"] for _ in range(8)]
    digits = {len(re.search(r"\.(\d+)", s).group(1)) for s in stamps}
    assert digits == {6, 7}


def test_faults_inject_429_5xx_and_latency_over_http(api, fake_server):
    faults = {"add": [{"status": 429, "retryAfter": 7, "path": f"{V2}/account/me", "count": 1},
                      {"status": 429, "path": f"{V2}/account/me", "count": 1},
                      {"status": 502, "path": f"{V2}/account/me", "count": 1}]}
    assert api.call("POST", "/_fake/faults", json=faults).status_code == 200
    first, second, third, fourth = (api.call("GET", f"{V2}/account/me") for _ in range(4))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429 and "Retry-After" not in second.headers
    assert (third.status_code, fourth.status_code) == (502, 200)
    api.call("POST", "/_fake/faults", json={"latency": 0.01, "expireTokens": True})
    assert fake_server.fake.latency == 0.01
    assert api.call("GET", f"{V2}/account/me").status_code == 401
    state = api.call("GET", "/_fake/state").json()
    assert state["requests"][f"GET {V2}/account/me"] == 5
    api.call("POST", "/_fake/reset")
    assert api.call("GET", "/_fake/state").json()["verifications"] == 0


def test_calls_list_recordings_for_voice(api, fake_server):
    href = api.call("POST", f"{V2}/verifications", json={"serviceName": "discord", "capability": "voice"}).json()["href"]
    vid = href.rsplit("/", 1)[1]
    [call] = api.call("GET", f"{V2}/calls", params={"ReservationId": vid}).json()["data"]
    assert call["to"].isdigit() and call["recordingUri"].endswith(f"/api/pub/v2/recordings/{call['id']}")
    uri = call["recordingUri"] if call["recordingUri"].startswith("http") else fake_server.base_url + call["recordingUri"]
    # Behind the bearer token, like every other route: the real recording of the code.
    recording = api.call("GET", uri)
    assert recording.status_code == 200 and recording.headers["Content-Type"].startswith("audio/")
    assert len(recording.content) > 10_000
    assert requests.get(uri, timeout=5).status_code == 401
