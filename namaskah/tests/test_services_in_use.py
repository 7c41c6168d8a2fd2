"""CI's second pass must really run on PostgreSQL and Redis, not silently on the defaults."""
import os

import pytest
from django.core.cache import caches
from django.db import connection


def test_it_uses_postgresql_when_database_url_is_set(db):
    if not os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL not set: this pass runs on the embedded SQLite")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_it_uses_redis_when_redis_url_is_set():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL not set: this pass runs on the local-memory cache")
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    backend.set("ci:probe", "1", 5)
    assert backend.get("ci:probe") == "1"


def test_ci_services_pass_was_asked_for_and_got_both():
    if not os.environ.get("EXPECT_SERVICES"):
        pytest.skip("only CI's services pass sets EXPECT_SERVICES")
    assert os.environ.get("DATABASE_URL", "").startswith("postgresql://")
    assert os.environ.get("REDIS_URL", "").startswith("redis://")
    assert connection.vendor == "postgresql"
    assert type(caches["default"]).__name__ == "RedisCache"
