"""Every upstream error maps to one of our two families, in one place, without leaking secrets."""
import logging
from decimal import Decimal

import pytest
import requests
import responses

from providers.base import ProviderRejected, ProviderUnavailable
from providers.tests.support import API, API_KEY, TOKEN, add_auth


def rent(client):
    return client.rent(service="discord", capability="sms", country="US",
                       max_price=Decimal("1.00"), idempotency_key="ver-1")


def quoted(rsps):
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})


@pytest.mark.parametrize("error_code, ours", [
    ("InsufficientBalance", "insufficient_upstream_balance"),
    ("Unavailable", "no_numbers"),
    ("PricingFailure", "price_above_cap"),
    ("TooManyUnfinishedVerifications", "too_many_unfinished"),
    ("ProcessingError", "not_allowed"),
    ("insufficientbalance", "insufficient_upstream_balance"),  # casing is not guaranteed
])
def test_it_maps_purchase_error_codes_to_rejections(client, rsps, error_code, ours):
    add_auth(rsps)
    quoted(rsps)
    rsps.add(responses.POST, f"{API}/verifications", status=400,
             json={"errorCode": error_code, "errorDescription": "upstream says no"})
    with pytest.raises(ProviderRejected) as caught:
        rent(client)
    assert caught.value.code == ours
    assert "upstream says no" in caught.value.message


@pytest.mark.parametrize("body", [None, b"Bad Request", {"errorCode": None, "errorDescription": None}])
def test_it_reads_an_undocumented_400_on_a_quote_as_an_unknown_service(client, rsps, body):
    add_auth(rsps)
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body or b""}
    rsps.add(responses.POST, f"{API}/pricing/verifications", status=400, **kwargs)
    with pytest.raises(ProviderRejected) as caught:
        client.quote(service="nosuchservice", capability="sms")
    assert caught.value.code == "unknown_service"


def test_it_reads_a_400_elsewhere_as_an_invalid_request_and_other_4xx_too(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/account/me", status=400)
    rsps.add(responses.GET, f"{API}/account/me", status=422)
    for _ in range(2):
        with pytest.raises(ProviderRejected) as caught:
            client.balance()
        assert caught.value.code == "invalid_request"


def test_it_reads_a_400_on_cancel_as_not_allowed(client, rsps):
    from providers.tests.support import details

    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details())
    rsps.add(responses.POST, f"{API}/verifications/lr_01ABC/cancel", status=400)
    with pytest.raises(ProviderRejected) as caught:
        client.cancel("lr_01ABC")
    assert caught.value.code == "not_allowed"


def test_it_maps_404_to_not_found(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_nope", status=404)
    with pytest.raises(ProviderRejected) as caught:
        client.status("lr_nope")
    assert caught.value.code == "not_found"


@pytest.mark.parametrize("status, code, retry_after", [
    (429, "rate_limited", 3), (500, "upstream_error", None), (502, "upstream_error", None),
    (503, "upstream_error", 2), (504, "upstream_error", None), (408, "upstream_timeout", None),
])
def test_it_maps_rate_limits_and_server_errors_to_unavailable(client, rsps, status, code, retry_after):
    add_auth(rsps)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    rsps.add(responses.POST, f"{API}/pricing/verifications", status=status, headers=headers)
    with pytest.raises(ProviderUnavailable) as caught:
        client.quote(service="discord", capability="sms")
    assert (caught.value.code, caught.value.retry_after) == (code, retry_after)


@pytest.mark.parametrize("exc, code", [
    (requests.exceptions.ReadTimeout("read timed out"), "timeout"),
    (requests.exceptions.ConnectTimeout("connect timed out"), "timeout"),
    (requests.exceptions.ConnectionError("refused"), "connection_error"),
    (requests.exceptions.RetryError("too many 503"), "upstream_error"),
    (requests.exceptions.ChunkedEncodingError("broken"), "provider_unavailable"),
])
def test_it_maps_transport_failures_to_unavailable(client, rsps, exc, code):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", body=exc)
    with pytest.raises(ProviderUnavailable) as caught:
        client.status("lr_01ABC")
    assert caught.value.code == code
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("body", [b"<html>oops</html>", b""])
def test_it_maps_an_unreadable_success_to_unavailable(client, rsps, body):
    add_auth(rsps)
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", body=body, status=200)
    with pytest.raises(ProviderUnavailable) as caught:
        client.status("lr_01ABC")
    assert caught.value.code == "bad_response"


def test_it_turns_a_purchase_conflict_that_outlasts_the_waits_into_unavailable(client, rsps, sleeps):
    add_auth(rsps)
    quoted(rsps)
    create = rsps.add(responses.POST, f"{API}/verifications", status=409,
                      json={"errorCode": "IdempotencyConflict", "errorDescription": "in flight"})
    with pytest.raises(ProviderUnavailable) as caught:
        rent(client)
    assert caught.value.code == "purchase_in_progress"
    assert create.call_count == 4  # bounded
    assert len(sleeps) == 3 and sum(sleeps) <= 5
    assert {c.request.headers["Idempotency-Key"] for c in create.calls} == {"ver-1"}


def test_it_never_puts_secrets_in_errors_or_logs(client, rsps, caplog):
    caplog.set_level(logging.DEBUG)
    add_auth(rsps)
    echo = f"bad key {API_KEY} and token {TOKEN}"
    rsps.add(responses.POST, f"{API}/pricing/verifications", status=400,
             json={"errorCode": "Whatever", "errorDescription": echo})
    rsps.add(responses.POST, f"{API}/pricing/verifications", status=500, json={"errorDescription": echo})
    rsps.add(responses.POST, f"{API}/pricing/verifications", body=requests.exceptions.ConnectionError(echo))
    errors = []
    for _ in range(3):
        with pytest.raises((ProviderRejected, ProviderUnavailable)) as caught:
            client.quote(service="discord", capability="sms")
        errors.append(caught.value)
    text = " ".join(f"{e} {e.message} {e!r}" for e in errors) + caplog.text
    assert "[redacted]" in text
    assert API_KEY not in text and TOKEN not in text
    assert "SECRET" not in text


def test_it_reports_bad_credentials_as_unavailable_without_echoing_them(client, rsps):
    rsps.add(responses.POST, f"{API}/auth", status=401, body=f"key {API_KEY} rejected")
    with pytest.raises(ProviderUnavailable) as caught:
        client.balance()
    assert caught.value.code == "upstream_auth_failed"
    assert API_KEY not in str(caught.value)
