"""Every answer of the protocol mapped to our two error families, in text, JSON and 4xx-JSON forms
(sms-activate-protocol.md §13, "Errors"), at the `responses` network edge."""
import logging
from decimal import Decimal

import pytest

from providers.base import ProviderRejected, ProviderUnavailable
from providers.tests.smsactivate_support import SMSA_KEY, answer, calls_of

REJECTED = [
    ("NO_NUMBERS", "no_numbers"), ("OUT_OF_STOCK", "no_numbers"),
    ("BAD_SERVICE", "unknown_service"), ("WRONG_SERVICE", "unknown_service"),
    ("BAD_COUNTRY", "unknown_country"), ("WRONG_COUNTRY_ID", "unknown_country"),
    ("BAD_OPERATOR", "invalid_request"), ("WRONG_OPERATOR", "invalid_request"),
    ("WRONG_MAX_PRICE:1.75", "price_above_cap"), ("MAX_PRICE_EXCEEDED", "price_above_cap"),
    ("NO_BALANCE", "insufficient_upstream_balance"), ("NO_MONEY", "insufficient_upstream_balance"),
    ("CHANNELS_LIMIT", "too_many_unfinished"), ("TOO_MANY_ACTIVE_RENTALS", "too_many_unfinished"),
    ("ACCOUNT_INACTIVE", "not_allowed"), ("BANNED:'2026-11-26 10:00:00'", "not_allowed"),
    ("ORDER_ALREADY_EXISTS", "invalid_request"),
]


def rent(client, **extra):
    return client.rent(service="whatsapp", capability="sms", max_price=Decimal("2.00"), idempotency_key="ver-1",
                       country="GB", **extra)


@pytest.mark.parametrize("token,code", REJECTED)
def test_it_maps_a_purchase_refusal_to_rejected(smsa_wire, rsps, token, code):
    answer(rsps, "getNumberV2", token)
    with pytest.raises(ProviderRejected) as caught:
        rent(smsa_wire)
    assert caught.value.code == code
    assert token.partition(":")[0] in caught.value.message


def test_it_keeps_the_minimum_price_of_wrong_max_price_in_the_message(smsa_wire, rsps):
    answer(rsps, "getNumberV2", "WRONG_MAX_PRICE:1.75")
    with pytest.raises(ProviderRejected) as caught:
        rent(smsa_wire)
    assert "WRONG_MAX_PRICE:1.75" in caught.value.message


@pytest.mark.parametrize("status,body,code", [
    (402, {"title": "NO_BALANCE", "details": "Top up"}, "insufficient_upstream_balance"),
    (409, {"title": "NO_NUMBERS", "details": "none"}, "no_numbers"),
    (400, {"title": "BAD_SERVICE"}, "unknown_service"),
    (200, {"status": "error", "error": "NO_NUMBERS"}, "no_numbers"),
    (200, {"status": "error", "message": "BAD_COUNTRY"}, "unknown_country"),
])
def test_it_reads_json_error_bodies(smsa_wire, rsps, status, body, code):
    answer(rsps, "getNumberV2", body, status=status)
    with pytest.raises(ProviderRejected) as caught:
        rent(smsa_wire)
    assert caught.value.code == code


@pytest.mark.parametrize("token", ["NO_ACTIVATION", "WRONG_ACTIVATION_ID", "BAD_ID"])
def test_an_unknown_activation_is_not_found(smsa_wire, rsps, token):
    answer(rsps, "getStatusV2", token)
    with pytest.raises(ProviderRejected) as caught:
        smsa_wire.status("100042")
    assert caught.value.code == "not_found"


@pytest.mark.parametrize("token", ["BAD_KEY", "NO_KEY"])
def test_a_refused_key_is_unavailable_and_alerts(smsa_wire, rsps, caplog, token):
    answer(rsps, "getBalance", token)
    if token == "NO_KEY":  # on POST, NO_KEY first moves the key to the query; the GET says it again
        rsps.add("GET", "https://smsa.test/stubs/handler_api.php", body="NO_KEY")
    with caplog.at_level(logging.ERROR, logger="providers.smsactivate"):
        with pytest.raises(ProviderUnavailable) as caught:
            smsa_wire.balance()
    assert caught.value.code == "upstream_auth_failed"
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR and "ALERT" in r.getMessage()]
    assert len(alerts) == 1 and "SMSACTIVATE_API_KEY" in alerts[0].getMessage()
    assert SMSA_KEY not in caplog.text


@pytest.mark.parametrize("token", ["ERROR_SQL", "SQL_ERROR", "SERVER_ERROR"])
def test_a_server_error_token_is_unavailable(smsa_wire, rsps, token):
    answer(rsps, "getBalance", token)
    with pytest.raises(ProviderUnavailable) as caught:
        smsa_wire.balance()
    assert caught.value.code == "upstream_error"


def test_too_many_requests_is_rate_limited_with_its_hint(smsa_wire, rsps):
    answer(rsps, "getBalance", "TOO_MANY_REQUESTS", headers={"Retry-After": "30"})
    with pytest.raises(ProviderUnavailable) as caught:
        smsa_wire.balance()
    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 30)


@pytest.mark.parametrize("status,body", [(500, "boom"), (502, "<html>bad gateway</html>"), (503, "")])
def test_http_5xx_is_unavailable(smsa_wire, rsps, status, body):
    answer(rsps, "getBalance", body, status=status)
    with pytest.raises(ProviderUnavailable) as caught:
        smsa_wire.balance()
    assert caught.value.code == "upstream_error"


@pytest.mark.parametrize("body", ["<html>maintenance</html>", "SOMETHING_NEW", "ACCESS_BALANCE:lots", "", "{not json"])
def test_an_unreadable_answer_is_unavailable(smsa_wire, rsps, body):
    answer(rsps, "getBalance", body)
    with pytest.raises(ProviderUnavailable) as caught:
        smsa_wire.balance()
    assert caught.value.code == "bad_response"


@pytest.mark.parametrize("status,body", [
    (500, "Internal Server Error"), (200, "ERROR_SQL"), (200, "<html>oops</html>"), (200, "ACCESS_NUMBER:abc:"),
    (200, {"activationId": 5}), (404, "Not Found"),
])
def test_an_unclear_purchase_answer_is_a_lost_answer(smsa_wire, rsps, status, body):
    answer(rsps, "getNumberV2", body, status=status)
    with pytest.raises(ProviderUnavailable) as caught:
        rent(smsa_wire)
    assert caught.value.code == "lost_answer"
    assert "may have been bought" in caught.value.message


@pytest.mark.parametrize("token,code", [("BAD_KEY", "upstream_auth_failed"), ("TOO_MANY_REQUESTS", "rate_limited")])
def test_a_purchase_failure_that_proves_nothing_was_sold_keeps_its_code(smsa_wire, rsps, token, code):
    answer(rsps, "getNumberV2", token)
    with pytest.raises(ProviderUnavailable) as caught:
        rent(smsa_wire)
    assert caught.value.code == code


def test_a_refused_connection_on_a_purchase_is_not_a_lost_answer(sleeps):
    from providers.tests.smsactivate_support import make_client
    from providers.tests.support import closed_port

    client = make_client(f"http://127.0.0.1:{closed_port()}", sleeps, max_retries=0)
    with pytest.raises(ProviderUnavailable) as caught:
        rent(client)
    assert caught.value.code == "connection_error"


@pytest.mark.parametrize("token", ["BAD_STATUS", "ACCESS_READY", "OTP_RECEIVED"])
def test_a_cancel_refused_because_a_code_arrived_is_not_allowed(smsa_wire, rsps, token):
    answer(rsps, "setStatus", token)
    with pytest.raises(ProviderRejected) as caught:
        smsa_wire.cancel("100042")
    assert caught.value.code == "not_allowed"


@pytest.mark.parametrize("token", ["ACCESS_CANCEL", "STATUS_CANCEL", "ACCESS_CANCEL_ALREADY"])
def test_a_cancel_or_a_repeated_cancel_is_done(smsa_wire, rsps, token):
    call = answer(rsps, "setStatus", token)
    smsa_wire.cancel("100042")
    assert call.call_count == 1


def test_a_missing_key_is_unavailable_without_any_request(rsps, sleeps):
    from providers.tests.smsactivate_support import SMSA_BASE, make_client

    client = make_client(SMSA_BASE, sleeps, api_key="")
    with pytest.raises(ProviderUnavailable) as caught:
        client.balance()
    assert caught.value.code == "not_configured"
    assert calls_of(rsps, "getBalance") == []


def test_an_unknown_service_is_refused_before_any_request(smsa_wire, rsps):
    with pytest.raises(ProviderRejected) as caught:
        smsa_wire.rent(service="a service with spaces", capability="sms", max_price=Decimal("1"),
                       idempotency_key="ver-1", country="GB")
    assert caught.value.code == "unknown_service"
    assert len(rsps.calls) == 0
