"""Retries only where a repeat is harmless (reads, setStatus 6/8), never for a purchase; timeouts on
every call (sms-activate-protocol.md §13)."""
from decimal import Decimal

import pytest

from fakes.smsactivate import Fault
from providers.base import ProviderRejected, ProviderUnavailable
from providers.tests.smsactivate_support import answer, calls_of, make_client, sent


def rent(client):
    return client.rent(service="whatsapp", capability="sms", max_price=Decimal("2.00"), idempotency_key="ver-1",
                       country="GB")


@pytest.mark.parametrize("action", ["getNumberV2", "getNumber"])
def test_a_purchase_is_sent_once_on_a_500(smsa_wire, rsps, action):
    if action == "getNumber":
        answer(rsps, "getNumberV2", "BAD_ACTION")
    target = answer(rsps, action, "Internal Server Error", status=500)
    with pytest.raises(ProviderUnavailable) as caught:
        rent(smsa_wire)
    assert caught.value.code == "lost_answer"
    assert target.call_count == 1


def test_a_purchase_is_sent_once_on_error_sql(smsa_wire, rsps):
    target = answer(rsps, "getNumberV2", "ERROR_SQL")
    with pytest.raises(ProviderUnavailable):
        rent(smsa_wire)
    assert target.call_count == 1


def test_a_status_read_is_retried_on_5xx_and_error_sql_and_succeeds(smsa_wire, rsps, sleeps):
    answer(rsps, "getStatusV2", "", status=503)
    answer(rsps, "getStatusV2", "ERROR_SQL")
    answer(rsps, "getStatusV2", {"verificationType": 0, "sms": None, "call": None})
    assert smsa_wire.status("100042").state == "pending"
    assert len(calls_of(rsps, "getStatusV2")) == 3
    assert len(sleeps) == 2


def test_a_read_gives_up_after_max_retries(smsa_wire, rsps):
    answer(rsps, "getBalance", "", status=502)
    with pytest.raises(ProviderUnavailable) as caught:
        smsa_wire.balance()
    assert caught.value.code == "upstream_error"
    assert len(calls_of(rsps, "getBalance")) == 1 + 2


@pytest.mark.parametrize("status_code", [8, 6])
def test_setstatus_8_and_6_are_retried(smsa_wire, rsps, status_code):
    answer(rsps, "setStatus", "", status=500)
    answer(rsps, "setStatus", "ACCESS_CANCEL" if status_code == 8 else "ACCESS_ACTIVATION")
    (smsa_wire.cancel if status_code == 8 else smsa_wire.finish)("100042")
    calls = calls_of(rsps, "setStatus")
    assert len(calls) == 2 and {sent(c)["status"] for c in calls} == {str(status_code)}


def test_a_retry_after_within_the_cap_is_waited_out(smsa_wire, rsps, sleeps):
    answer(rsps, "getBalance", "", status=429, headers={"Retry-After": "3"})
    answer(rsps, "getBalance", "ACCESS_BALANCE:10.00")
    assert smsa_wire.balance() == Decimal("10.00")
    assert sleeps == [3.0]


def test_a_retry_after_above_the_cap_goes_back_to_the_caller(smsa_wire, rsps, sleeps):
    answer(rsps, "getBalance", "", status=429, headers={"Retry-After": "600"})
    with pytest.raises(ProviderUnavailable) as caught:
        smsa_wire.balance()
    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 600)
    assert len(calls_of(rsps, "getBalance")) == 1 and sleeps == []


def test_a_business_answer_is_not_retried(smsa_wire, rsps):
    answer(rsps, "getStatusV2", "NO_ACTIVATION")
    with pytest.raises(ProviderRejected):
        smsa_wire.status("100042")
    assert len(calls_of(rsps, "getStatusV2")) == 1


def test_a_hanging_read_times_out_and_is_not_repeated(smsa_server, sleeps):
    fake = smsa_server.fake
    fake.add_fault(Fault(action="getBalance", hang=30, count=-1))
    client = make_client(smsa_server.base_url, sleeps, read_timeout=0.2)
    with pytest.raises(ProviderUnavailable) as caught:
        client.balance()
    assert caught.value.code == "timeout"
    assert fake.count("getBalance") == 1  # a slow provider is not asked again at once


def test_a_hanging_purchase_is_a_lost_answer(smsa_server, sleeps):
    smsa_server.fake.add_fault(Fault(action="getNumberV2", stall=30))
    client = make_client(smsa_server.base_url, sleeps, read_timeout=0.2)
    with pytest.raises(ProviderUnavailable) as caught:
        rent(client)
    assert caught.value.code == "lost_answer"
    assert smsa_server.fake.count("getNumberV2") == 1
    assert len(smsa_server.fake.activations) == 1  # it was bought all the same


def test_a_connection_dropped_during_a_read_is_retried(smsa_server, smsa, sleeps):
    smsa_server.fake.add_fault(Fault(action="getBalance", drop=True))
    assert smsa.balance() == Decimal("100.00")
    assert smsa_server.fake.count("getBalance") == 2


def test_an_injected_500_on_get_status_is_retried_against_the_fake(smsa_server, smsa):
    rental = rent(smsa)
    smsa_server.fake.add_fault(Fault(action="getStatusV2", status=500, count=2))
    assert smsa.messages(rental.reference) == []
    assert smsa_server.fake.count("getStatusV2") == 3


def test_a_refused_connection_is_retried_by_the_transport_then_unavailable(sleeps):
    from providers.tests.support import closed_port

    client = make_client(f"http://127.0.0.1:{closed_port()}", sleeps, max_retries=1)
    with pytest.raises(ProviderUnavailable) as caught:
        client.balance()
    assert caught.value.code == "connection_error"
