"""Decided outage behaviour: with the rate-limit store down, limits fail open instead of a 500."""
from rest_framework.test import APIClient


def test_with_the_cache_down_limits_fail_open(db, settings):
    settings.CACHES = {
        **settings.CACHES,
        "broken": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                   "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05}},
    }
    settings.RATELIMIT_USE_CACHE = "broken"
    settings.RATE_REGISTER_IP = "1/m"
    client = APIClient()
    statuses = [client.post("/auth/register", {"email": f"o{i}@example.com", "password": "a-long-enough-passphrase"},
                            format="json").status_code for i in range(3)]
    assert statuses == [201, 201, 201]
