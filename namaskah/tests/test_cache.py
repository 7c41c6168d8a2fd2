"""namaskah.cache.RedisCache: Django's contract kept, with one client per pool and a one-trip incr()."""
import uuid

import pytest
from django.test import RequestFactory

from namaskah import ratelimit
from providers.tests.support import REDIS_URL, drop_redis_keys, redis_pair


@pytest.fixture
def redis_cache():
    first, _ = redis_pair()
    yield first
    drop_redis_keys(first)


def test_incr_keeps_djangos_contract(redis_cache):
    with pytest.raises(ValueError):
        redis_cache.incr("missing")
    assert redis_cache.get("missing") is None  # a failed incr must not create a key without expiry
    redis_cache.set("counter", 5, 30)
    assert redis_cache.incr("counter") == 6 and redis_cache.incr("counter", 10) == 16
    assert redis_cache.get("counter") == 16
    client = redis_cache._cache.get_client(None, write=True)
    assert 0 < client.ttl(redis_cache.make_key("counter")) <= 30  # incr keeps the expiry


def test_one_client_per_pool_and_one_round_trip_per_incr(redis_cache):
    client = redis_cache._cache.get_client(None, write=True)
    assert redis_cache._cache.get_client("any") is client
    redis_cache.set("n", 1, 30)
    sent = []
    original = client.execute_command
    client.execute_command = lambda *args, **kwargs: sent.append(args[0]) or original(*args, **kwargs)
    try:
        redis_cache.incr("n")
    finally:
        del client.execute_command
    assert sent == ["EVALSHA"]


def test_rate_limits_count_on_it(redis_cache, settings):
    settings.CACHES = {"default": {"BACKEND": "namaskah.cache.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": redis_cache.key_prefix}}
    request = RequestFactory().get("/")
    key = f"test:{uuid.uuid4().hex}"
    for _ in range(3):
        ratelimit.enforce(request, group="t", rate="3/m", key=key)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.enforce(request, group="t", rate="3/m", key=key)


def test_the_one_trip_limit_counts_on_django_ratelimits_own_counter(redis_cache, settings):
    from django_ratelimit.core import get_usage

    settings.CACHES = {"default": {"BACKEND": "namaskah.cache.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": redis_cache.key_prefix}}
    request = RequestFactory().get("/")
    key = f"test:{uuid.uuid4().hex}"

    def library():
        return get_usage(request, group="mixed", key=lambda *_: key, rate="100/h", increment=True)["count"]

    def ours():
        return ratelimit._usage(request, group="mixed", rate="100/h", key=key)["count"]

    assert [library(), ours(), library(), ours(), ours()] == [1, 2, 3, 4, 5]
    usage = ratelimit._usage(request, group="mixed", rate="100/h", key=key)
    assert usage["limit"] == 100 and not usage["should_limit"] and 0 < usage["time_left"] <= 3600


def test_a_new_hit_counter_gets_an_expiry(redis_cache):
    assert redis_cache.hit("fresh", 42) == 1 and redis_cache.hit("fresh", 42) == 2
    client = redis_cache._cache.get_client(None, write=True)
    assert 0 < client.ttl(redis_cache.make_key("fresh")) <= 42


def test_read_and_count_in_one_round_trip_even_after_redis_forgot_its_scripts(redis_cache):
    redis_cache.set("entry", {"user": 7}, 30)
    client = redis_cache._cache.get_client(None, write=True)
    (raw, missing), count = redis_cache.get_raw_many_and_hit(["entry", "missing"], "hits", 42)
    assert redis_cache.decode(raw) == {"user": 7} and redis_cache.get_raw("entry") == raw and count == 1
    assert missing is None
    assert 0 < client.ttl(redis_cache.make_key("hits")) <= 42
    client.script_flush()  # what a Redis restart does
    assert redis_cache.get_raw_many_and_hit(["missing"], "hits", 42) == ([None], 2)
    sent = []
    connection_class = client.connection_pool.connection_class
    original = connection_class.send_packed_command

    def counting(self, command, *args, **kwargs):
        sent.append(command)
        return original(self, command, *args, **kwargs)

    connection_class.send_packed_command = counting
    try:
        assert redis_cache.get_raw_many_and_hit(["entry", "other"], "hits", 42)[1] == 3
    finally:
        connection_class.send_packed_command = original
    assert len(sent) == 1  # the read and the count leave together: one round trip, no SCRIPT EXISTS


def test_set_if_equal_stores_only_while_the_check_key_holds_the_expected_bytes(redis_cache):
    redis_cache.set("token", 12345, 30)
    assert redis_cache.set_if_equal("token", b"12345", "answer", ("a", 1), 30)
    assert redis_cache.get("answer") == ("a", 1)
    redis_cache.set("token", 67890, 30)
    assert not redis_cache.set_if_equal("token", b"12345", "answer", ("c", 3), 30)  # another token now
    redis_cache.delete("token")
    assert not redis_cache.set_if_equal("token", b"12345", "answer", ("b", 2), 30)
    assert redis_cache.get("answer") == ("a", 1)
    client = redis_cache._cache.get_client(None, write=True)
    assert 0 < client.ttl(redis_cache.make_key("answer")) <= 30
