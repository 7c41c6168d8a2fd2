"""Retries: idempotent GETs only, bounded, with a capped Retry-After; a purchase is never re-sent
by the transport (only by us, deliberately, with the same Idempotency-Key)."""
from decimal import Decimal

import pytest
import responses

from providers.base import ProviderUnavailable
from providers.tests.support import API, API_KEY, BASE, USERNAME, add_auth, details
from providers.textverified import TextVerifiedClient


def status_url():
    return f"{API}/verifications/lr_01ABC"


def test_it_retries_a_get_on_5xx_and_succeeds(client, rsps):
    add_auth(rsps)
    for status in (503, 502, 500):
        rsps.add(responses.GET, status_url(), status=status)
    ok = rsps.add(responses.GET, status_url(), json=details())
    assert client.status("lr_01ABC").reference == "lr_01ABC"
    assert len([c for c in rsps.calls if c.request.url == status_url()]) == 4
    assert ok.call_count == 1


def test_it_gives_up_after_max_retries_and_reports_the_last_answer(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, status_url(), status=429, headers={"Retry-After": "2"})
    with pytest.raises(ProviderUnavailable) as caught:
        client.status("lr_01ABC")
    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 2)
    assert len([c for c in rsps.calls if c.request.url == status_url()]) == 1 + 3


def test_it_does_not_wait_out_a_retry_after_above_the_cap(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, status_url(), status=503, headers={"Retry-After": "3600"})
    with pytest.raises(ProviderUnavailable) as caught:
        client.status("lr_01ABC")
    assert caught.value.retry_after == 3600  # the hint goes up to the caller instead
    assert len([c for c in rsps.calls if c.request.url == status_url()]) == 1


def test_it_does_not_retry_4xx(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, status_url(), status=404)
    with pytest.raises(Exception):
        client.status("lr_01ABC")
    assert len([c for c in rsps.calls if c.request.url == status_url()]) == 1


@pytest.mark.parametrize("path", ["/verifications", "/pricing/verifications"])
def test_it_never_retries_a_post_on_5xx(client, rsps, path):
    add_auth(rsps)
    if path == "/verifications":
        rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})
    target = rsps.add(responses.POST, f"{API}{path}", status=503)
    with pytest.raises(ProviderUnavailable):
        client.rent(service="discord", capability="sms", country="US", max_price=Decimal("1"), idempotency_key="ver-1")
    assert target.call_count == 1


def test_it_retries_a_purchase_in_flight_with_the_same_key_and_gets_one_verification(client, rsps, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})
    conflict = rsps.add(responses.POST, f"{API}/verifications", status=409,
                        json={"errorCode": "IdempotencyConflict", "errorDescription": "still processing"})
    rsps.add(responses.POST, f"{API}/verifications", status=409, json={"errorCode": "IdempotencyConflict"},
             headers={"Retry-After": "30"})
    done = rsps.add(responses.POST, f"{API}/verifications", status=201,
                    headers={"Location": f"{API}/verifications/lr_01ABC"})
    rsps.add(responses.GET, status_url(), json=details())
    rental = client.rent(service="discord", capability="sms", country="US",
                         max_price=Decimal("1"), idempotency_key="ver-1")
    assert rental.reference == "lr_01ABC"
    assert conflict.call_count == 1 and done.call_count == 1
    assert sleeps == [0.5, 1.0]  # brief, growing, never the 30 s the upstream suggested
    keys = {c.request.headers["Idempotency-Key"] for c in rsps.calls if c.request.url == f"{API}/verifications"}
    assert keys == {"ver-1"}


def test_its_retry_policy_is_safe_for_posts_and_capped():
    client = TextVerifiedClient(base_url=BASE, api_key=API_KEY, username=USERNAME, max_retries=3,
                                retry_after_cap=4, backoff_factor=0.5, backoff_jitter=0.5)
    retry = client.retry
    # frozenset() would mean "every method": the allow-list must name GET and only GET.
    assert retry.allowed_methods == frozenset({"GET"})
    assert retry.read is False and retry.other == 0  # nothing is re-sent once it may have arrived
    assert retry.connect == 3  # a refused connection sent nothing, safe for any method
    assert retry.status_forcelist == {429, 500, 502, 503, 504}
    assert retry.backoff_factor == 0.5 and retry.backoff_jitter == 0.5 and retry.backoff_max == 4
    assert retry.respect_retry_after_header and not retry.raise_on_status
    assert not retry.is_retry("POST", 503) and retry.is_retry("GET", 503)
    later = retry.increment(method="GET", url="/x", response=None, error=None)
    assert later.retry_after_cap == 4  # survives Retry.new()
    from urllib3.util.retry import RequestHistory

    failed = RequestHistory("GET", "/x", None, 503, None)
    waits = [retry.new(history=(failed,) * n).get_backoff_time() for n in range(2, 8)]
    assert all(0 < w <= 4 for w in waits) and waits[-1] == 4  # exponential, jittered, capped


def test_it_retries_a_connection_refusal_even_for_a_post():
    # The only transport-level retry a POST gets: the connection never opened, nothing was sent.
    from urllib3.exceptions import NewConnectionError, ReadTimeoutError

    client = TextVerifiedClient(base_url=BASE, api_key=API_KEY, username=USERNAME, max_retries=2)
    retry = client.retry.increment(method="POST", url="/v", error=NewConnectionError(None, "refused"))
    assert retry.connect == 1
    with pytest.raises(ReadTimeoutError):
        client.retry.increment(method="POST", url="/v", error=ReadTimeoutError(None, "/v", "slow"))
    with pytest.raises(ReadTimeoutError):
        client.retry.increment(method="GET", url="/v", error=ReadTimeoutError(None, "/v", "slow"))
