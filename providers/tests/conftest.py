"""Fixtures for provider tests: the TextVerified client at the `responses` network edge, a fake
TextVerified over real HTTP, and two cache clients that look like two processes."""
from __future__ import annotations

import pytest
import responses as responses_lib

from fakes.textverified import start_fake_server
from providers.tests.support import API_KEY, BASE, USERNAME, Sleeps, drop_redis_keys, locmem_pair, redis_pair
from providers.textverified import TextVerifiedClient


@pytest.fixture
def rsps():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def client(sleeps):
    return TextVerifiedClient(base_url=BASE, api_key=API_KEY, username=USERNAME, connect_timeout=1, read_timeout=2,
                              max_retries=3, retry_after_cap=5, backoff_factor=0, backoff_jitter=0, sleep=sleeps)


@pytest.fixture
def fake_server():
    server = start_fake_server(api_key=API_KEY, username=USERNAME, sms_delay=0)
    yield server
    server.stop()


@pytest.fixture
def fake_client(fake_server, sleeps):
    return TextVerifiedClient(base_url=fake_server.base_url, api_key=API_KEY, username=USERNAME, connect_timeout=1,
                              read_timeout=2, backoff_factor=0, backoff_jitter=0, sleep=sleeps)


@pytest.fixture(params=["locmem", "redis"])
def two_caches(request):
    """Two cache clients over one store, on local memory and on Redis db 2."""
    if request.param == "locmem":
        first, second = locmem_pair()
        yield first, second
        first.clear()
        return
    first, second = redis_pair()
    yield first, second
    drop_redis_keys(first)



# --- the SMS-Activate-protocol client, against our fake provider or at the `responses` edge ----------

@pytest.fixture
def smsa_clock():
    from providers.tests.smsactivate_support import FakeUtcClock

    return FakeUtcClock()


@pytest.fixture
def smsa_server(smsa_clock):
    """The fake provider on a free port, on a clock that moves only when told (whole seconds)."""
    from fakes.smsactivate import start_fake_smsactivate
    from providers.tests.smsactivate_support import SMSA_KEY

    server = start_fake_smsactivate(api_key=SMSA_KEY, clock=smsa_clock)
    yield server
    server.stop()


@pytest.fixture
def smsa(smsa_server, sleeps):
    """The real client pointed at the fake provider."""
    from providers.tests.smsactivate_support import make_client

    return make_client(smsa_server.base_url, sleeps)


@pytest.fixture
def smsa_wire(sleeps):
    """The real client pointed at a `responses`-mocked host, for exact wire cases."""
    from providers.tests.smsactivate_support import SMSA_BASE, make_client

    return make_client(SMSA_BASE, sleeps)
