"""The TextVerified v2 client (contract: /work/shared/textverified-api.md).

Every call has explicit (connect, read) timeouts; GETs are retried on 429/5xx with jittered backoff
(see transport.py); purchases carry an Idempotency-Key so repeating one never buys twice. Secrets
(API key, bearer token) never reach logs, exceptions or messages.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import time
from datetime import timedelta
from decimal import Decimal
from typing import Callable
from urllib.parse import quote, urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from providers.base import (
    Call, Health, ProviderError, ProviderRejected, ProviderUnavailable, Rental, RentalState, RentalStatus,
    ServiceOffer, Sms,
)
from providers.recordings import Recording
from providers.textverified import errors, parsing, recordings
from providers.textverified.transport import TokenStore, build_retry, build_session

logger = logging.getLogger(__name__)

API_PREFIX = "/api/pub/v2"
DEFAULT_TOKEN_LIFETIME = 900
IDEMPOTENCY_ATTEMPTS = 4  # tries of one purchase while the upstream says "same key still in flight"
MAX_PAGES = 50
NUMBER_TYPE = "mobile"
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


class TextVerifiedClient:
    name = "textverified"

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, username: str | None = None,
                 connect_timeout: float | None = None, read_timeout: float | None = None,
                 max_retries: int | None = None, retry_after_cap: float | None = None,
                 backoff_factor: float | None = None, backoff_jitter: float | None = None,
                 pool_size: int | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, cache=None, quote_ttl: int | None = None):
        def pick(value, name, default=None):
            return value if value is not None else getattr(settings, name, default)

        self.base_url = str(pick(base_url, "TEXTVERIFIED_BASE_URL")).rstrip("/")
        self._api = self.base_url + API_PREFIX
        self._origin = _origin(self.base_url)
        self._api_key = pick(api_key, "TEXTVERIFIED_API_KEY")
        self._username = pick(username, "TEXTVERIFIED_EMAIL")
        self._timeout = (float(pick(connect_timeout, "TEXTVERIFIED_CONNECT_TIMEOUT", 5.0)),
                         float(pick(read_timeout, "TEXTVERIFIED_READ_TIMEOUT", 30.0)))
        self._cap = float(pick(retry_after_cap, "TEXTVERIFIED_RETRY_AFTER_CAP", 5.0))
        self.retry = build_retry(
            max_retries=int(pick(max_retries, "TEXTVERIFIED_MAX_RETRIES", 3)),
            backoff_factor=float(pick(backoff_factor, "TEXTVERIFIED_BACKOFF_FACTOR", 0.5)),
            backoff_jitter=float(pick(backoff_jitter, "TEXTVERIFIED_BACKOFF_JITTER", 0.5)),
            retry_after_cap=self._cap,
        )
        self._session = build_session(retry=self.retry, pool_size=int(pick(pool_size, "TEXTVERIFIED_POOL_SIZE", 32)))
        self._sleep = sleep
        self._clock = clock
        self._tokens = TokenStore(base_url=self.base_url, username=str(self._username), clock=clock, cache=cache)
        self._cache = cache
        self._quote_ttl = int(pick(quote_ttl, "TEXTVERIFIED_QUOTE_TTL", 60))
        self._seen_tokens: collections.deque[str] = collections.deque(maxlen=8)

    # --- catalogue, prices, account ---------------------------------------------------------------

    def services(self) -> list[ServiceOffer]:
        data = self._json(self._request("GET", self._url("/services"), operation="services",
                                        params={"numberType": NUMBER_TYPE, "reservationType": "verification"}),
                          operation="services")
        if not isinstance(data, list):
            raise errors.bad_response(operation="services", what="not a list")
        offers, seen = [], set()
        for item in data:
            name = parsing.ci(item, "serviceName")
            capability = parsing.capability(parsing.ci(item, "capability"))
            if not name or capability not in ("sms", "voice") or (name, capability) in seen:
                continue
            seen.add((name, capability))
            offers.append(ServiceOffer(name=str(name), capability=capability,
                                       description=str(parsing.ci(item, "description") or "")))
        return offers

    def quote(self, *, service: str, capability: str) -> Decimal:
        """The upstream's current price. Raises ProviderRejected(unknown_service) for unsupported combinations."""
        body = {"serviceName": service, "areaCode": False, "carrier": False, "numberType": NUMBER_TYPE,
                "capability": capability}
        data = self._json(self._request("POST", self._url("/pricing/verifications"), json=body, operation="quote"),
                          operation="quote")
        price = parsing.decimal(parsing.ci(data, "price"))
        if price is None:
            raise errors.bad_response(operation="quote", what="no price")
        return price

    def _recent_quote(self, *, service: str, capability: str) -> Decimal:
        """A quote at most TEXTVERIFIED_QUOTE_TTL seconds old, shared by all workers.

        Saves one upstream round trip (~300 ms) on most purchases. Safe: maxPrice still makes the
        upstream refuse a purchase above our price if its price rose since the quote.
        """
        if self._quote_ttl <= 0:
            return self.quote(service=service, capability=capability)
        from django.core.cache import cache as default_cache

        store = self._cache or default_cache
        key = f"providers:tv:quote:{hashlib.sha256(f'{self.base_url}|{service}|{capability}'.encode()).hexdigest()[:32]}"
        try:
            cached = store.get(key)
        except Exception:
            cached = None
        if cached is not None:
            return Decimal(cached)
        price = self.quote(service=service, capability=capability)
        try:
            store.set(key, str(price), timeout=self._quote_ttl)
        except Exception:
            pass  # a dead cache costs a quote per purchase, nothing more
        return price

    def balance(self) -> Decimal:
        data = self._json(self._request("GET", self._url("/account/me"), operation="balance"), operation="balance")
        amount = parsing.decimal(parsing.ci(data, "currentBalance"))
        if amount is None:
            logger.warning("TextVerified account/me has no currentBalance; reporting 0")
            return Decimal("0")
        return amount

    def health(self) -> Health:
        """One cheap probe (account/me); never raises."""
        started = time.perf_counter()
        try:
            self._request("GET", self._url("/account/me"), operation="health")
        except ProviderError as exc:
            return Health(ok=False, latency_ms=_ms(started), checked_at=timezone.now(), detail=exc.code)
        return Health(ok=True, latency_ms=_ms(started), checked_at=timezone.now())

    # --- purchase -----------------------------------------------------------------------------------

    def rent(self, *, service: str, capability: str, country: str, max_price: Decimal, idempotency_key: str) -> Rental:
        """Quote, then buy with maxPrice and an Idempotency-Key. Calling it again with the same key
        after a timeout returns the same verification instead of buying a second one.
        ProviderRejected(unsupported_country), before any request, for a country other than the US."""
        key = (idempotency_key or "").strip()
        if not 1 <= len(key) <= 256:
            raise ValueError("rent() needs an idempotency key of 1-256 characters")
        if (country or "").upper() != "US":
            # TextVerified's API has no country parameter: everything it sells is a US number.
            raise ProviderRejected(f"TextVerified sells US numbers only, not {country!r} ones.",
                                   code="unsupported_country")
        cost = self._recent_quote(service=service, capability=capability)
        if cost > max_price:
            raise ProviderRejected(f"TextVerified charges {cost} for {service}/{capability}, above our cap {max_price}.",
                                   code="price_above_cap")
        body = {"serviceName": service, "capability": capability, "maxPrice": max_price}
        for attempt in range(1, IDEMPOTENCY_ATTEMPTS + 1):
            try:
                response = self._request("POST", self._url("/verifications"), json=body, operation="rent",
                                         headers={"Idempotency-Key": key}, expect=(200, 201))
                break
            except ProviderUnavailable as exc:
                if exc.code != "purchase_in_progress" or attempt == IDEMPOTENCY_ATTEMPTS:
                    raise
                # The first attempt with this key is still running upstream: wait, ask again, same key.
                self._sleep(min(float(exc.retry_after or 1), 0.5 * 2 ** (attempt - 1), self._cap))
        location = response.headers.get("Location") or parsing.href(self._json(response, operation="rent", strict=False))
        if not location:
            raise errors.bad_response(operation="rent", what="no Location and no link")
        details = self._details_at(location, operation="rent")
        if not parsing.phone(parsing.ci(details, "number")):
            # Some integrations saw the number appear a moment after the purchase.
            self._sleep(min(1.0, self._cap))
            details = self._details_at(location, operation="rent")
        reference = str(parsing.ci(details, "id") or urlsplit(self._absolute(location)).path.rstrip("/").rsplit("/", 1)[-1])
        expires_at = parsing.timestamp(parsing.ci(details, "endsAt"))
        if expires_at is None:
            logger.warning("TextVerified verification %s has no endsAt; assuming 15 minutes", reference)
            expires_at = timezone.now() + timedelta(minutes=15)
        return Rental(reference=reference, phone_number=parsing.phone(parsing.ci(details, "number")),
                      expires_at=expires_at, cost=parsing.decimal(parsing.ci(details, "totalCost")) or cost)

    # --- reads -------------------------------------------------------------------------------------

    def status(self, reference: str) -> RentalStatus:
        return parsing.status(self._details(reference, operation="status"), reference=reference)

    def messages(self, reference: str) -> list[Sms]:
        """SMS for this verification, by reservationId (numbers are recycled), oldest first."""
        items = self._paginate(self._url("/sms"), operation="messages",
                               params={"reservationId": reference, "reservationType": "verification"})
        found = {sms.id: sms for sms in map(parsing.sms, items) if sms is not None}
        return sorted(found.values(), key=lambda s: (s.received_at, s.id))

    def calls(self, reference: str) -> list[Call]:
        items = self._paginate(self._url("/calls"), operation="calls",
                               params={"reservationId": reference, "reservationType": "verification"})
        # By id: pages can shift while we walk them, and an item must not show up twice.
        found = {call.id: call for call in map(parsing.call, items) if call is not None}
        return sorted(found.values(), key=lambda c: (c.received_at, c.id))

    def recording(self, uri: str) -> Recording:
        """A call's recording (its recordingUri, absolute or relative to the base URL). Raises
        ProviderRejected (not_found, recording_too_large, unsupported_recording, bad_recording_uri),
        ProviderUnavailable."""
        return recordings.download(self, uri)

    # For recordings.download: the session, timeouts and token, with the same rules as every call.
    @property
    def session(self) -> requests.Session:
        return self._session

    @property
    def timeouts(self) -> tuple[float, float]:
        return self._timeout

    def same_origin(self, url: str) -> bool:
        return _origin(url) == self._origin

    def bearer_token(self) -> str:
        return self._token()

    def forget_token(self, token: str) -> None:
        self._tokens.drop(token)

    def redact(self, text: str) -> str:
        return self._redact(text)

    # --- actions -------------------------------------------------------------------------------------

    def cancel(self, reference: str) -> None:
        """Cancel if the upstream allows it now. Raises ProviderRejected(not_allowed) otherwise."""
        self._act(reference, operation="cancel", flag="canCancel", done=RentalState.CANCELLED)

    def report(self, reference: str) -> None:
        """Report the number if the upstream allows it now. Raises ProviderRejected(not_allowed) otherwise."""
        self._act(reference, operation="report", flag="canReport", done=RentalState.REPORTED)

    def _act(self, reference: str, *, operation: str, flag: str, done: str) -> None:
        details = self._details(reference, operation=operation)
        current = parsing.status(details, reference=reference)
        if current.state == done:
            return  # already done: repeating the action is a no-op
        action = parsing.ci(details, operation)
        if parsing.ci(action, flag) is not True:
            raise ProviderRejected(f"TextVerified does not allow to {operation} this verification now "
                                   f"(state: {current.raw_state or 'unknown'}).", code="not_allowed")
        link = parsing.href(parsing.ci(action, "link")) or self._url(f"/verifications/{quote(reference, safe='')}/{operation}")
        self._request("POST", link, operation=operation, expect=(200, 201, 202, 204))

    # --- HTTP ----------------------------------------------------------------------------------------

    def _details(self, reference: str, *, operation: str) -> dict:
        return self._details_at(self._url(f"/verifications/{quote(reference, safe='')}"), operation=operation)

    def _details_at(self, url: str, *, operation: str) -> dict:
        data = self._json(self._request("GET", url, operation=operation), operation=operation)
        if not isinstance(data, dict):
            raise errors.bad_response(operation=operation, what="details are not an object")
        return data

    def _paginate(self, url: str, *, operation: str, params: dict) -> list:
        items, seen, query = [], set(), params
        for _ in range(MAX_PAGES):
            data = self._json(self._request("GET", url, params=query, operation=operation), operation=operation)
            if isinstance(data, list):  # tolerate an unpaginated answer
                return items + data
            page = parsing.ci(data, "data")
            items.extend(page if isinstance(page, list) else [])
            next_url = parsing.href(parsing.ci(parsing.ci(data, "links"), "next"))
            if parsing.ci(data, "hasNext") is False or not next_url or next_url in seen:
                return items
            seen.add(next_url)
            url, query = next_url, None  # the next link carries its own query
        logger.warning("TextVerified %s: stopped after %s pages", operation, MAX_PAGES)
        return items

    def _url(self, path: str) -> str:
        return self._api + path

    def _absolute(self, href: str) -> str:
        if href.startswith(("http://", "https://")):
            return href
        if href.startswith("/"):
            return urljoin(self.base_url + "/", href)
        return urljoin(self._api + "/", href)

    def _request(self, method: str, url: str, *, operation: str, params: dict | None = None, json: dict | None = None,
                 headers: dict | None = None, expect: tuple[int, ...] = (200,)) -> requests.Response:
        url = self._absolute(url)
        # Links come from the upstream: our token goes only to the configured origin.
        with_auth = _origin(url) == self._origin
        for attempt in (1, 2):
            sent = dict(headers or {})
            token = None
            if with_auth:
                token = self._token()
                sent["Authorization"] = f"Bearer {token}"
            response = self._send(method, url, operation=operation, params=params, json=json, headers=sent)
            if response.status_code == 401 and token and attempt == 1:
                # Expired or revoked early: forget it, get a new one, try once more.
                logger.info("TextVerified %s: token refused, re-authenticating once", operation)
                self._tokens.drop(token)
                continue
            if response.status_code in expect:
                return response
            raise errors.for_response(response, operation=operation, redact=self._redact)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, *, operation: str, params: dict | None = None, json: dict | None = None,
              headers: dict | None = None) -> requests.Response:
        sent = dict(headers or {})
        data = None
        if json is not None:
            data = parsing.dumps(json)
            sent["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = self._session.request(method, url, params=params, data=data, headers=sent,
                                             timeout=self._timeout)
        except requests.RequestException as exc:
            logger.warning("TextVerified %s %s failed after %.0f ms: %s", method, urlsplit(url).path, _ms(started),
                           type(exc).__name__)
            raise errors.for_exception(exc, operation=operation) from None
        logger.debug("TextVerified %s %s -> %s in %.0f ms", method, urlsplit(url).path, response.status_code,
                     _ms(started))
        return response

    def _token(self) -> str:
        token = self._tokens.get()
        if token:
            self._remember(token)
            return token
        return self._authenticate()

    def _authenticate(self) -> str:
        if not self._api_key or not self._username:
            raise ProviderUnavailable("TextVerified credentials are not configured.", code="not_configured")
        response = self._send("POST", self._url("/auth"), operation="auth",
                              headers={"X-API-KEY": self._api_key, "X-API-USERNAME": self._username})
        if response.status_code != 200:
            raise errors.for_response(response, operation="auth", redact=self._redact)
        data = self._json(response, operation="auth")
        token = parsing.ci(data, "token")
        if not isinstance(token, str) or not token:
            raise errors.bad_response(operation="auth", what="no token")
        self._remember(token)
        lifetime = parsing.decimal(parsing.ci(data, "expiresIn"))
        if lifetime is not None:
            expires_at = self._clock() + float(lifetime)
        else:
            at = parsing.timestamp(parsing.ci(data, "expiresAt"))
            expires_at = at.timestamp() if at else self._clock() + DEFAULT_TOKEN_LIFETIME
        self._tokens.put(token, expires_at=expires_at)
        return token

    def _json(self, response: requests.Response, *, operation: str, strict: bool = True):
        try:
            return parsing.loads(response.content)
        except ValueError:
            if not strict:
                return None
            raise errors.bad_response(operation=operation, what="invalid JSON") from None

    def _remember(self, token: str) -> None:
        if token not in self._seen_tokens:
            self._seen_tokens.append(token)

    def _redact(self, text: str) -> str:
        for secret in (self._api_key, *self._seen_tokens):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
