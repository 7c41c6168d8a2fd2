"""A poll's cache reads: its answer and the caller's credentials in one get_many, then the rate
limit's own calls (django-ratelimit's get_usage). (A forced refresh answers from a read after its
check, not from the early one: test_api_lifecycle's test_the_code_does_not_show_before_the_sms_arrives.)"""
import pytest
from django.core.cache import caches

from verifications.tests.lifecycle import fund, make_shop
from verifications.tests.test_poll_cache import buy, jwt_client, key_client


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def cache_calls(monkeypatch):
    """The calls our code and django-ratelimit make on the default cache (not those a backend makes
    on itself: the local-memory cache's get_many and incr call its own get and set)."""
    backend = caches["default"]
    seen, depth = [], [0]
    for name in ("get", "get_many", "set", "add", "incr", "delete"):
        original = getattr(backend, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            if not depth[0]:
                seen.append(_name)
            depth[0] += 1
            try:
                return _original(*args, **kwargs)
            finally:
                depth[0] -= 1

        monkeypatch.setattr(backend, name, counted)
    return seen


@pytest.mark.parametrize("credential", [key_client, jwt_client])
def test_a_cached_poll_reads_the_cache_once_then_counts_its_rate_limit(shop, alice, credential, cache_calls):
    fund(alice, "5.00")
    api = credential(alice)
    verification = buy(api)
    for _ in range(3):  # the first polls fill the answer, the key's last use and this process's token memory
        api.get(f"/verify/{verification.pk}/messages")
    cache_calls.clear()
    assert api.get(f"/verify/{verification.pk}/messages").status_code == 200
    assert cache_calls == ["get_many", "add", "incr"]

