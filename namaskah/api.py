"""One error shape for the whole API: {"error": {"code", "message", ["fields"], ...}}.

The table below is the single place where domain exceptions become HTTP statuses.
"""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.money import money_str
from accounts.services import InsufficientBalance
from namaskah.ratelimit import RateLimited
from payments.services import PaymentsUnavailable
from providers.base import ProviderRejected, ProviderUnavailable
from verifications.errors import IdempotencyInProgress, IdempotencyKeyReused, NotAvailable, PriceAboveMax, WrongState

log = logging.getLogger(__name__)
DEFAULT_RETRY_AFTER = 30

# ProviderRejected codes that mean "we cannot sell this right now": the customer should retry later.
REJECTED_TEMPORARY = {"no_numbers", "insufficient_upstream_balance", "too_many_unfinished", "price_above_cap"}

DOMAIN_STATUS = {
    NotAvailable: status.HTTP_400_BAD_REQUEST,
    InsufficientBalance: status.HTTP_402_PAYMENT_REQUIRED,
    WrongState: status.HTTP_409_CONFLICT,
    IdempotencyInProgress: status.HTTP_409_CONFLICT,
    IdempotencyKeyReused: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def error_response(status_code: int, code: str, message: str, headers: dict | None = None, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=status_code, headers=headers)


def exception_handler(exc, context):
    if isinstance(exc, InsufficientBalance):
        request = context.get("request")
        topup_url = request.build_absolute_uri(reverse("add-funds")) if request is not None else reverse("add-funds")
        return error_response(402, "insufficient_balance", str(exc), balance=money_str(exc.balance),
                              required=money_str(exc.required), missing=money_str(exc.missing), topup_url=topup_url)
    if isinstance(exc, PaymentsUnavailable):
        return error_response(503, exc.code, exc.message, headers={"Retry-After": str(DEFAULT_RETRY_AFTER)},
                              retry_after=DEFAULT_RETRY_AFTER)
    if isinstance(exc, PriceAboveMax):
        return error_response(409, exc.code, exc.message, price=money_str(exc.price),
                              max_price=money_str(exc.max_price))
    for kind, status_code in DOMAIN_STATUS.items():
        if isinstance(exc, kind):
            return error_response(status_code, exc.code, exc.message)
    if isinstance(exc, RateLimited):
        return error_response(429, "rate_limited", str(exc), headers={"Retry-After": str(exc.retry_after)},
                              retry_after=exc.retry_after)
    if isinstance(exc, ProviderUnavailable):
        retry = exc.retry_after or DEFAULT_RETRY_AFTER
        return error_response(503, exc.code, "The number provider is unavailable right now; nothing was charged. "
                              f"Try again in {retry} s.", headers={"Retry-After": str(retry)}, retry_after=retry)
    if isinstance(exc, ProviderRejected):
        if exc.code in REJECTED_TEMPORARY:
            return error_response(503, exc.code, f"{exc.message} Nothing was charged.",
                                  headers={"Retry-After": str(DEFAULT_RETRY_AFTER)}, retry_after=DEFAULT_RETRY_AFTER)
        if exc.code == "not_allowed":
            return error_response(409, "wrong_state", exc.message)
        return error_response(400, "service_not_available", exc.message)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"error": {"code": "invalid", "message": "The request is not valid.", "fields": fields}}
        return response
    code = {
        401: "not_authenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
        406: "not_acceptable", 415: "unsupported_media_type", 429: "rate_limited",
    }.get(response.status_code, getattr(exc, "default_code", "error"))
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = {"error": {"code": code, "message": plain_message(detail)}}
    return response


def plain_message(detail) -> str:
    """A DRF detail as one line of text. simplejwt's InvalidToken carries a dict
    ({"detail", "code", "messages": [{"message", ...}]}): str() of it would be Python reprs."""
    if isinstance(detail, dict):
        head = plain_message(detail.get("detail", ""))
        reasons = [str(m["message"]) for m in detail.get("messages", []) if isinstance(m, dict) and m.get("message")]
        reasons = [r for r in dict.fromkeys(reasons) if r != head]
        return ": ".join(part for part in (head, "; ".join(reasons)) if part) or "The request was refused."
    if isinstance(detail, (list, tuple)):
        return " ".join(plain_message(item) for item in detail)
    return str(detail)
