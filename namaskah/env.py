"""Strict readers for environment variables.

A typo in production configuration must stop the process with one clear line, never fall back to a
default silently: `DEBUG=ture` is an error, not `False`.
"""
from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote, urlsplit

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """One environment variable is missing or malformed; the message names it."""


def get(environ, name: str, default: str | None = None) -> str | None:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def boolean(environ, name: str, default: bool) -> bool:
    raw = get(environ, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use one of: true, false, 1, 0, yes, no, on, off)")


def integer(environ, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = get(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    _check_range(name, value, minimum, maximum)
    return value


def number(environ, name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    raw = get(environ, name)
    if raw is None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not value.is_finite():
        raise ConfigError(f"{name}={raw!r} is not a finite number")
    _check_range(name, value, minimum, maximum)
    return float(value)


def choice(environ, name: str, default: str | None, choices: tuple[str, ...]) -> str | None:
    raw = get(environ, name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
    return raw.lower()


def csv(environ, name: str, default: list[str]) -> list[str]:
    raw = get(environ, name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def absolute_path(environ, name: str) -> str | None:
    """An absolute filesystem path (existence is the reader's business), or None when unset."""
    raw = get(environ, name)
    if raw is None:
        return None
    if not os.path.isabs(raw):
        raise ConfigError(f"{name}={raw!r} must be an absolute path")
    return raw


def _check_range(name, value, minimum, maximum) -> None:
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value} is above the maximum of {maximum}")


def database(url: str, *, pool_min: int, pool_max: int, pool_timeout: float) -> dict:
    """Turn DATABASE_URL into a Django DATABASES entry (PostgreSQL with a psycopg pool, or SQLite)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError("DATABASE_URL has no database name (expected postgresql://user:pass@host:5432/name)")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError("DATABASE_URL has an invalid port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            # Pooled connections replace persistent ones: CONN_MAX_AGE must stay 0 with a pool.
            "CONN_MAX_AGE": 0,
            "OPTIONS": {"pool": {"min_size": pool_min, "max_size": pool_max, "timeout": pool_timeout}},
        }
    if scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc or not path:
            raise ConfigError("DATABASE_URL for SQLite must look like sqlite:////absolute/path.db")
        return sqlite(path)
    raise ConfigError(f"DATABASE_URL scheme {scheme or '(none)'!r} is not supported (use postgresql:// or sqlite:///)")


def sqlite(path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing
        # with "database is locked" halfway through a money transaction (select_for_update is a
        # no-op on SQLite).
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }


def redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL scheme {parts.scheme or '(none)'!r} is not supported (use redis://host:6379/0)")
    return url


def refuse(error: ConfigError) -> None:
    """Stop the process with one line on stderr: it must not start half-configured."""
    sys.stderr.write(f"namaskah: configuration error: {error}\n")
    sys.stderr.flush()
    raise SystemExit(2)


environ = os.environ
