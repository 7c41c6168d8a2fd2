"""Timeouts over real sockets: a stalled upstream costs one read timeout, and a purchase that timed
out is never re-sent by the transport; repeating it with the same key does not buy twice."""
import socket
import time
from decimal import Decimal

import pytest

from providers.base import ProviderUnavailable
from fakes.textverified import Fault
from providers.tests.support import API_KEY, USERNAME
from providers.textverified import TextVerifiedClient


@pytest.fixture
def silent_server():
    """Accepts connections (the kernel completes the handshake) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("call", ["balance", "quote"])
def test_it_returns_within_the_read_timeout_when_the_upstream_stalls(silent_server, call):
    client = TextVerifiedClient(base_url=silent_server, api_key=API_KEY, username=USERNAME, connect_timeout=0.5,
                                read_timeout=0.5, max_retries=3)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        if call == "balance":
            client.balance()
        else:
            client.quote(service="discord", capability="sms")
    elapsed = time.monotonic() - started
    assert caught.value.code == "timeout"
    assert 0.4 < elapsed < 1.2  # one read timeout: a stalled upstream is not asked again


def test_a_purchase_that_times_out_is_not_resent_and_repeating_it_buys_once(fake_server):
    client = TextVerifiedClient(base_url=fake_server.base_url, api_key=API_KEY, username=USERNAME, read_timeout=0.5,
                                max_retries=3, backoff_factor=0)
    # Upstream processes the purchase, then holds the answer back: the ambiguous timeout.
    fake_server.fake.add_fault(Fault(stall=30, path="/api/pub/v2/verifications", method="POST", count=1))
    with pytest.raises(ProviderUnavailable) as caught:
        client.rent(service="discord", capability="sms", country="US",
                    max_price=Decimal("1.00"), idempotency_key="ver-77")
    assert caught.value.code == "timeout"
    assert fake_server.fake.count("POST", "/api/pub/v2/verifications") == 1
    assert len(fake_server.fake.records) == 1
    balance_after_one = fake_server.fake.balance

    rental = client.rent(service="discord", capability="sms", country="US",
                         max_price=Decimal("1.00"), idempotency_key="ver-77")
    assert fake_server.fake.count("POST", "/api/pub/v2/verifications") == 2
    assert list(fake_server.fake.records) == [rental.reference]
    assert fake_server.fake.balance == balance_after_one
