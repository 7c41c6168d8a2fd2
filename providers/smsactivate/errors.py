"""The one place where a protocol answer or a transport failure becomes one of our two errors
(sms-activate-protocol.md §13, "Errors").

ProviderRejected: the provider answered "no" (no numbers, unknown service, our balance there...);
it never trips the breaker and the next provider may be tried. ProviderUnavailable: no usable
answer (HTTP >= 500, ERROR_SQL, timeouts, connection errors, garbage) or our key refused.

A purchase is special: an answer we could not read may hide a number that was bought. Those
failures carry code "lost_answer", so the caller knows the upstream state is unclear and a
reconcile must look for the number (client.recover_lost_purchase), instead of assuming nothing
was sold. Only failures that prove nothing was sold keep their ordinary code on a purchase.
"""
from __future__ import annotations

import logging
from typing import Callable

import requests
from urllib3.exceptions import NewConnectionError

from providers.base import ProviderError, ProviderRejected, ProviderUnavailable
from providers.smsactivate.parsing import Answer

logger = logging.getLogger(__name__)

# token -> (our ProviderRejected code, what it means)
REJECTIONS: dict[str, tuple[str, str]] = {
    "NO_NUMBERS": ("no_numbers", "no numbers on sale"),
    "OUT_OF_STOCK": ("no_numbers", "no numbers on sale"),
    "BAD_SERVICE": ("unknown_service", "the service is not sold there"),
    "WRONG_SERVICE": ("unknown_service", "the service is not sold there"),
    "BAD_COUNTRY": ("unknown_country", "the country is not sold there"),
    "WRONG_COUNTRY_ID": ("unknown_country", "the country is not sold there"),
    "BAD_OPERATOR": ("invalid_request", "the operator was refused"),
    "WRONG_OPERATOR": ("invalid_request", "the operator was refused"),
    "WRONG_MAX_PRICE": ("price_above_cap", "its price is above our cap"),
    "MAX_PRICE_EXCEEDED": ("price_above_cap", "its price is above our cap"),
    "NO_BALANCE": ("insufficient_upstream_balance", "our balance there is too low"),
    "NO_MONEY": ("insufficient_upstream_balance", "our balance there is too low"),
    "NO_BALANCE_FORWARD": ("insufficient_upstream_balance", "our balance there is too low"),
    "CHANNELS_LIMIT": ("too_many_unfinished", "too many of our activations are open there"),
    "TOO_MANY_ACTIVE_RENTALS": ("too_many_unfinished", "too many of our activations are open there"),
    "ACCOUNT_INACTIVE": ("not_allowed", "our account there is inactive"),
    "BANNED": ("not_allowed", "our account there is banned for now"),
    "ORDER_ALREADY_EXISTS": ("invalid_request", "the orderId was already used for another purchase"),
    "WRONG_EXCEPTION_PHONE": ("invalid_request", "the request was malformed"),
    "BAD_ACTION": ("invalid_request", "the provider does not support this action"),
    "NO_ACTIVATION": ("not_found", "the activation is not ours or is gone"),
    "WRONG_ACTIVATION_ID": ("not_found", "the activation is not ours or is gone"),
    "BAD_ID": ("not_found", "the activation is not ours or is gone"),
    "BAD_STATUS": ("not_allowed", "not allowed in the activation's state"),
    "OTP_RECEIVED": ("not_allowed", "a code has arrived"),
    "EARLY_CANCEL_DENIED": ("not_allowed", "the provider does not allow a cancel yet (about 2 minutes after purchase)"),
}
SERVER_ERRORS = frozenset({"ERROR_SQL", "SQL_ERROR", "SERVER_ERROR", "ERROR"})
KEY_ERRORS = frozenset({"BAD_KEY", "NO_KEY"})
RATE_LIMITED = frozenset({"TOO_MANY_REQUESTS", "REQUEST_LIMIT"})


def for_answer(answer: Answer, *, provider: str, operation: str, redact: Callable[[str], str],
               purchase: bool = False) -> ProviderError:
    """The error for an answer that is not the action's success."""
    token = answer.token or ""
    where = f"{provider} {operation}"
    if answer.status >= 500:
        return _unclear(f"{where} failed with HTTP {answer.status}", code="upstream_error", purchase=purchase,
                        retry_after=answer.retry_after)
    if answer.status == 429 or token in RATE_LIMITED:
        return ProviderUnavailable(f"{where}: rate limited ({token or 'HTTP 429'})", code="rate_limited",
                                   retry_after=answer.retry_after)
    if token in REJECTIONS:
        code, meaning = REJECTIONS[token]
        detail = redact(answer.rest)[:80]
        return ProviderRejected(f"{where}: {token}{':' + detail if detail else ''} ({meaning}).", code=code)
    if token in KEY_ERRORS or answer.status in (401, 403):
        # Our configuration is wrong: an alert for ops, and unavailable so the breaker stops traffic.
        logger.error("ALERT %s refused our API key on %s (%s): check SMSACTIVATE_API_KEY", provider, operation,
                     token or f"HTTP {answer.status}")
        return ProviderUnavailable(f"{where}: the provider refused our API key ({token or answer.status})",
                                   code="upstream_auth_failed")
    if token in SERVER_ERRORS:
        return _unclear(f"{where}: the provider failed ({token})", code="upstream_error", purchase=purchase)
    what = f"{token or 'unreadable answer'}" + (f", HTTP {answer.status}" if answer.status != 200 else "")
    if not token:
        logger.warning("%s: unreadable answer (HTTP %s): %r", where, answer.status, redact(answer.text)[:120])
    return _unclear(f"{where}: unusable answer ({what})", code="bad_response", purchase=purchase)


def for_exception(exc: Exception, *, provider: str, operation: str, purchase: bool = False) -> ProviderUnavailable:
    """The error for a transport failure. Only the exception's class is named: its text can carry URLs."""
    kind = type(exc).__name__
    where = f"{provider} {operation}"
    if nothing_sent(exc):
        return ProviderUnavailable(f"{where}: connection failed ({kind})", code="connection_error")
    if isinstance(exc, requests.exceptions.Timeout):
        return _unclear(f"{where} timed out ({kind})", code="timeout", purchase=purchase)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _unclear(f"{where}: the connection broke ({kind})", code="connection_error", purchase=purchase)
    return _unclear(f"{where} failed ({kind})", code="provider_unavailable", purchase=purchase)


def nothing_sent(exc: Exception) -> bool:
    """True when the request certainly never reached the provider (the connection was never made).

    requests raises ConnectTimeout for a connect timeout, and ConnectionError wrapping urllib3's
    MaxRetryError(reason=NewConnectionError) for a refused connection or an unknown host. A broken
    connection after the request was written is also a ConnectionError, but wraps something else.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner = exc.args[0] if exc.args else None
        return isinstance(getattr(inner, "reason", None), NewConnectionError)
    return False


def lost_answer(message: str, *, retry_after: int | None = None) -> ProviderUnavailable:
    return ProviderUnavailable(f"{message}; the number may have been bought: reconcile looks for it",
                               code="lost_answer", retry_after=retry_after)


def _unclear(message: str, *, code: str, purchase: bool, retry_after: int | None = None) -> ProviderUnavailable:
    if purchase:
        return lost_answer(message, retry_after=retry_after)
    return ProviderUnavailable(message, code=code, retry_after=retry_after)
