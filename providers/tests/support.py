"""Helpers shared by the provider tests: constants, canned TextVerified bodies, fake clocks, caches."""
from __future__ import annotations

import socket
import uuid

import pytest
import responses as responses_lib

BASE = "https://tv.test"
API = BASE + "/api/pub/v2"
API_KEY = "tv-api-key-SECRET-0123456789"
USERNAME = "ops@namaskah.dev"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.SECRET-TOKEN"
REDIS_URL = "redis://127.0.0.1:6379/2"


class Sleeps(list):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Clock:
    """An injected epoch clock that moves only when told."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def add_auth(rsps, *, token: str = TOKEN, expires_in: float = 900):
    return rsps.add(responses_lib.POST, f"{API}/auth", json={"token": token, "expiresIn": expires_in,
                                                             "expiresAt": "2030-01-01T00:00:00+00:00"})


def details(vid: str = "lr_01ABC", *, state: str = "verificationPending", number: str = "6184195979",
            can_cancel: bool = True, can_report: bool = True, base: str = BASE, **extra) -> dict:
    url = f"{base}/api/pub/v2/verifications/{vid}"
    body = {
        "id": vid, "number": number, "serviceName": "discord", "state": state, "totalCost": 0.5,
        "createdAt": "2026-05-28T18:01:22.1234567+00:00", "endsAt": "2026-05-28T18:16:22.1234567+00:00",
        "sms": {"method": "GET", "href": f"{base}/api/pub/v2/sms?ReservationId={vid}"},
        "calls": {"method": "GET", "href": f"{base}/api/pub/v2/calls?ReservationId={vid}"},
        "cancel": {"canCancel": can_cancel, "link": {"method": "POST", "href": f"{url}/cancel"}},
        "report": {"canReport": can_report, "link": {"method": "POST", "href": f"{url}/report"}},
        "reuse": {"reusableUntil": None, "link": {"method": None, "href": None}},
        "reactivate": {"canReactivate": False, "link": {"method": None, "href": None}},
    }
    body.update(extra)
    return body


def page(items: list, *, next_href: str | None = None) -> dict:
    return {"data": items, "hasNext": next_href is not None, "hasPrevious": False, "count": len(items),
            "links": {"current": {"method": "GET", "href": None}, "previous": {"method": None, "href": None},
                      "next": {"method": "GET" if next_href else None, "href": next_href}}}


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def locmem_pair():
    """Two LocMemCache instances over one store: what two processes see of a shared cache."""
    from django.core.cache.backends.locmem import LocMemCache

    name = f"providers-test-{uuid.uuid4().hex}"
    return LocMemCache(name, {}), LocMemCache(name, {})


def redis_pair():
    """Two RedisCache clients (separate connection pools) on db 2; skips when Redis is unreachable."""
    from django.core.cache.backends.redis import RedisCache

    prefix = f"providers-test-{uuid.uuid4().hex[:12]}"
    options = {"KEY_PREFIX": prefix, "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}}
    first, second = RedisCache(REDIS_URL, options), RedisCache(REDIS_URL, options)
    try:
        first.set("ping", 1, 5)
    except Exception as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__})")
    return first, second


def drop_redis_keys(cache) -> None:
    """Delete the keys under this cache's prefix (the Redis database is shared with other tests)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{cache.key_prefix}:*"):
        client.delete(key)
    client.close()
