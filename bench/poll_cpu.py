"""CPU per poll inside one process, against the bare-Django ceiling.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/10 \
        python bench/poll_cpu.py [--requests 3000] [--rounds 5] [--profile PATH]

Builds a throw-away test database (Django's test-database machinery: `test_<name>_pollcpu`, dropped at
the end), one customer with an API key, a JWT and a session, and one pending SMS verification with a
message. Then it times requests through django.core.handlers.wsgi.WSGIHandler — every middleware,
the URL resolver, the views — with prepared WSGI environs, no socket and no server, so the figures are
the CPU that Django and our code spend per request (plus the Redis and SQL round trips they make):

- ceiling: GET /system/live, the bare view the load benchmark (bench/run.py) takes as its ceiling;
- api-key, jwt, session: GET /verify/{id}/messages with each credential (answered from the cache);
- 304: the API-key poll with the ETag it has in If-None-Match;
- api-key-no-limit: the API-key poll with RATELIMIT_ENABLE off, to show what the rate limit costs.

Then the cost of each cache call a poll makes (Django's cache API on its Redis backend, and
django-ratelimit's get_usage, which is `add` then `incr`), next to redis-py's own GET on one client
that is kept: Django's backend builds a `redis.Redis` per call, and that build is most of the call.

Process CPU time (time.process_time) per request, the best of `--rounds` rounds (the machine is
shared: the minimum is the least disturbed), and its ratio to the ceiling: "ceiling ÷ path" is the
share of the bare view's throughput a CPU-bound server could reach on that path. The environment is
the benchmark's production settings (DEBUG off, rate limits on, Prometheus multiprocess files).
`--profile PATH` writes a cProfile of the API-key poll.
"""
from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The benchmark's production settings (bench/run.py server_env), set before Django reads them.
for name, value in {
    "DJANGO_SETTINGS_MODULE": "namaskah.settings", "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(48),
    "JWT_SECRET_KEY": secrets.token_urlsafe(48), "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_benchmark_never_used",
    "STRIPE_WEBHOOK_SECRET": "whsec_benchmark_never_used", "STRIPE_API_BASE": "http://127.0.0.1:9",
    "SECURE_SSL_REDIRECT": "false", "SECURE_COOKIES": "false", "RATE_POLL": "1000000/m",
    "LOG_LEVEL": "warning",
    # Nothing here talks to the upstream: a closed local port if anything tried.
    "PROVIDER": "textverified", "TEXTVERIFIED_BASE_URL": "http://127.0.0.1:9", "TEXTVERIFIED_API_KEY": "unused",
    "TEXTVERIFIED_EMAIL": "bench@example.com", "CACHE_KEY_PREFIX": f"pollcpu{os.getpid()}",
}.items():
    os.environ.setdefault(name, value)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="namaskah-pollcpu-"))

import django  # noqa: E402

# WhiteNoise warns that collectstatic has not run here; the polls serve no static file.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

PATHS = ("ceiling", "api-key", "jwt", "session", "304", "api-key-no-limit")
UNLIMITED = {"api-key-no-limit"}


def environ(path: str, headers: dict[str, str]) -> dict:
    env = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_ACCEPT": "*/*",
        "wsgi.url_scheme": "http", "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.errors": sys.stderr,
    }
    env.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()})
    return env


def build_fixture() -> dict[str, dict]:
    """The customer and the verification; the environ of each path."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts import services as accounts
    from accounts.models import User
    from verifications.models import Message, Verification
    from verifications.tests.factories import make_catalogue, make_verification

    user = User.objects.create_user(email="poll-cpu@example.com", password=secrets.token_urlsafe(16))
    _row, key = accounts.create_api_key(user=user, name="poll-cpu")
    jwt = str(AccessToken.for_user(user))
    store = import_string(settings.SESSION_ENGINE).SessionStore()
    store.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                  HASH_SESSION_KEY: user.get_session_auth_hash()})
    store.create()
    verification = make_verification(user=user, catalogue=make_catalogue(), phone_number="+15550100",
                                     provider_ref="poll-cpu", expires_at=timezone.now() + timedelta(hours=1))
    Message.objects.create(verification=verification, sender="Telegram", text="Your code is 123456", code="123456",
                           received_at=timezone.now())
    Verification.objects.filter(pk=verification.pk).update(version=2)
    poll = f"/verify/{verification.pk}/messages"
    envs = {
        "ceiling": environ("/system/live", {}),
        "api-key": environ(poll, {"Authorization": f"Api-Key {key}"}),
        "jwt": environ(poll, {"Authorization": f"Bearer {jwt}"}),
        "session": environ(poll, {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}"}),
    }
    status, headers, _body = request(envs["api-key"])
    assert status.startswith("200"), status
    envs["304"] = {**envs["api-key"], "HTTP_IF_NONE_MATCH": headers["ETag"]}
    envs["api-key-no-limit"] = envs["api-key"]
    return envs


HANDLER = None


def request(env: dict) -> tuple[str, dict, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    result = HANDLER({**env, "wsgi.input": io.BytesIO()}, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body


def cpu_ms(env: dict, n: int, *, rate_limited: bool = True) -> float:
    from django.test.utils import override_settings

    with override_settings(RATELIMIT_ENABLE=settings.RATELIMIT_ENABLE and rate_limited):
        started = time.process_time()
        for _ in range(n):
            request(env)
        return (time.process_time() - started) * 1000 / n


def call_ms(op, n: int, rounds: int) -> float:
    """CPU ms of one op(), the best of `rounds` rounds of n."""
    for _ in range(min(n, 200)):
        op()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            op()
        best = min(best, (time.process_time() - started) * 1000 / n)
    return best


def cache_call_costs(n: int, rounds: int) -> list[tuple[str, float]]:
    """What each kind of cache call costs in CPU, on the settings' default cache."""
    from django.test import RequestFactory
    from django_ratelimit.core import get_usage

    cache.set("pollcpu:probe", 1, 600)
    keys = ["pollcpu:probe", "pollcpu:absent1", "pollcpu:absent2"]
    request_ = RequestFactory().get("/")
    costs = [
        ("Django cache.get", call_ms(lambda: cache.get("pollcpu:probe"), n, rounds)),
        ("Django cache.get_many (3 keys)", call_ms(lambda: cache.get_many(keys), n, rounds)),
        ("Django cache.add (key exists)", call_ms(lambda: cache.add("pollcpu:probe", 1, 600), n, rounds)),
        ("Django cache.incr (EXISTS, INCRBY)", call_ms(lambda: cache.incr("pollcpu:probe"), n, rounds)),
        ("django-ratelimit get_usage (add, incr)", call_ms(lambda: get_usage(
            request_, group="pollcpu", key=lambda _g, _r: "user:1", rate="1000000/m", increment=True), n, rounds)),
    ]
    location = settings.CACHES["default"].get("LOCATION")
    if settings.CACHES["default"]["BACKEND"].endswith(".RedisCache") and isinstance(location, str):
        import redis

        pool = redis.ConnectionPool.from_url(location)
        client = redis.Redis(connection_pool=pool)
        costs += [("redis.Redis(connection_pool=pool), no I/O", call_ms(lambda: redis.Redis(connection_pool=pool),
                                                                         n, rounds)),
                  ("redis-py GET on a kept client", call_ms(lambda: client.get("absent"), n, rounds))]
        pool.disconnect()
    return costs


def check(envs: dict) -> None:
    """Every path answers what it should, and the polls make no SQL (a cached answer)."""
    from django.test.utils import CaptureQueriesContext

    expected = {"ceiling": "200", "api-key": "200", "jwt": "200", "session": "200", "304": "304",
                "api-key-no-limit": "200"}
    for name, env in envs.items():
        request(env)  # warm: the first poll of a credential may fill its cache entries
        with CaptureQueriesContext(connection) as queries:
            status, _headers, _body = request(env)
        if not status.startswith(expected[name]):
            raise SystemExit(f"{name}: {status}, expected {expected[name]}")
        print(f"{name:8} {status:18} SQL per request: {len(queries)}")


def main() -> None:
    global HANDLER
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per path and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="write a cProfile of the API-key poll to this file")
    args = parser.parse_args()

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        f"test_{settings.DATABASES['default']['NAME']}_pollcpu" if connection.vendor != "sqlite" else "")
    old_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    HANDLER = WSGIHandler()
    try:
        cache.clear()
        envs = build_fixture()
        print(f"database {connection.vendor}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
              f"{args.requests} requests x {args.rounds} rounds per path")
        check(envs)
        if args.profile:
            import cProfile

            cProfile.runctx("cpu_ms(env, n)", globals(), {"env": envs["api-key"], "n": args.requests,
                                                          "cpu_ms": cpu_ms}, args.profile)
        best = {name: float("inf") for name in PATHS}
        for _ in range(args.rounds):
            for name in PATHS:  # interleaved, so a slow moment of the host hits every path alike
                best[name] = min(best[name], cpu_ms(envs[name], args.requests, rate_limited=name not in UNLIMITED))
        print("\n| path | CPU ms per request | ceiling ÷ path |\n|---|---:|---:|")
        for name in PATHS:
            print(f"| {name} | {best[name]:.3f} | {best['ceiling'] / best[name]:.2f} |")
        print("\n| cache call | CPU ms per call |\n|---|---:|")
        for name, ms in cache_call_costs(args.requests, args.rounds):
            print(f"| {name} | {ms:.3f} |")
    finally:
        cache.clear()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
