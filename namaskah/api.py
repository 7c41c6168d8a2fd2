"""One error shape for the whole API: {"error": {"code", "message", ["fields"], ...}}.

The table below is the single place where domain exceptions become HTTP statuses. Errors that
happen outside a DRF view (a malformed id that matches no route, a bug, a NUL character refused by
namaskah.middleware) reach Django's handler400/404/500 (namaskah/handlers.py), which answer in the
same shape on API paths and with Django's pages elsewhere (dashboard pages, admin).
"""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from rest_framework import exceptions, parsers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.money import money_str
from accounts.services import InsufficientBalance
from namaskah.ratelimit import RateLimited
from payments.services import PaymentsUnavailable
from providers.base import DEFAULT_RETRY_AFTER, TEMPORARY_REJECTIONS, ProviderRejected, ProviderUnavailable
from verifications.errors import IdempotencyInProgress, IdempotencyKeyReused, NotAvailable, PriceAboveMax, WrongState

log = logging.getLogger(__name__)

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
        if exc.code in TEMPORARY_REJECTIONS:
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


# --- JSON bodies -------------------------------------------------------------------------------------

NUL_MESSAGE = "Null characters are not allowed."


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a NUL character in any string (PostgreSQL cannot hold one)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where = _nul_in(data)
        if where is not None:
            raise exceptions.ValidationError({where: [NUL_MESSAGE]})
        return data


def _nul_in(value, where: str = "non_field_errors") -> str | None:
    """The field (a top-level key) holding a NUL in a string or a key, anywhere below it; or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        name = str(key).replace("\x00", "") if isinstance(value, dict) and where == "non_field_errors" else where
        if (isinstance(key, str) and "\x00" in key) or _nul_in(item, name) is not None:
            return name
    return None
