"""The one table from our domain errors to the protocol's tokens (contract §6). It stands beside the
JSON API's exception handler (namaskah/api.py) and shares its idea of a temporary refusal, so a "no"
means the same on both doors."""
from __future__ import annotations

from accounts.services import InsufficientBalance
from providers.base import DEFAULT_RETRY_AFTER, TEMPORARY_REJECTIONS
from namaskah.ratelimit import RateLimited
from providers.base import ProviderRejected, ProviderUnavailable
from smsactivate_api.answers import Answer, Refusal, money, text
from verifications.errors import IdempotencyInProgress, IdempotencyKeyReused, NotAvailable, PriceAboveMax, WrongState

# WrongState codes that mean "not now, maybe later" rather than "never in this state".
NOT_YET = {"cannot_cancel", "purchase_in_progress"}


def answer_for(exc: Exception, *, buying: bool) -> Answer | None:
    """The protocol's answer to a domain error, or None for a bug (the view logs it, answers ERROR_SQL).
    `buying`: the action is getNumber/getNumberV2, where every upstream failure reads as NO_NUMBERS."""
    if isinstance(exc, Refusal):
        return exc.answer
    if isinstance(exc, RateLimited):
        return text("TOO_MANY_REQUESTS", headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, InsufficientBalance):
        return text("NO_BALANCE")
    if isinstance(exc, PriceAboveMax):
        return text("WRONG_MAX_PRICE", money(exc.price))
    if isinstance(exc, NotAvailable):
        return text("BAD_SERVICE")
    if isinstance(exc, IdempotencyKeyReused):
        return text("ORDER_ALREADY_EXISTS")
    if isinstance(exc, IdempotencyInProgress):
        return text("ERROR_SQL")  # the first request with this orderId is still buying: retry shortly
    if isinstance(exc, WrongState):
        return text("EARLY_CANCEL_DENIED" if exc.code in NOT_YET else "BAD_STATUS")
    if isinstance(exc, ProviderUnavailable):
        retry = str(exc.retry_after or DEFAULT_RETRY_AFTER)
        return text("NO_NUMBERS" if buying else "ERROR_SQL", headers={"Retry-After": retry})
    if isinstance(exc, ProviderRejected):
        if not buying:
            return text("ERROR_SQL")
        return text("NO_NUMBERS" if exc.code in TEMPORARY_REJECTIONS else "BAD_SERVICE")
    return None
