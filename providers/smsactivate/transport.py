"""The HTTP plumbing of the protocol client: one pooled session, the key kept out of URLs and
logs, and retries only where a repeat is harmless.

* The key goes in a POST form body (§13), so proxies' access logs never see it. `action` goes in
  both the query string and the body: providers read `$_GET`, `$_POST` or both. A provider that
  reads only the query string answers `NO_KEY` (or 405): nothing was processed, so the request is
  sent again as a GET with everything in the query, and the client stays in that mode.
* urllib3 retries only failures to connect (nothing was sent, safe for every action). Everything
  else is retried here, and only for calls the caller marks safe (reads, setStatus 6/8): HTTP 5xx
  and 429, ERROR_SQL-style tokens, a connection broken mid-answer. A read timeout is not retried:
  the provider is slow, and repeating would multiply how long a worker waits. A purchase is never
  retried (§13: never retry a getNumber blindly).
* Redirects are not followed: a redirected POST turns into a GET elsewhere, and the answer would
  not be the protocol's anyway.
"""
from __future__ import annotations

import logging
import random
import re
import threading
import time
from typing import Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from providers.base import ProviderUnavailable
from providers.smsactivate import errors, parsing
from providers.smsactivate.parsing import Answer

logger = logging.getLogger(__name__)

PATH = "/stubs/handler_api.php"
_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)


class ScrubKeyFilter(logging.Filter):
    """Masks `api_key=...` in records of the loggers it is attached to.

    urllib3 logs every request line, query string included, at DEBUG. In query mode that line
    holds our key, so the filter sits on urllib3's connection-pool logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if "api_key=" in str(record.msg).lower() or any("api_key=" in str(a).lower() for a in record.args or ()):
            record.msg = _KEY_IN_TEXT.sub(r"\1***", str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(_KEY_IN_TEXT.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


_scrubber = ScrubKeyFilter()
logging.getLogger("urllib3.connectionpool").addFilter(_scrubber)


def build_session(*, connect_retries: int, backoff_factor: float, pool_size: int) -> requests.Session:
    retry = Retry(total=connect_retries, connect=connect_retries, read=False, status=0, other=0, redirect=False,
                  backoff_factor=backoff_factor, raise_on_status=False, raise_on_redirect=False)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": "application/json, text/plain", "User-Agent": "namaskah-smsactivate/1"})
    session.trust_env = False  # no proxy settings from the environment: the key goes where we say
    return session


class Transport:
    def __init__(self, *, base_url: str, api_key: str | None, provider: str, timeout: tuple[float, float],
                 max_retries: int, backoff_factor: float, retry_after_cap: float, pool_size: int,
                 sleep: Callable[[float], None] = time.sleep):
        self.url = base_url.rstrip("/") + PATH
        self.provider = provider
        self._key = api_key or ""
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff = backoff_factor
        self._cap = retry_after_cap
        self._sleep = sleep
        self._session = build_session(connect_retries=max_retries, backoff_factor=backoff_factor, pool_size=pool_size)
        self._lock = threading.Lock()
        self.key_in_query = False  # set once the provider showed it ignores form bodies

    def redact(self, text: str) -> str:
        text = _KEY_IN_TEXT.sub(r"\1***", text)
        return text.replace(self._key, "[redacted]") if self._key else text

    def call(self, action: str, params: dict | None = None, *, safe: bool,
             purchase: bool = False) -> tuple[Answer, requests.Response]:
        """Send one action; returns its answer, whatever it says. Raises ProviderUnavailable when no
        answer came (after the retries a safe call is allowed)."""
        if not self._key:
            raise ProviderUnavailable(f"{self.provider}: SMSACTIVATE_API_KEY is not configured.", code="not_configured")
        attempts = 1 + (self._max_retries if safe else 0)
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(action, params or {}, purchase=purchase)
            except requests.RequestException as exc:
                error = errors.for_exception(exc, provider=self.provider, operation=action, purchase=purchase)
                # Connect failures were already retried by urllib3; a timeout means a slow provider.
                if attempt == attempts or errors.nothing_sent(exc) or isinstance(exc, requests.exceptions.Timeout):
                    raise error from None
                self._pause(attempt, None)
                continue
            answer = parsing.read(response)
            wait = answer.retry_after
            if attempt < attempts and _retryable(answer) and (wait is None or wait <= self._cap):
                self._pause(attempt, wait)
                continue
            return answer, response
        raise AssertionError("unreachable")

    def _send(self, action: str, params: dict, *, purchase: bool) -> requests.Response:
        fields = {"action": action, **{k: str(v) for k, v in params.items() if v is not None and v != ""}}
        if not self.key_in_query:
            response = self._request("POST", {"action": action}, {**fields, "api_key": self._key}, action=action)
            if response.status_code != 405 and parsing.read(response).token != "NO_KEY":
                return response
            # The provider did not read the body: nothing was processed, not even a purchase.
            with self._lock:
                if not self.key_in_query:
                    logger.warning("%s ignores form bodies (%s on POST): sending the key in the query string "
                                   "from now on", self.provider, response.status_code)
                    self.key_in_query = True
        return self._request("GET", {**fields, "api_key": self._key}, None, action=action)

    def _request(self, method: str, query: dict, body: dict | None, *, action: str) -> requests.Response:
        started = time.perf_counter()
        try:
            response = self._session.request(method, self.url, params=query, data=body, timeout=self._timeout,
                                             allow_redirects=False)
        except requests.RequestException as exc:
            # Never the exception's text: it holds the URL, and in query mode the URL holds the key.
            logger.warning("%s %s %s failed after %.0f ms: %s", self.provider, method, action, _ms(started),
                           type(exc).__name__)
            raise
        logger.debug("%s %s %s -> HTTP %s in %.0f ms", self.provider, method, action, response.status_code,
                     _ms(started))
        return response

    def _pause(self, attempt: int, retry_after: int | None) -> None:
        if retry_after is not None:
            delay = float(retry_after)
        else:
            delay = self._backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2)  # jitter spreads workers
        self._sleep(min(delay, self._cap))


def _retryable(answer: Answer) -> bool:
    return (answer.status >= 500 or answer.status == 429 or answer.token in errors.SERVER_ERRORS
            or answer.token in errors.RATE_LIMITED)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
