"""Every change of a balance goes through here: lock the account row, re-check, write the ledger entry.

The balance column is a cache of the ledger sum kept for O(1) reads; `audit_ledger` proves they agree.
Callers that combine a money movement with other writes (a purchase) run inside their own
`transaction.atomic()` and call the `*_locked` functions with an account they locked themselves.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import REVERSAL_KINDS, ZERO, Account, ApiKey, LedgerEntry, User
from accounts.money import parse_amount


class InsufficientBalance(Exception):
    def __init__(self, *, balance: Decimal, required: Decimal):
        self.balance = balance
        self.required = required
        self.missing = required - balance
        if balance < ZERO:
            # Below zero only after a card top-up was refunded or disputed: say why, and what to do.
            message = (f"Your balance is ${balance} because a card top-up was refunded or disputed: "
                       f"add funds to settle it (${required} needed, ${self.missing} missing).")
        else:
            message = (f"Insufficient balance: ${required} needed, ${balance} available "
                       f"(${self.missing} missing). Add funds to continue.")
        super().__init__(message)


class AlreadyRefunded(Exception):
    """The verification was refunded before; nothing was changed."""


class NothingToRefund(Exception):
    """The verification was never charged."""


def lock_account(*, user: User) -> Account:
    """Lock and return the user's account row; call inside transaction.atomic()."""
    return Account.objects.select_for_update().get(user_id=user.pk)


def _post_locked(*, account: Account, kind: str, amount: Decimal, memo: str = "", verification=None,
                 topup=None, created_by: User | None = None) -> LedgerEntry:
    new_balance = account.balance + amount
    # Taking money may not go below zero, except for a top-up reversal (Stripe already took the money
    # back); adding money is always allowed, also when it leaves a negative balance short of zero.
    if amount < ZERO and new_balance < ZERO and kind not in REVERSAL_KINDS:
        raise InsufficientBalance(balance=account.balance, required=-amount)
    # F() is not needed: the row is locked, so the value we read is the value we overwrite.
    account.balance = new_balance
    account.save(update_fields=["balance", "updated_at"])
    return LedgerEntry.objects.create(
        account=account, kind=kind, amount=amount, balance_after=new_balance,
        verification=verification, topup=topup, created_by=created_by, memo=memo[:255],
    )


def credit(*, user: User, amount: Decimal | str, memo: str, created_by: User | None = None) -> LedgerEntry:
    """Top up a balance (bank transfer, goodwill). Raises InvalidAmount for a non-positive amount."""
    amount = parse_amount(amount)
    if not memo.strip():
        raise ValueError("a memo is required")
    with transaction.atomic():
        account = lock_account(user=user)
        return _post_locked(account=account, kind=LedgerEntry.Kind.TOPUP, amount=amount, memo=memo.strip(),
                            created_by=created_by)


def adjust(*, user: User, amount: Decimal | str, memo: str, created_by: User) -> LedgerEntry:
    """Staff correction, positive or negative. Raises InsufficientBalance if it would go below zero."""
    amount = parse_amount(amount, allow_negative=True)
    if not memo.strip():
        raise ValueError("a memo is required")
    with transaction.atomic():
        account = lock_account(user=user)
        return _post_locked(account=account, kind=LedgerEntry.Kind.ADJUSTMENT, amount=amount, memo=memo.strip(),
                            created_by=created_by)


def credit_topup_locked(*, account: Account, topup, amount: Decimal, memo: str) -> LedgerEntry:
    """Credit a paid card top-up to an account the caller locked.

    Raises IntegrityError on a second credit of the same top-up (ledger_one_credit_per_topup)."""
    if amount <= ZERO:
        raise ValueError("a top-up credit must be positive")
    return _post_locked(account=account, kind=LedgerEntry.Kind.TOPUP, amount=amount, topup=topup, memo=memo)


def debit_topup_reversal_locked(*, account: Account, topup, kind: str, amount: Decimal, memo: str) -> LedgerEntry:
    """Take back a refunded or disputed card top-up from an account the caller locked; the balance
    may go below zero (purchases are then refused until a top-up settles it)."""
    if kind not in REVERSAL_KINDS:
        raise ValueError(f"{kind!r} is not a top-up reversal")
    if amount <= ZERO:
        raise ValueError("a reversal amount must be positive")
    return _post_locked(account=account, kind=kind, amount=-amount, topup=topup, memo=memo)


def charge_locked(*, account: Account, verification, amount: Decimal) -> LedgerEntry:
    """Charge a verification's price from an account the caller locked. Raises InsufficientBalance."""
    if amount <= ZERO:
        raise ValueError("a charge must be positive")
    return _post_locked(account=account, kind=LedgerEntry.Kind.CHARGE, amount=-amount, verification=verification,
                        memo=f"{verification.service.slug} {verification.capability}")


def refund_verification(*, verification, memo: str = "", created_by: User | None = None) -> LedgerEntry:
    """Return exactly what was charged for a verification, once.

    Raises AlreadyRefunded on a repeat (the unique constraint is the last line of defence against
    a race the caller lost) and NothingToRefund if it was never charged.
    """
    from verifications.models import Verification

    with transaction.atomic():
        account = Account.objects.select_for_update().get(user_id=verification.user_id)
        charge = LedgerEntry.objects.filter(verification_id=verification.pk, kind=LedgerEntry.Kind.CHARGE).first()
        if charge is None:
            raise NothingToRefund(f"verification {verification.pk} was never charged")
        if LedgerEntry.objects.filter(verification_id=verification.pk, kind=LedgerEntry.Kind.REFUND).exists():
            raise AlreadyRefunded(f"verification {verification.pk} was already refunded")
        try:
            entry = _post_locked(account=account, kind=LedgerEntry.Kind.REFUND, amount=-charge.amount,
                                 verification=verification, memo=memo or "refund", created_by=created_by)
        except IntegrityError as exc:
            raise AlreadyRefunded(f"verification {verification.pk} was already refunded") from exc
        now = timezone.now()
        Verification.objects.filter(pk=verification.pk).update(refunded_at=now)
        verification.refunded_at = now
        return entry


def ledger_mismatches() -> list[tuple[Account, Decimal]]:
    """Accounts whose balance differs from the sum of their ledger entries, with that sum."""
    rows = Account.objects.select_related("user").annotate(ledger_sum=Sum("entries__amount")).order_by("pk")
    return [(a, a.ledger_sum or ZERO) for a in rows.iterator(chunk_size=2000) if (a.ledger_sum or ZERO) != a.balance]


# --- registration and API keys ------------------------------------------------------------------

def register(*, email: str, password: str) -> User:
    """Create a customer with an empty account. Raises django ValidationError (weak password, taken email)."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = User.objects.normalize_email(email.strip()).lower()
    validate_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["An account with this email already exists."]})
    try:
        validate_password(password, user=User(email=email))
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    try:
        with transaction.atomic():
            return User.objects.create_user(email, password)
    except IntegrityError:
        raise ValidationError({"email": ["An account with this email already exists."]}) from None


API_KEY_PREFIX = "nmk"


def create_api_key(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Return (key row, the full key). The full key is never stored and cannot be shown again."""

    name = name.strip()[:64] or "API key"
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    full = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    row = ApiKey.objects.create(user=user, name=name, prefix=prefix, hashed_key=hashlib.sha256(full.encode()).hexdigest())
    return row, full


def revoke_api_key(*, user: User, key_id: int) -> ApiKey:
    """Revoke one of the user's keys (idempotent). Raises ApiKey.DoesNotExist for another user's key."""
    row = ApiKey.objects.get(pk=key_id, user=user)
    ApiKey.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _cache_safely("delete", api_key_cache_key(row.prefix))  # revocation takes effect at once
    row.refresh_from_db()
    return row


API_KEY_CACHE_SECONDS = 30


def api_key_cache_key(prefix: str) -> str:
    # verifications/fastpoll.py reads this entry too: deleting it (revocation) stops the key there at
    # once; a deactivated user's entry says so when it is next rewritten (API_KEY_CACHE_SECONDS).
    return f"accounts:api-key:{prefix}"


def user_for_api_key(raw: str) -> User | None:
    """The active user owning this full key, or None. Constant-time comparison of the hash.

    The key row and its user are kept in the shared cache for API_KEY_CACHE_SECONDS: integrators
    poll every few seconds and the lookup was one query of every poll. Revoking deletes the entry
    at once; deactivating a user takes effect within that time.
    """
    parts = raw.strip().split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    row = _cached_key_row(parts[1])
    if row is None or not row.user.is_active:
        return None
    if not hmac.compare_digest(row.hashed_key, hashlib.sha256(raw.strip().encode()).hexdigest()):
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)  # coarse, to spare a write per request
        row.last_used_at = now
        _cache_safely("set", api_key_cache_key(row.prefix), row, API_KEY_CACHE_SECONDS)
    return row.user


def _cached_key_row(prefix: str) -> ApiKey | None:
    row = _cache_safely("get", api_key_cache_key(prefix))
    if row is None:
        row = ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
        if row is not None:
            _cache_safely("set", api_key_cache_key(prefix), row, API_KEY_CACHE_SECONDS)
    return row


def _cache_safely(operation: str, *args):
    from django.core.cache import cache

    try:
        return getattr(cache, operation)(*args)
    except Exception:  # a cache outage costs a query, never a failed request
        return None
