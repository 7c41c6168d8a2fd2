"""The provider's API key never reaches a log line, an exception message or a URL we log
(sms-activate-protocol.md §7 and §13), including when it must travel in the query string."""
import logging
from decimal import Decimal

import pytest

from fakes.smsactivate import Fault, start_fake_smsactivate
from providers.base import ProviderError
from providers.tests.smsactivate_support import SMSA_KEY, answer, make_client


def full_flow(client, server) -> list[ProviderError]:
    """Buy, read, receive, finish, cancel, fail in several ways; returns the errors raised."""
    failures = []
    rental = client.rent(service="whatsapp", capability="sms", max_price=Decimal("5"), idempotency_key="ver-1",
                         country="GB")
    client.messages(rental.reference)
    server.fake.deliver_sms(int(rental.reference), text="Your code is 123456")
    client.messages(rental.reference)
    client.finish(rental.reference)
    other = client.rent(service="telegram", capability="sms", max_price=Decimal("5"), idempotency_key="ver-2",
                        country="IN")
    client.cancel(other.reference)
    client.balance()
    client.countries()
    client.services()
    server.fake.add_fault(Fault(action="getBalance", status=500, count=-1))
    server.fake.add_fault(Fault(action="getNumberV2", drop=True))
    for attempt in (client.balance, lambda: client.rent(service="whatsapp", capability="sms", max_price=Decimal("5"),
                                                        idempotency_key="ver-3", country="GB"),
                    lambda: client.status("1")):
        try:
            attempt()
        except ProviderError as exc:
            failures.append(exc)
    return failures


@pytest.mark.parametrize("query_only", [False, True])
def test_the_key_is_in_no_log_line_and_no_error(caplog, query_only):
    server = start_fake_smsactivate(api_key=SMSA_KEY, query_only=query_only)
    try:
        client = make_client(server.base_url)
        with caplog.at_level(logging.DEBUG):
            failures = full_flow(client, server)
    finally:
        server.stop()
    assert len(failures) == 3
    assert SMSA_KEY not in caplog.text
    for exc in failures:
        assert SMSA_KEY not in str(exc) and SMSA_KEY not in repr(exc.args)
    if query_only:
        # urllib3 did log the request lines, query string included: masked.
        assert client._transport.key_in_query
        assert "api_key=***" in caplog.text


def test_a_wrong_key_is_not_logged_either(caplog, smsa_server):
    wrong = "wrong-key-SECRET-0000"
    client = make_client(smsa_server.base_url, api_key=wrong)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ProviderError) as caught:
            client.balance()
    assert caught.value.code == "upstream_auth_failed"
    assert "ALERT" in caplog.text
    assert wrong not in caplog.text and wrong not in str(caught.value)


def test_a_key_echoed_by_the_provider_is_scrubbed(smsa_wire, rsps, caplog):
    answer(rsps, "getBalance", f"<html>invalid api_key={SMSA_KEY} given</html>")
    answer(rsps, "getNumberV2", f"BANNED:{SMSA_KEY}")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ProviderError) as unreadable:
            smsa_wire.balance()
        with pytest.raises(ProviderError) as banned:
            smsa_wire.rent(service="wa", capability="sms", max_price=Decimal("1"), idempotency_key="k", country="GB")
    assert "unreadable answer" in caplog.text
    assert SMSA_KEY not in caplog.text
    assert SMSA_KEY not in str(unreadable.value) and SMSA_KEY not in str(banned.value)
    assert "[redacted]" in str(banned.value)


def test_the_key_goes_in_the_form_body_on_the_wire(smsa_wire, rsps):
    call = answer(rsps, "getBalance", "ACCESS_BALANCE:1.00")
    smsa_wire.balance()
    request = call.calls[0].request
    assert request.method == "POST"
    assert SMSA_KEY not in request.url and request.url.endswith("/stubs/handler_api.php?action=getBalance")
    assert f"api_key={SMSA_KEY}" in request.body
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
