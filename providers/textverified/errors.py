"""The one place where TextVerified's answers and transport failures become our two error families.

ProviderRejected: the upstream answered "no" (a 4xx with a business reason). ProviderUnavailable:
no usable answer (429, 5xx, timeouts, connection errors, exhausted retries, garbage bodies).
Messages carry the upstream's description, scrubbed of our secrets by the caller's `redact`.
"""
from __future__ import annotations

from typing import Callable

import requests

from providers.base import ProviderError, ProviderRejected, ProviderUnavailable
from providers.textverified import parsing

# TextVerified errorCode -> our ProviderRejected code.
REJECTIONS = {
    "insufficientbalance": "insufficient_upstream_balance",
    "unavailable": "no_numbers",
    "pricingfailure": "price_above_cap",
    "toomanyunfinishedverifications": "too_many_unfinished",
    "processingerror": "not_allowed",
}
# What an undocumented 400 means, by operation: the service/option combination for a quote or a
# purchase, the action's state for cancel/report, a malformed request elsewhere.
BAD_REQUEST_BY_OPERATION = {
    "quote": "unknown_service",
    "rent": "unknown_service",
    "cancel": "not_allowed",
    "report": "not_allowed",
}
UNAVAILABLE_STATUSES = {408, 425, 429}


def retry_after(response: requests.Response) -> int | None:
    """Retry-After in whole seconds (delta form only; HTTP dates are rare enough to ignore)."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return max(0, int(seconds + 0.999))


def error_body(response: requests.Response) -> tuple[str, str]:
    """(errorCode, errorDescription) from any body: JSON, empty or not JSON at all."""
    try:
        data = parsing.loads(response.content) if response.content else {}
    except ValueError:
        data = {}
    code = parsing.ci(data, "errorCode") if isinstance(data, dict) else None
    description = parsing.ci(data, "errorDescription") if isinstance(data, dict) else None
    return str(code or ""), str(description or "")[:300]


def for_response(response: requests.Response, *, operation: str, redact: Callable[[str], str]) -> ProviderError:
    """The error for a non-success response."""
    status = response.status_code
    code, description = error_body(response)
    detail = redact(f": {description}" if description else "")
    upstream = f"TextVerified {operation} failed with HTTP {status}{' ' + code if code else ''}{detail}"
    if status == 409 and code.lower() == "idempotencyconflict":
        return ProviderUnavailable(f"{upstream} (the purchase is still being processed upstream)",
                                   code="purchase_in_progress", retry_after=retry_after(response) or 2)
    if code.lower() in REJECTIONS and 400 <= status < 500:
        return ProviderRejected(upstream, code=REJECTIONS[code.lower()])
    if status in UNAVAILABLE_STATUSES:
        return ProviderUnavailable(upstream, code="rate_limited" if status == 429 else "upstream_timeout",
                                   retry_after=retry_after(response))
    if status in (401, 403):
        return ProviderUnavailable(f"TextVerified {operation} failed with HTTP {status}: our credentials were "
                                   f"refused", code="upstream_auth_failed")
    if status == 404:
        return ProviderRejected(upstream, code="not_found")
    if status == 400:
        return ProviderRejected(upstream, code=BAD_REQUEST_BY_OPERATION.get(operation, "invalid_request"))
    if 400 <= status < 500:
        return ProviderRejected(upstream, code="invalid_request")
    if status >= 500:
        return ProviderUnavailable(upstream, code="upstream_error", retry_after=retry_after(response))
    return ProviderUnavailable(upstream, code="bad_response")


def for_exception(exc: Exception, *, operation: str) -> ProviderUnavailable:
    """The error for a transport failure. Only the exception's class is named: its text can carry URLs."""
    kind = type(exc).__name__
    if isinstance(exc, requests.exceptions.RetryError):
        return ProviderUnavailable(f"TextVerified {operation}: retries exhausted ({kind})", code="upstream_error")
    if isinstance(exc, requests.exceptions.Timeout):
        return ProviderUnavailable(f"TextVerified {operation} timed out ({kind})", code="timeout")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return ProviderUnavailable(f"TextVerified {operation}: connection failed ({kind})", code="connection_error")
    return ProviderUnavailable(f"TextVerified {operation} failed ({kind})", code="provider_unavailable")


def bad_response(*, operation: str, what: str) -> ProviderUnavailable:
    return ProviderUnavailable(f"TextVerified {operation}: unusable response ({what})", code="bad_response")
