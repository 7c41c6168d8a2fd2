import re
from decimal import Decimal

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
_AMOUNT = re.compile(r"^-?\d{1,10}(\.\d{1,2})?$")


class InvalidAmount(ValueError):
    """A money amount that is malformed, has more than 2 decimal places, or is out of range."""


def parse_amount(raw: str | Decimal, *, allow_negative: bool = False) -> Decimal:
    """Parse user input into an exact 2-place Decimal; never round silently, never accept floats."""
    if isinstance(raw, float):
        raise InvalidAmount("floats are not accepted for money")
    text = str(raw).strip()
    if not _AMOUNT.match(text):
        raise InvalidAmount(f"{text!r} is not an amount like 10 or 10.50 (at most 2 decimal places)")
    value = Decimal(text).quantize(CENT)
    if value == 0:
        raise InvalidAmount("the amount must not be zero")
    if value < 0 and not allow_negative:
        raise InvalidAmount("the amount must be positive")
    if abs(value) > MAX_AMOUNT:
        raise InvalidAmount(f"the amount must not exceed {MAX_AMOUNT}")
    return value


def money_str(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))
