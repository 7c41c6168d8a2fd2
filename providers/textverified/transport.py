"""The HTTP plumbing: one pooled session, a Retry policy that is safe for purchases, and the shared token.

urllib3's Retry has traps this policy avoids:
  * `allowed_methods=frozenset()` is falsy and means "retry every method": we list GET explicitly.
  * connection errors are retried for every method. That is safe only because nothing was sent
    (urllib3 counts just connection-establishment failures as "connect" errors), so we keep it.
  * read errors and "other" errors (e.g. TLS failures mid-response) can happen after the server got
    the request: `read=False, other=0` so neither a POST nor a GET is ever re-sent after that. A
    read timeout also means the upstream is slow; retrying would multiply how long a worker waits.
  * Retry-After is honoured up to 6 hours by default: we cap it, and when the upstream asks for
    longer than the cap we stop retrying and hand the hint to the caller instead of sleeping.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time

import requests
from django.core.cache import cache as default_cache
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from namaskah.cache import DEFAULT as DEFAULT_CACHE_OUTAGE
from namaskah.cache import Outage

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REFRESH_MARGIN = 60  # seconds: a token with less left than this is replaced
_DOWN = object()


class CappedRetry(Retry):
    """Retry that never sleeps longer than `retry_after_cap` seconds on a Retry-After header."""

    def __init__(self, *args, retry_after_cap: float = 5.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap

    def new(self, **kw):
        # Retry.new() rebuilds the object from a fixed list of arguments; carry the cap across.
        retry = super().new(**kw)
        retry.retry_after_cap = self.retry_after_cap
        return retry

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.retry_after_cap)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None:
            asked = super().get_retry_after(response)
            if asked is not None and asked > self.retry_after_cap:
                # Waiting would hold a worker past the cap: give the answer (and its hint) back now.
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {asked:.0f}s is above the cap"))
        return super().increment(method=method, url=url, response=response, error=error, _pool=_pool,
                                 _stacktrace=_stacktrace)


def build_retry(*, max_retries: int, backoff_factor: float, backoff_jitter: float, retry_after_cap: float) -> Retry:
    return CappedRetry(
        total=max_retries,
        connect=max_retries,
        read=False,
        other=0,
        status=max_retries,
        redirect=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        backoff_max=retry_after_cap,
        respect_retry_after_header=True,
        # With retries used up, hand back the last 429/5xx so its status and Retry-After are mapped.
        raise_on_status=False,
        retry_after_cap=retry_after_cap,
    )


def build_session(*, retry: Retry, pool_size: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "namaskah-textverified/1"})
    # Authorization is added per request, never to session.headers, so it cannot leak to other hosts.
    session.trust_env = False
    return session


class TokenStore:
    """The bearer token in the shared cache, so every worker reuses one token.

    If the cache is down, a per-process copy keeps the client working (one token per process).
    """

    def __init__(self, *, base_url: str, username: str, clock=time.time, cache=None):
        self._cache = cache if cache is not None else default_cache
        # A cache outage is remembered (namaskah/cache.py): the local copy serves without a timeout each time.
        self._outage = Outage("TextVerified token store", logger=logger) if cache is not None else DEFAULT_CACHE_OUTAGE
        digest = hashlib.sha256(f"{base_url}|{username}".encode()).hexdigest()[:24]
        self.key = f"providers:textverified:token:{digest}"
        self._clock = clock
        self._local: dict | None = None
        self._lock = threading.Lock()

    def get(self) -> str | None:
        entry = self._outage.call(lambda: self._cache.get(self.key), _DOWN)
        if entry is _DOWN:
            with self._lock:
                entry = self._local
        if not entry or entry.get("expires_at", 0) - self._clock() < REFRESH_MARGIN:
            return None
        return entry.get("token")

    def put(self, token: str, *, expires_at: float) -> None:
        entry = {"token": token, "expires_at": expires_at}
        with self._lock:
            self._local = entry
        ttl = int(expires_at - self._clock() - REFRESH_MARGIN)
        if ttl <= 0:
            return
        self._outage.call(lambda: self._cache.set(self.key, entry, timeout=ttl), None)

    def drop(self, token: str) -> None:
        """Forget `token` unless another worker already replaced it."""
        with self._lock:
            if self._local and self._local.get("token") == token:
                self._local = None
        def drop_shared():
            entry = self._cache.get(self.key)
            if entry and entry.get("token") == token:
                self._cache.delete(self.key)

        self._outage.call(drop_shared, None)
