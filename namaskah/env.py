"""Strict readers for environment variables.

A typo in production configuration must stop the process with one clear line, never fall back to a
default silently: `DEBUG=ture` is an error, not `False`.
"""
from __future__ import annotations

import os
import re
import sys
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
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


def money(environ, name: str, default: Decimal) -> Decimal:
    """A positive USD amount with at most 2 decimal places, as a Decimal (never a float)."""
    raw = get(environ, name)
    if raw is None:
        return default
    # Plain ASCII digits only: Decimal() also takes "1e3", "5_000", "nan" and non-ASCII digits.
    if not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", raw.strip()):
        raise ConfigError(f"{name}={raw!r} is not an amount like 5 or 5.00")
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ConfigError(f"{name}={raw!r} is not an amount like 5 or 5.00") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{name}={raw!r} must be a positive amount")
    if value.as_tuple().exponent < -2:
        raise ConfigError(f"{name}={raw!r} has more than 2 decimal places")
    return value.quantize(Decimal("0.01"))


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
    """Turn DATABASE_URL into a Django DATABASES entry (PostgreSQL with a psycopg pool, or SQLite).

    Parsed by dj-database-url, so the query string's options (`?sslmode=require`, `connect_timeout`…)
    reach the driver; only PostgreSQL and SQLite are accepted."""
    import dj_database_url

    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("postgres", "postgresql", "sqlite"):
        raise ConfigError(f"DATABASE_URL scheme {scheme or '(none)'!r} is not supported (use postgresql:// or sqlite:///)")
    try:
        entry = dj_database_url.parse(url, conn_max_age=0)
    except (ValueError, dj_database_url.ParseError) as exc:
        raise ConfigError(f"DATABASE_URL is not a valid URL ({exc})") from None
    if scheme == "sqlite":
        if urlsplit(url).netloc or entry["NAME"] in ("", ":memory:"):
            raise ConfigError("DATABASE_URL for SQLite must look like sqlite:////absolute/path.db")
        return sqlite(entry["NAME"])
    if not entry["NAME"]:
        raise ConfigError("DATABASE_URL has no database name (expected postgresql://user:pass@host:5432/name)")
    entry["PORT"] = str(entry["PORT"] or "")
    # Pooled connections replace persistent ones: CONN_MAX_AGE must stay 0 with a pool.
    entry["OPTIONS"] = {**entry.get("OPTIONS", {}),
                        "pool": {"min_size": pool_min, "max_size": pool_max, "timeout": pool_timeout}}
    return entry


def sqlite(path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing
        # with "database is locked" halfway through a money transaction (select_for_update is a
        # no-op on SQLite).
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }


def celery_broker_scheme_ok(url: str) -> bool:
    return urlsplit(url).scheme in ("redis", "rediss", "amqp", "amqps", "pyamqp", "filesystem")


def redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL scheme {parts.scheme or '(none)'!r} is not supported (use redis://host:6379/0)")
    return url


def decimal(environ, name: str, default: str, *, minimum: str | None = None, maximum: str | None = None) -> Decimal:
    """A money amount like 100 or 100.00: exact, never a float, at most 2 decimal places."""
    raw = get(environ, name) or default
    if not re.fullmatch(r"-?\d{1,10}(\.\d{1,2})?", raw):
        raise ConfigError(f"{name}={raw!r} is not an amount like 100.00 (digits, at most 2 decimal places)")
    value = Decimal(raw)
    _check_range(name, value, None if minimum is None else Decimal(minimum),
                 None if maximum is None else Decimal(maximum))
    return value.quantize(Decimal("0.01"))


SMTP_PORTS = {"smtp": 25, "smtp+tls": 587, "smtps": 465}


def email_url(url: str) -> dict:
    """Turn EMAIL_URL into Django's EMAIL_* settings.

    smtp://user:pass@host:port (plain; add ?tls=true for STARTTLS), smtps://… (implicit TLS),
    console:// (printed to stdout) or file:///absolute/folder (one file per message).
    """
    name = "EMAIL_URL"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        if parts.netloc or parts.path or parts.query:
            raise ConfigError(f"{name} for the console must be exactly console://")
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc or parts.query or not path.startswith("/"):
            raise ConfigError(f"{name} for files must look like file:///absolute/folder")
        return {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": path}
    if scheme not in ("smtp", "smtps"):
        raise ConfigError(f"{name} scheme {scheme or '(none)'!r} is not supported "
                          "(use smtp://, smtps://, console:// or file:///path)")
    if not parts.hostname:
        raise ConfigError(f"{name} has no host (expected {scheme}://user:password@host:port)")
    if parts.path not in ("", "/"):
        raise ConfigError(f"{name} must not have a path after the host")
    options = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        if key != "tls" or scheme == "smtps":
            raise ConfigError(f"{name} option {key!r} is not supported (only ?tls=true, with smtp://)")
        value = unquote(value).strip().lower()
        if value not in TRUE | FALSE:
            raise ConfigError(f"{name} option tls={value!r} is not a boolean (use true or false)")
        options[key] = value in TRUE
    starttls = options.get("tls", False)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} has an invalid port") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or SMTP_PORTS["smtp+tls" if starttls else scheme],
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": starttls,
        "EMAIL_USE_SSL": scheme == "smtps",
    }


def email_address(environ, name: str, default: str) -> str:
    """A sender like `Namaskah <noreply@example.com>` or a bare address."""
    raw = get(environ, name) or default
    _, address = parseaddr(raw)
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(c.isspace() for c in address):
        raise ConfigError(f"{name}={raw!r} is not an email address (e.g. Namaskah <noreply@example.com>)")
    return raw


def refuse(error: ConfigError) -> None:
    """Stop the process with one line on stderr: it must not start half-configured."""
    sys.stderr.write(f"namaskah: configuration error: {error}\n")
    sys.stderr.flush()
    raise SystemExit(2)


environ = os.environ
