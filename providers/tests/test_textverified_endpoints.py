"""The TextVerified client against `responses`: every endpoint, link following, tolerant parsing."""
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import responses
from responses import matchers

from providers.base import ProviderRejected, RentalState
from providers.tests.support import API, BASE, TOKEN, add_auth, details, page


def bearer():
    return matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})


def test_it_lists_services_deduplicated_with_canonical_capabilities(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/services", match=[
        matchers.query_param_matcher({"numberType": "mobile", "reservationType": "verification"}), bearer()],
        json=[{"serviceName": "gmail", "capability": "sms", "description": "Gmail"},
              {"serviceName": "gmail", "capability": "SMS", "description": "Gmail"},
              {"serviceName": "gmail", "capability": "Voice"},
              {"serviceName": "combo", "capability": "smsAndVoiceCombo"},
              {"serviceName": "weird", "capability": "fax"},
              {"capability": "sms"}])
    offers = client.services()
    assert [(o.name, o.capability, o.description) for o in offers] == [("gmail", "sms", "Gmail"), ("gmail", "voice", "")]


def test_it_quotes_a_price_as_an_exact_decimal(client, rsps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"serviceName": "yahoo", "price": 0.1},
             match=[matchers.json_params_matcher({"serviceName": "yahoo", "areaCode": False, "carrier": False,
                                                  "numberType": "mobile", "capability": "sms"})])
    assert client.quote(service="yahoo", capability="sms") == Decimal("0.1")


def test_it_reads_the_balance_and_tolerates_a_missing_one(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/account/me", json={"username": "x", "currentBalance": 1234.56})
    rsps.add(responses.GET, f"{API}/account/me", json={"username": "x"})
    assert client.balance() == Decimal("1234.56")
    assert client.balance() == Decimal("0")


def test_it_rents_quote_first_then_buys_with_max_price_and_idempotency_key(client, rsps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"serviceName": "discord", "price": 0.5})
    create = rsps.add(responses.POST, f"{API}/verifications", status=201,
                      headers={"Location": f"{API}/verifications/lr_01ABC"},
                      json={"method": "GET", "href": f"{API}/verifications/lr_01ABC"},
                      match=[matchers.header_matcher({"Idempotency-Key": "ver-42"})])
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details(), match=[bearer()])
    rental = client.rent(service="discord", capability="sms", country="US",
                         max_price=Decimal("0.75"), idempotency_key="ver-42")
    assert rental.reference == "lr_01ABC"
    assert rental.phone_number == "+16184195979"
    assert rental.cost == Decimal("0.5")
    assert rental.expires_at == datetime(2026, 5, 28, 18, 16, 22, 123456, tzinfo=timezone.utc)
    sent = create.calls[0].request
    # maxPrice is written from the Decimal, digit for digit, never through a float.
    assert sent.body == '{"serviceName": "discord", "capability": "sms", "maxPrice": 0.75}'
    assert [c.request.method + " " + c.request.url.split("/v2")[1] for c in rsps.calls] == [
        "POST /auth", "POST /pricing/verifications", "POST /verifications", "GET /verifications/lr_01ABC"]


def test_a_recent_quote_is_reused_and_max_price_still_caps_the_purchase(client, rsps):
    add_auth(rsps)
    pricing = rsps.add(responses.POST, f"{API}/pricing/verifications", json={"serviceName": "discord", "price": 0.5})
    create = rsps.add(responses.POST, f"{API}/verifications", status=201,
                      headers={"Location": f"{API}/verifications/lr_01ABC"},
                      json={"method": "GET", "href": f"{API}/verifications/lr_01ABC"})
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details())
    for key in ("ver-1", "ver-2"):
        client.rent(service="discord", capability="sms", country="US", max_price=Decimal("0.75"), idempotency_key=key)
    assert pricing.call_count == 1 and create.call_count == 2
    assert all(b'"maxPrice": 0.75' in c.request.body.encode() if isinstance(c.request.body, str) else
               b'"maxPrice": 0.75' in c.request.body for c in create.calls)


def test_it_does_not_buy_when_the_quote_is_above_the_customer_price(client, rsps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"serviceName": "whatsapp", "price": 1.5})
    create = rsps.add(responses.POST, f"{API}/verifications", status=201)
    with pytest.raises(ProviderRejected) as caught:
        client.rent(service="whatsapp", capability="sms", country="US", max_price=Decimal("1.49"), idempotency_key="k")
    assert caught.value.code == "price_above_cap"
    assert create.call_count == 0


def test_it_follows_a_relative_location_or_the_body_link(client, rsps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})
    rsps.add(responses.POST, f"{API}/verifications", status=201,
             headers={"Location": "/api/pub/v2/verifications/lr_REL"})
    rsps.add(responses.POST, f"{API}/verifications", status=201,
             json={"method": "GET", "href": f"{API}/verifications/lr_BODY"})
    rsps.add(responses.GET, f"{API}/verifications/lr_REL", json=details("lr_REL"))
    rsps.add(responses.GET, f"{API}/verifications/lr_BODY", json=details("lr_BODY"))
    first = client.rent(service="discord", capability="sms", country="US", max_price=Decimal("1"), idempotency_key="a")
    second = client.rent(service="discord", capability="sms", country="US", max_price=Decimal("1"), idempotency_key="b")
    assert (first.reference, second.reference) == ("lr_REL", "lr_BODY")


def test_it_rereads_details_once_when_the_number_is_not_there_yet(client, rsps, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})
    rsps.add(responses.POST, f"{API}/verifications", status=201, headers={"Location": f"{API}/verifications/lr_01ABC"})
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details(number=""))
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details(number="+1 (618) 419-5979"))
    rental = client.rent(service="discord", capability="sms", country="US", max_price=Decimal("1"), idempotency_key="k")
    assert rental.phone_number == "+16184195979"
    assert len(sleeps) == 1


def test_it_refuses_to_rent_without_an_idempotency_key(client, rsps):
    with pytest.raises(ValueError):
        client.rent(service="discord", capability="sms", country="US", max_price=Decimal("1"), idempotency_key="  ")
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("raw, state", [
    ("verificationPending", RentalState.PENDING), ("VERIFICATIONCOMPLETED", RentalState.COMPLETED),
    ("verificationCanceled", RentalState.CANCELLED), ("verificationTimedOut", RentalState.EXPIRED),
    ("verificationReported", RentalState.REPORTED), ("verificationRefunded", RentalState.REFUNDED),
    ("verificationSomethingNew", RentalState.UNKNOWN), (None, RentalState.UNKNOWN),
])
def test_it_maps_states_tolerantly(client, rsps, raw, state):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details(state=raw))
    status = client.status("lr_01ABC")
    assert status.state == state
    assert status.raw_state == (raw or "")


def test_it_tolerates_missing_fields_and_odd_timestamps(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC",
             json={"id": "lr_01ABC", "state": "verificationPending", "endsAt": "2026-05-28T18:16:22.1234567Z"})
    rsps.add(responses.GET, f"{API}/verifications/lr_02", json={"endsAt": "not a date"})
    status = client.status("lr_01ABC")
    assert (status.can_cancel, status.can_report, status.phone_number) == (False, False, "")
    assert status.expires_at == datetime(2026, 5, 28, 18, 16, 22, 123456, tzinfo=timezone.utc)
    assert client.status("lr_02").expires_at is None


def test_it_reads_sms_by_reservation_id_across_pages_with_a_regex_fallback(client, rsps):
    add_auth(rsps)
    first = rsps.add(responses.GET, f"{API}/sms", match=[matchers.query_param_matcher(
        {"reservationId": "lr_01ABC", "reservationType": "verification"})],
        json=page([{"id": "s2", "from": "12345", "to": "6184195979", "createdAt": "2026-05-28T18:05:00.1234567+00:00",
                    "smsContent": "Your Discord code is 293701", "parsedCode": "293701", "encrypted": False}],
                  next_href=f"{API}/sms?reservationId=lr_01ABC&cursor=abc"))
    second = rsps.add(responses.GET, f"{API}/sms", match=[matchers.query_param_matcher(
        {"reservationId": "lr_01ABC", "cursor": "abc"})],
        json=page([{"id": "s1", "from": None, "createdAt": "2026-05-28T18:04:00+00:00",
                    "smsContent": "G-481516 is your Google verification code.", "parsedCode": None},
                   {"id": "s3", "createdAt": "2026-05-28T18:06:00+00:00", "smsContent": None, "parsedCode": None},
                   {"smsContent": "no id, skipped"}]))
    messages = client.messages("lr_01ABC")
    assert [(m.id, m.code) for m in messages] == [("s1", "G-481516"), ("s2", "293701"), ("s3", None)]
    assert messages[0].sender == "" and messages[2].text == ""
    assert first.call_count == second.call_count == 1
    assert all("to=" not in c.request.url for c in rsps.calls)


def test_it_stops_paginating_when_has_next_is_false_or_a_link_repeats(client, rsps):
    add_auth(rsps)
    loop = f"{API}/calls?reservationId=lr_01ABC&page=2"
    body = page([{"id": "c1", "from": "+18005550100", "createdAt": "2026-05-28T18:04:00+00:00",
                  "recordingUri": "https://rec.example/c1.mp3"}], next_href=loop)
    rsps.add(responses.GET, f"{API}/calls", json=body)
    calls = client.calls("lr_01ABC")
    assert [(c.id, c.recording_url, c.caller) for c in calls] == [("c1", "https://rec.example/c1.mp3", "+18005550100")]
    assert len([c for c in rsps.calls if "/calls" in c.request.url]) == 2  # page 1, then the repeated link once

    rsps.replace(responses.GET, f"{API}/calls", json={**body, "hasNext": False})
    rsps.calls.reset()
    client.calls("lr_01ABC")
    assert len([c for c in rsps.calls if "/calls" in c.request.url]) == 1


def test_it_cancels_through_the_link_when_allowed(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details())
    cancel = rsps.add(responses.POST, f"{API}/verifications/lr_01ABC/cancel", status=200, match=[bearer()])
    client.cancel("lr_01ABC")
    assert cancel.call_count == 1


@pytest.mark.parametrize("action", ["cancel", "report"])
def test_it_refuses_an_action_the_upstream_does_not_allow_without_posting(client, rsps, action):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC",
             json=details(state="verificationCompleted", can_cancel=False, can_report=False))
    post = rsps.add(responses.POST, f"{API}/verifications/lr_01ABC/{action}")
    with pytest.raises(ProviderRejected) as caught:
        getattr(client, action)("lr_01ABC")
    assert caught.value.code == "not_allowed"
    assert "verificationCompleted" in caught.value.message
    assert post.call_count == 0


def test_it_treats_repeating_a_done_action_as_a_no_op(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC",
             json=details(state="verificationReported", can_cancel=False, can_report=False))
    client.report("lr_01ABC")
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]  # auth, details; no report POST


def test_it_reports_through_the_link(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details(state="verificationCompleted"))
    report = rsps.add(responses.POST, f"{API}/verifications/lr_01ABC/report", status=200)
    client.report("lr_01ABC")
    assert report.call_count == 1


def test_it_sends_no_token_to_links_on_another_origin(client, rsps):
    add_auth(rsps)
    elsewhere = "https://backend.elsewhere.test/api/pub/v2/verifications/lr_01ABC/cancel"
    body = details()
    body["cancel"]["link"]["href"] = elsewhere
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=body)
    foreign = rsps.add(responses.POST, elsewhere, status=200)
    client.cancel("lr_01ABC")
    assert foreign.call_count == 1
    assert "Authorization" not in foreign.calls[0].request.headers
    assert rsps.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_it_probes_health_with_account_me(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/account/me", json={"currentBalance": 5})
    rsps.add(responses.GET, f"{API}/account/me", status=503)
    assert client.health().ok is True
    unhealthy = client.health()
    assert (unhealthy.ok, unhealthy.detail) == (False, "upstream_error")


def test_its_requests_carry_json_and_explicit_timeouts(client, rsps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})
    client.quote(service="discord", capability="voice")
    call = rsps.calls[1]
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body)["capability"] == "voice"
    assert call.request.req_kwargs["timeout"] == (1.0, 2.0)
    assert BASE in call.request.url
