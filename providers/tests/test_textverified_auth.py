"""Bearer tokens: one per account in the shared cache, refreshed early, re-obtained once on a 401."""
import pytest
import responses
import time_machine
from django.core.cache import cache
from responses import matchers

from providers.base import ProviderUnavailable
from providers.tests.support import API, API_KEY, BASE, TOKEN, USERNAME, add_auth
from providers.textverified import TextVerifiedClient


def me(rsps, **kwargs):
    return rsps.add(responses.GET, f"{API}/account/me", json={"currentBalance": 1}, **kwargs)


def test_it_authenticates_with_the_key_and_username_headers_only(client, rsps):
    auth = rsps.add(responses.POST, f"{API}/auth", json={"token": TOKEN, "expiresIn": 899},
                    match=[matchers.header_matcher({"X-API-KEY": API_KEY, "X-API-USERNAME": USERNAME})])
    me(rsps, match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})])
    client.balance()
    assert auth.call_count == 1
    assert "Authorization" not in auth.calls[0].request.headers
    assert "X-API-KEY" not in rsps.calls[1].request.headers


def test_it_shares_one_token_between_clients_through_the_cache(client, rsps):
    auth = add_auth(rsps)
    me(rsps)
    other_worker = TextVerifiedClient(base_url=BASE, api_key=API_KEY, username=USERNAME, backoff_factor=0)
    client.balance()
    other_worker.balance()
    client.balance()
    assert auth.call_count == 1


def test_it_refreshes_the_token_when_less_than_a_minute_is_left(client, rsps):
    auth = add_auth(rsps, expires_in=900)
    me(rsps)
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False) as traveller:
        client.balance()
        traveller.shift(900 - 61)
        client.balance()
        assert auth.call_count == 1
        traveller.shift(2)  # 59 s left
        client.balance()
        assert auth.call_count == 2


def test_it_uses_expires_at_when_expires_in_is_missing(client, rsps):
    rsps.add(responses.POST, f"{API}/auth", json={"token": TOKEN, "expiresAt": "2026-06-01T12:15:00.1234567+00:00"})
    me(rsps)
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False) as traveller:
        client.balance()
        traveller.shift(13 * 60)
        client.balance()
        assert len([c for c in rsps.calls if c.request.url.endswith("/auth")]) == 1
        traveller.shift(61)
        client.balance()
        assert len([c for c in rsps.calls if c.request.url.endswith("/auth")]) == 2


def test_on_a_401_it_drops_the_token_reauthenticates_once_and_retries_once(client, rsps):
    add_auth(rsps, token="eyJ-old")
    add_auth(rsps, token="eyJ-new")
    rsps.add(responses.GET, f"{API}/account/me", status=401,
             match=[matchers.header_matcher({"Authorization": "Bearer eyJ-old"})])
    rsps.add(responses.GET, f"{API}/account/me", json={"currentBalance": 7},
             match=[matchers.header_matcher({"Authorization": "Bearer eyJ-new"})])
    assert client.balance() == 7
    assert [c.request.url.rsplit("/", 1)[1] for c in rsps.calls] == ["auth", "me", "auth", "me"]
    assert cache.get(client._tokens.key)["token"] == "eyJ-new"


def test_a_second_401_is_reported_not_retried_again(client, rsps):
    auth = add_auth(rsps)
    me_calls = rsps.add(responses.GET, f"{API}/account/me", status=401)
    with pytest.raises(ProviderUnavailable) as caught:
        client.balance()
    assert caught.value.code == "upstream_auth_failed"
    assert (auth.call_count, me_calls.call_count) == (2, 2)


def test_a_purchase_refused_with_401_is_resent_once_with_the_same_key(client, rsps):
    from decimal import Decimal

    from providers.tests.support import details

    add_auth(rsps)
    rsps.add(responses.POST, f"{API}/pricing/verifications", json={"price": 0.5})
    create = rsps.add(responses.POST, f"{API}/verifications", status=401)
    rsps.add(responses.POST, f"{API}/verifications", status=201, headers={"Location": f"{API}/verifications/lr_01ABC"})
    rsps.add(responses.GET, f"{API}/verifications/lr_01ABC", json=details())
    client.rent(service="discord", capability="sms", country="US", max_price=Decimal("1"), idempotency_key="ver-9")
    posts = [c for c in rsps.calls if c.request.url == f"{API}/verifications" and c.request.method == "POST"]
    assert len(posts) == 2 and create.call_count == 1
    assert {c.request.headers["Idempotency-Key"] for c in posts} == {"ver-9"}


def test_it_keeps_working_with_a_per_process_token_when_the_cache_is_down(rsps):
    from django.core.cache.backends.redis import RedisCache

    from providers.tests.support import closed_port

    auth = add_auth(rsps)
    me(rsps)
    dead = TextVerifiedClient(base_url=BASE, api_key=API_KEY, username=USERNAME, backoff_factor=0,
                              cache=RedisCache(f"redis://127.0.0.1:{closed_port()}/0", {}))
    dead.balance()
    dead.balance()
    assert auth.call_count == 1


def test_it_says_when_credentials_are_not_configured(rsps):
    unconfigured = TextVerifiedClient(base_url=BASE, api_key=None, username=None)
    with pytest.raises(ProviderUnavailable) as caught:
        unconfigured.balance()
    assert caught.value.code == "not_configured"
    assert len(rsps.calls) == 0
