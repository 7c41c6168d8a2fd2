"""The environment rules of settings.py, each checked in a fresh interpreter as a process would start."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, namaskah.settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'db': s.DATABASES['default'], 'cache': s.CACHES['default']['BACKEND'], 'provider': s.PROVIDER, "
    "'hosts': s.ALLOWED_HOSTS, 'base_url': s.TEXTVERIFIED_BASE_URL, 'timeout': s.TEXTVERIFIED_READ_TIMEOUT}, default=str))"
)
STRONG = "s" * 60
STRONG_JWT = "j" * 60
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3Yq9-Vq2xYw8mZ0pL4rT6uS1aB7cD5eF3gH9iJ2kL0mN8oP4qR6sT1uV3wX5yZ7",
    "JWT_SECRET_KEY": "J9wX2-zY4vU6tS8rQ0pO1nM3lK5jI7hG9fE2dC4bA6zY8xW0vU2tS4rQ6pO8nM0",
    "ALLOWED_HOSTS": "namaskah.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://namaskah:secret@127.0.0.1:5432/namaskah",
    "PROVIDER": "textverified",
    "TEXTVERIFIED_API_KEY": "tv-key",
    "TEXTVERIFIED_EMAIL": "ops@namaskah.example.com",
    "PAYMENTS": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_settings_probe",
    "STRIPE_WEBHOOK_SECRET": "whsec_settings_probe",
}


def start(env: dict, code: str = PROBE, *args: str) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "namaskah.settings", **env}
    argv = [sys.executable, "-c", code] if code else [sys.executable, *args]
    return subprocess.run(argv, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def loaded(env: dict) -> dict:
    result = start(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(env: dict) -> str:
    result = start(env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_it_runs_on_embedded_defaults_with_nothing_set():
    s = loaded({})
    assert s["debug"] is True
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["db"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert s["cache"].endswith("LocMemCache")
    assert s["provider"] == "mock"
    assert s["base_url"] == "https://www.textverified.com"
    assert s["timeout"] == 30.0


def test_it_uses_postgresql_with_a_pool_from_database_url():
    s = loaded({"DATABASE_URL": "postgresql://u:p%40ss@db.internal:6543/shop", "DB_POOL_MAX_SIZE": "7"})
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["db"]["NAME"], s["db"]["USER"], s["db"]["PASSWORD"]) == ("shop", "u", "p@ss")
    assert (s["db"]["HOST"], s["db"]["PORT"]) == ("db.internal", "6543")
    assert s["db"]["OPTIONS"]["pool"]["max_size"] == 7
    assert s["db"]["CONN_MAX_AGE"] == 0


def test_database_url_options_reach_the_driver_beside_the_pool():
    s = loaded({"DATABASE_URL": "postgresql://u@db.internal/shop?sslmode=require&connect_timeout=5"})
    assert s["db"]["OPTIONS"]["sslmode"] == "require" and s["db"]["OPTIONS"]["connect_timeout"] == 5
    assert s["db"]["OPTIONS"]["pool"]["max_size"] == 10 and s["db"]["CONN_MAX_AGE"] == 0


def test_a_sqlite_database_url_keeps_the_immediate_transaction_mode(tmp_path):
    s = loaded({"DATABASE_URL": f"sqlite:///{tmp_path}/other.db"})
    assert s["db"]["NAME"] == f"{tmp_path}/other.db"
    assert s["db"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_it_uses_redis_from_redis_url():
    assert loaded({"REDIS_URL": "redis://127.0.0.1:6379/3"})["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_it_points_the_real_client_at_another_base_url():
    s = loaded({"PROVIDER": "textverified", "TEXTVERIFIED_API_KEY": "k", "TEXTVERIFIED_EMAIL": "e@x.io",
                "TEXTVERIFIED_BASE_URL": "http://127.0.0.1:8765/"})
    assert (s["provider"], s["base_url"]) == ("textverified", "http://127.0.0.1:8765")


def test_it_starts_in_production_when_everything_is_set():
    s = loaded(PRODUCTION)
    assert s["debug"] is False and s["hosts"] == ["namaskah.example.com"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"DEBUG": "ture"}, "DEBUG='ture' is not a boolean"),
        ({"CACHE_OUTAGE_SECONDS": "5s"}, "CACHE_OUTAGE_SECONDS='5s' is not a number"),
        ({"TEXTVERIFIED_READ_TIMEOUT": "30s"}, "TEXTVERIFIED_READ_TIMEOUT='30s' is not a number"),
        ({"BREAKER_FAILURE_THRESHOLD": "five"}, "BREAKER_FAILURE_THRESHOLD='five' is not a whole number"),
        ({"BREAKER_FAILURE_THRESHOLD": "0"}, "BREAKER_FAILURE_THRESHOLD=0 is below the minimum of 1"),
        ({"MOCK_SMS_DELAY": "nan"}, "MOCK_SMS_DELAY='nan' is not a finite number"),
        ({"PROVIDER": "fake"}, "PROVIDER='fake' must be one of: mock, textverified"),
        ({"PROVIDER": "textverified"}, "TEXTVERIFIED_API_KEY must be set when PROVIDER=textverified"),
        ({"PROVIDER": "textverified", "TEXTVERIFIED_API_KEY": "k"}, "TEXTVERIFIED_EMAIL must be set when PROVIDER=textverified"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL scheme 'mysql' is not supported"),
        ({"DATABASE_URL": "postgresql://u@h:5432/"}, "DATABASE_URL has no database name"),
        ({"DATABASE_URL": "postgresql://u@h:port/db"}, "DATABASE_URL is not a valid URL"),
        ({"DATABASE_URL": "sqlite://relative.db"}, "DATABASE_URL for SQLite must look like"),
        ({"REDIS_URL": "memcached://x"}, "REDIS_URL scheme 'memcached' is not supported"),
        ({"SECRET_KEY": "same-" * 8, "JWT_SECRET_KEY": "same-" * 8}, "JWT_SECRET_KEY must differ from SECRET_KEY"),
        ({"TEXTVERIFIED_WEBHOOK_SECRET": "whsec_abc"}, "TEXTVERIFIED_WEBHOOK_SECRET is too short"),
        ({"WEBHOOK_POLL_INTERVAL": "0"}, "WEBHOOK_POLL_INTERVAL=0 is below the minimum of 1"),
        ({"PAYMENTS": "paypal"}, "PAYMENTS='paypal' must be one of: stripe, mock"),
        ({"PAYMENTS": "stripe", "STRIPE_WEBHOOK_SECRET": "whsec_x"}, "STRIPE_SECRET_KEY must be set when PAYMENTS=stripe"),
        ({"STRIPE_API_BASE": "127.0.0.1:12111"}, "STRIPE_API_BASE='127.0.0.1:12111' must start with http:// or https://"),
        ({"TOPUP_MIN": "five"}, "TOPUP_MIN='five' is not an amount like 5 or 5.00"),
        ({"TOPUP_MIN": "0"}, "TOPUP_MIN='0' must be a positive amount"),
        ({"TOPUP_MAX": "10.005"}, "TOPUP_MAX='10.005' has more than 2 decimal places"),
        ({"TOPUP_MIN": "20", "TOPUP_MAX": "10"}, "TOPUP_MIN=20.00 exceeds TOPUP_MAX=10.00"),
    ],
)
def test_it_refuses_malformed_values_with_one_line(change, expected):
    assert expected in refusal(change)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set when DEBUG is off"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters long (got 5)"),
        ({"JWT_SECRET_KEY": None}, "JWT_SECRET_KEY must be set when DEBUG is off"),
        ({"JWT_SECRET_KEY": "x" * 31}, "JWT_SECRET_KEY must be at least 32 characters long (got 31)"),
        ({"JWT_SECRET_KEY": PRODUCTION["SECRET_KEY"]}, "JWT_SECRET_KEY must differ from SECRET_KEY"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set when DEBUG is off"),
        ({"REDIS_URL": None}, "REDIS_URL must be set when DEBUG is off"),
        ({"PROVIDER": None}, "PROVIDER must be set when DEBUG is off"),
        ({"PAYMENTS": None}, "PAYMENTS must be set to stripe when DEBUG is off (got nothing;"),
        ({"PAYMENTS": "mock"}, "PAYMENTS must be set to stripe when DEBUG is off (got mock;"),
        ({"STRIPE_SECRET_KEY": None}, "STRIPE_SECRET_KEY must be set when PAYMENTS=stripe"),
        ({"STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK_SECRET must be set when PAYMENTS=stripe"),
    ],
)
def test_it_refuses_to_start_in_production_without_its_requirements(change, expected):
    env = {k: v for k, v in {**PRODUCTION, **change}.items() if v is not None}
    line = refusal(env)
    assert line.startswith("namaskah: configuration error: ")
    assert expected in line


def test_the_refusal_never_prints_the_secret_itself():
    line = refusal({**PRODUCTION, "JWT_SECRET_KEY": PRODUCTION["SECRET_KEY"]})
    assert PRODUCTION["SECRET_KEY"] not in line


def test_check_deploy_is_clean_under_the_documented_production_env():
    result = start(PRODUCTION, None, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_still_clean_behind_a_tls_terminating_proxy():
    env = {**PRODUCTION, "BEHIND_PROXY": "true", "CSRF_TRUSTED_ORIGINS": "https://namaskah.example.com"}
    result = start(env, None, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_a_malformed_rate():
    assert "RATE_PURCHASE='lots' is not a rate like 20/m" in refusal({"RATE_PURCHASE": "lots"})


PAYMENTS_PROBE = (
    "import json, namaskah.settings as s; print(json.dumps({'payments': s.PAYMENTS, 'webhook_secret': "
    "s.STRIPE_WEBHOOK_SECRET, 'api_base': s.STRIPE_API_BASE, 'min': str(s.TOPUP_MIN), 'max': str(s.TOPUP_MAX)}))"
)


def test_it_takes_mock_payments_with_a_development_webhook_secret_by_default():
    result = start({}, PAYMENTS_PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"payments": "mock", "webhook_secret": "whsec_dev_only_mock_checkout_never_use_in_production",
                                         "api_base": "https://api.stripe.com", "min": "5.00", "max": "500.00"}


def test_it_points_stripe_at_another_api_base_with_its_own_range():
    result = start({"PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_y",
                    "STRIPE_API_BASE": "http://127.0.0.1:12111/", "TOPUP_MIN": "1", "TOPUP_MAX": "1000.5"}, PAYMENTS_PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"payments": "stripe", "webhook_secret": "whsec_y",
                                         "api_base": "http://127.0.0.1:12111", "min": "1.00", "max": "1000.50"}
