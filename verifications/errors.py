"""Domain errors of the verification lifecycle; namaskah/api.py maps each to one HTTP status."""


class VerificationError(Exception):
    code = "verification_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotAvailable(VerificationError):
    """The service, capability or country cannot be bought right now (disabled or unsupported)."""

    code = "service_not_available"


class WrongState(VerificationError):
    """The verification is not in a state that allows this action (409)."""

    code = "wrong_state"


class IdempotencyKeyReused(VerificationError):
    """The same Idempotency-Key was sent with a different body (422)."""

    code = "idempotency_key_reused"


class IdempotencyInProgress(VerificationError):
    """The first request with this key is still buying the number (409): retry shortly."""

    code = "idempotency_in_progress"


class PriceAboveMax(VerificationError):
    """Our price is above the customer's cap (409): nothing was charged or bought."""

    code = "price_above_max"

    def __init__(self, *, price, max_price):
        super().__init__(f"The price {price} is above your max_price {max_price}; nothing was charged")
        self.price = price
        self.max_price = max_price
