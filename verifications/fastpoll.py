"""The integrators' poll without the framework around it.

GET /verify/{id}/messages (and /voice) is most of our traffic: every integrator asks every few
seconds until the code arrives. Through Django's middleware chain, URL resolver and DRF it cost about
four times a bare Django response (bench/notes.md). This WSGI layer, in front of Django, answers the
common case itself — an API key, no query string, the background poller running, the caller's own
verification, not past its expiry — with the body, status and headers Django would send, and passes
every other request to Django untouched: JWT and session callers, ?refresh=1, unknown, revoked or
deactivated keys (Django answers 401), another user's verification (404), the rate limit exceeded
(429), a voice read of an SMS verification (409), an expiry to settle, a cache outage, any error.

It checks what the Django path checks, on the same data: the API key's entry in the shared cache
(revoking deletes it, so a revoked key falls through on its next request), the same rate-limit counter
(counted once per request: what it counted travels to Django when it passes a request on), the
same SQL read (verifications/snapshot.py). The answer is then kept in the cache until the verification
changes (verifications/pollcache.py), so a poll usually costs one Redis round trip and no SQL.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.services import API_KEY_PREFIX, api_key_cache_key, user_for_api_key
from monitoring import metrics
from monitoring.middleware import SAFE_ID, QueryCounter
from namaskah import ratelimit
from verifications import heartbeat, pollcache, snapshot
from verifications.models import Capability, Verification

log = logging.getLogger(__name__)
request_log = logging.getLogger("namaskah.request")

# Django's <uuid:pk> converter accepts exactly this; anything else is Django's to answer (404).
_PATH = re.compile(r"^/verify/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(messages|voice)$")
_ROUTES = {"messages": ("messages", "api-verify-messages"), "voice": ("calls", "api-verify-voice")}
# The rate-limit usage this layer counted, for Django when it passes the request on (an environ key
# is out of a client's reach: HTTP headers arrive as HTTP_*).
COUNTED = "namaskah.fastpoll.counted"
_render = JSONRenderer().render


@dataclass
class _Key:
    """What an API key's cache entry said when this process last decoded it."""
    raw: bytes
    user_id: int
    hashed: str
    active: bool


# prefix -> _Key. A prefix names one key row for ever (unique), so its user and hash never change;
# whether it is still valid is read from the shared cache on every request.
_keys: dict[str, _Key] = {}


class FastPoll:
    """WSGI middleware: `application = FastPoll(get_wsgi_application())`."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and not environ.get("QUERY_STRING"):
            match = _PATH.match(environ.get("PATH_INFO", ""))
            if match is not None:
                answer = _answer_or_none(environ, match.group(1), match.group(2))
                if answer is not None:
                    status, headers, body = answer
                    start_response(status, headers)
                    return [body]
        return self.app(environ, start_response)


def _answer_or_none(environ, pk: str, route: str):
    started = time.perf_counter()
    try:
        if not _enabled() or not _plain_request(environ):
            return None
        return _answer(environ, pk, route, started)
    except Exception as exc:
        # Django answers instead, and reports the same failure its own way if it has one (a cache
        # outage: limits fail open; a database outage: 500).
        log.warning("fast poll failed (%s: %s); Django answers", type(exc).__name__, exc)
        log.debug("fast poll failure", exc_info=True)
        return None


def _enabled() -> bool:
    return (settings.FAST_POLL and hasattr(cache, "get_raw_many_and_hit") and settings.RATELIMIT_ENABLE
            and heartbeat.poller_running())


# What DRF's content negotiation answers with compact JSON; anything else (an indent parameter, XML,
# a browser's list) is Django's to negotiate (406, or indented JSON).
_PLAIN_ACCEPT = {"", "*/*", "application/json", "application/*"}


def _plain_request(environ) -> bool:
    """Nothing in the request that would make Django's middleware or DRF answer differently."""
    if environ.get("HTTP_ACCEPT", "").strip() not in _PLAIN_ACCEPT:
        return False
    if settings.SESSION_COOKIE_NAME in environ.get("HTTP_COOKIE", ""):
        return False  # SessionMiddleware may rewrite or delete the cookie
    if settings.DISALLOWED_USER_AGENTS or settings.PREPEND_WWW or settings.USE_X_FORWARDED_HOST:
        return False
    return _host_allowed(environ) and not _redirects_to_https(environ)


def _answer(environ, pk: str, route: str, started: float):
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Api-Key "):
        return None
    raw_key = header[len("Api-Key "):].strip()
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    prefix = parts[1]
    hashed = hashlib.sha256(raw_key.encode()).hexdigest()
    key = _keys.get(prefix) or _look_up(prefix, raw_key)
    if key is None or not hmac.compare_digest(key.hashed, hashed):
        return None

    kind, endpoint = _ROUTES[route]
    counter = ratelimit.Counter(group="poll", rate=settings.RATE_POLL, key=f"user:{key.user_id}")
    (raw, raw_token, raw_answer), count = cache.get_raw_many_and_hit(
        [api_key_cache_key(prefix), pollcache.token_key(pk), pollcache.answer_key(pk, kind)],
        counter.cache_key, counter.timeout)
    environ[COUNTED] = (key.user_id, counter.usage(count))  # from here on, Django must not count again
    if raw != key.raw:
        # Rewritten (re-read after its expiry, perhaps now saying the user is inactive, or a refreshed
        # last use): decode it once. Gone (revoked, or expired after API_KEY_CACHE_SECONDS): look the
        # key up as Django's authentication does.
        key = _remember(prefix, raw) if raw is not None else _look_up(prefix, raw_key)
    if key is None or not key.active or not hmac.compare_digest(key.hashed, hashed) or count > counter.limit:
        return None

    queries = QueryCounter()
    answer = cache.decode(raw_answer) if raw_answer is not None and raw_token is not None else None
    if answer is None or answer[0] != raw_token:
        answer = _read(pk, kind, key.user_id, raw_token, queries)
    if answer is None:
        return None
    _, user_id, status, capability, expires_at, body = answer
    if (user_id != key.user_id or (kind == "calls" and capability != Capability.VOICE)
            or (status == Verification.Status.PENDING and expires_at is not None and timezone.now() >= expires_at)):
        return None  # Django answers: 404, 409, or settles the expiry
    if status == Verification.Status.COMPLETED:
        heartbeat.watch(pk)  # as services.poll_view does: the poller keeps asking for a second code

    request_id = _request_id(environ)
    seconds = time.perf_counter() - started
    metrics.observe_request(endpoint=endpoint, method="GET", status=200, seconds=seconds, queries=queries.count)
    if request_log.isEnabledFor(logging.INFO):
        path = environ["PATH_INFO"]
        request_log.info("GET %s 200 %.1fms request_id=%s user_id=%s", path, seconds * 1000, request_id,
                         key.user_id, extra={"request_id": request_id, "user_id": key.user_id, "method": "GET",
                                             "path": path, "status": 200, "duration_ms": round(seconds * 1000, 1)})
    return "200 OK", _headers(environ, body, request_id), body


def _read(pk: str, kind: str, user_id: int, raw_token: bytes | None, queries: QueryCounter) -> tuple | None:
    """The answer from the database, kept in the cache for the next polls (verifications/pollcache.py)."""
    token = pollcache.current_token(pk, raw_token)  # taken before the read: see pollcache
    with _database(), connection.execute_wrapper(queries):
        view = snapshot.read(user_id=user_id, pk=pk, kind=kind)
    if view is None:
        return None
    answer = (token, user_id, view.status, view.capability, view.expires_at,
              _render(snapshot.as_json(view, kind=kind)))
    pollcache.store(pk, kind, token, answer)
    return answer


@contextmanager
def _database():
    # What Django's request_started and request_finished signals do for the database: a pooled
    # connection is taken for this request and given back at once.
    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()


def _look_up(prefix: str, raw_key: str) -> _Key | None:
    """Authenticate as Django would (the database, then the shared cache's entry), and remember."""
    with _database():
        user = user_for_api_key(raw_key)
    if user is None:
        _keys.pop(prefix, None)
        return None  # Django answers 401
    return _remember(prefix, cache.get_raw(api_key_cache_key(prefix)))


def _remember(prefix: str, raw: bytes | None) -> _Key | None:
    if raw is None:  # the cache could not keep the entry: nothing to check the next request against
        _keys.pop(prefix, None)
        return None
    row = cache.decode(raw)
    user = row._state.fields_cache.get("user")
    if user is None:  # an entry without its user would need a query: leave the request to Django
        _keys.pop(prefix, None)
        return None
    if len(_keys) > 10_000:
        _keys.clear()
    key = _keys[prefix] = _Key(raw=raw, user_id=row.user_id, hashed=row.hashed_key, active=user.is_active)
    return key


def _request_id(environ) -> str:
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if SAFE_ID.match(incoming) else uuid.uuid4().hex


# --- what Django's middleware would decide or add ----------------------------------------------------

def _host_allowed(environ) -> bool:
    # As HttpRequest.get_host(): the Host header when there is one (even empty), else SERVER_NAME.
    domain, _ = split_domain_port(environ["HTTP_HOST"] if "HTTP_HOST" in environ else environ.get("SERVER_NAME", ""))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _is_secure(environ) -> bool:
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(name)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _redirects_to_https(environ) -> bool:
    return settings.SECURE_SSL_REDIRECT and not _is_secure(environ)


def _headers(environ, body: bytes, request_id: str) -> list[tuple[str, str]]:
    # The headers SecurityMiddleware, XFrameOptionsMiddleware, CommonMiddleware, DRF and our
    # RequestLogMiddleware put on this response (tests compare the two paths).
    headers = [("Content-Type", "application/json"), ("Allow", "GET, HEAD, OPTIONS"),
               ("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()), ("Content-Length", str(len(body)))]
    if settings.SECURE_HSTS_SECONDS and _is_secure(environ):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Request-ID", request_id))
    return headers
