"""Django's Redis cache backend with two costs removed from the hot path (every poll makes three
or four cache calls: API key, rate limit, poller heartbeat):

- Django builds a new `redis.Redis` object on every cache call (~0.1 ms of CPU each). Those objects
  are thread-safe and share the connection pool, so one per pool is kept.
- `incr()` took two round trips (EXISTS, then INCRBY); a small Lua script does both in one, with the
  same contract (ValueError for a missing key, never creating one without an expiry).
- `hit()` (not in Django's API) counts a rate-limit hit in one round trip: INCR, and an expiry when
  the counter is new; namaskah.ratelimit uses it where the backend has it.
- `get_raw_many_and_hit()` reads entries and counts one hit in a single pipelined round trip: the
  integrators' poll (verifications/fastpoll.py) reads its API key, its rate limit and its cached
  answer with it; `set_if_equal()` stores an answer only if its version token is still current.
"""
from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import NoScriptError
from django.core.cache.backends.redis import RedisCacheClient

_INCR_EXISTING = """
if redis.call('exists', KEYS[1]) == 1 then
    return redis.call('incrby', KEYS[1], ARGV[1])
end
return false
"""
_HIT = """
local count = redis.call('incr', KEYS[1])
if redis.call('ttl', KEYS[1]) < 0 then
    redis.call('expire', KEYS[1], ARGV[1])
end
return count
"""


_SET_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])
    return 1
end
return 0
"""


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._scripts: dict[tuple, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # A race here builds two equivalent clients; either one is fine to keep.
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def _script(self, client, source: str):
        script = self._scripts.get((id(client), source))
        if script is None:
            script = self._scripts[(id(client), source)] = client.register_script(source)
        return script

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        value = self._script(client, _INCR_EXISTING)(keys=[key], args=[delta])
        if value is None:
            raise ValueError("Key '%s' not found." % key)
        return value

    def hit(self, key, timeout: int) -> int:
        client = self.get_client(key, write=True)
        return self._script(client, _HIT)(keys=[key], args=[int(timeout)])

    def get_raw(self, key) -> bytes | None:
        return self.get_client(key).get(key)

    def get_raw_many_and_hit(self, get_keys, hit_key, timeout: int) -> tuple[list, int]:
        client = self.get_client(hit_key, write=True)
        script = self._script(client, _HIT)
        for attempt in (1, 2):
            # EVALSHA by hand: a Script object in a pipeline asks SCRIPT EXISTS first, a second round
            # trip on every call.
            pipe = client.pipeline(transaction=False)
            for key in get_keys:
                pipe.get(key)
            pipe.evalsha(script.sha, 1, hit_key, int(timeout))
            try:
                *raws, count = pipe.execute()
                return raws, count
            except NoScriptError:
                if attempt == 2:
                    raise
                client.script_load(_HIT)  # Redis restarted or flushed its scripts: load it again

    def set_if_equal(self, check_key, expected: bytes, key, value, timeout: int) -> bool:
        client = self.get_client(key, write=True)
        stored = self._script(client, _SET_IF_EQUAL)(keys=[check_key, key],
                                                    args=[expected, self._serializer.dumps(value), int(timeout)])
        return bool(stored)


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def hit(self, key, timeout: int, version=None) -> int:
        """Count one hit on `key` (created with `timeout` seconds to live) and return the count."""
        return self._cache.hit(self.make_and_validate_key(key, version=version), timeout)

    def get_raw(self, key: str) -> bytes | None:
        """`key`'s stored bytes, not decoded (see decode())."""
        return self._cache.get_raw(self.make_and_validate_key(key))

    def get_raw_many_and_hit(self, get_keys: list[str], hit_key: str, timeout: int) -> tuple[list, int]:
        """In one round trip: the stored bytes of each of `get_keys` (None where missing), not
        decoded (the caller decodes only what it needs), and one hit counted on `hit_key` as by hit()."""
        return self._cache.get_raw_many_and_hit([self.make_and_validate_key(key) for key in get_keys],
                                                self.make_and_validate_key(hit_key), timeout)

    def set_if_equal(self, check_key: str, expected: bytes, key: str, value, timeout: int) -> bool:
        """Set `key` only if `check_key` still holds the bytes `expected` (one atomic step)."""
        return self._cache.set_if_equal(self.make_and_validate_key(check_key), expected,
                                        self.make_and_validate_key(key), value, timeout)

    def decode(self, raw: bytes):
        """A value as get() would return it, from the bytes get_raw_and_hit() returned."""
        return self._cache._serializer.loads(raw)
