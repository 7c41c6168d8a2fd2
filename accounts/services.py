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

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import ZERO, Account, ApiKey, LedgerEntry, User
from accounts.money import parse_amount
from namaskah import cache as shared_cache


class InsufficientBalance(Exception):
    def __init__(self, *, balance: Decimal, required: Decimal):
        self.balance = balance
        self.required = required
        self.missing = required - balance
        super().__init__(f"Insufficient balance: ${required} needed, ${balance} available (${self.missing} missing)")


class AlreadyRefunded(Exception):
    """The verification was refunded before; nothing was changed."""


class NothingToRefund(Exception):
    """The verification was never charged."""


def lock_account(*, user: User) -> Account:
    """Lock and return the user's account row; call inside transaction.atomic()."""
    return Account.objects.select_for_update().get(user_id=user.pk)


def _post_locked(*, account: Account, kind: str, amount: Decimal, memo: str = "", verification=None,
                 created_by: User | None = None) -> LedgerEntry:
    new_balance = account.balance + amount
    if new_balance < ZERO:
        raise InsufficientBalance(balance=account.balance, required=-amount)
    # F() is not needed: the row is locked, so the value we read is the value we overwrite.
    account.balance = new_balance
    account.save(update_fields=["balance", "updated_at"])
    return LedgerEntry.objects.create(
        account=account, kind=kind, amount=amount, balance_after=new_balance,
        verification=verification, created_by=created_by, memo=memo[:255],
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


def charge_locked(*, account: Account, verification, amount: Decimal) -> LedgerEntry:
    """Charge a verification's price from an account the caller locked. Raises InsufficientBalance."""
    if amount <= ZERO:
        raise ValueError("a charge must be positive")
    return _post_locked(account=account, kind=LedgerEntry.Kind.CHARGE, amount=-amount, verification=verification,
                        memo=f"{verification.service.slug} {verification.capability}")


def refund_verification(*, verification, memo: str = "", created_by: User | None = None) -> LedgerEntry:
    """Return exactly what was charged for a verification, once; the caller (verifications.services)
    marks the verification refunded.

    Raises AlreadyRefunded on a repeat (the unique constraint is the last line of defence against
    a race the caller lost) and NothingToRefund if it was never charged.
    """
    with transaction.atomic():
        account = Account.objects.select_for_update().get(user_id=verification.user_id)
        charge = LedgerEntry.objects.filter(verification_id=verification.pk, kind=LedgerEntry.Kind.CHARGE).first()
        if charge is None:
            raise NothingToRefund(f"verification {verification.pk} was never charged")
        if LedgerEntry.objects.filter(verification_id=verification.pk, kind=LedgerEntry.Kind.REFUND).exists():
            raise AlreadyRefunded(f"verification {verification.pk} was already refunded")
        try:
            return _post_locked(account=account, kind=LedgerEntry.Kind.REFUND, amount=-charge.amount,
                                verification=verification, memo=memo or "refund", created_by=created_by)
        except IntegrityError as exc:
            raise AlreadyRefunded(f"verification {verification.pk} was already refunded") from exc


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
    shared_cache.call(lambda: cache.delete(api_key_cache_key(row.prefix)))  # revocation takes effect at once
    row.refresh_from_db()
    return row


API_KEY_CACHE_SECONDS = 30
USER_CACHE_SECONDS = 60
# What authentication reads of a user: a cached user differing in any of these is dropped.
_AUTH_FIELDS = ("password", "is_active", "is_staff", "is_superuser", "email")


def api_key_cache_key(prefix: str) -> str:
    return f"accounts:api-key:{prefix}"


def user_cache_key(user_id) -> str:
    return f"accounts:user:{user_id}"


def user_for_api_key(raw: str) -> User | None:
    """The active user owning this full key, or None. Constant-time comparison of the hash.

    The key row is kept in the shared cache for API_KEY_CACHE_SECONDS and its user as cached_user()
    keeps it: integrators poll every few seconds and each lookup was a query of every poll.
    Revoking deletes the key's entry, deactivating forgets the user: both take effect at once.
    """
    parts = raw.strip().split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    prefix = parts[1]
    row = user = None
    owner = _key_owners.get(prefix)
    if owner is not None:
        # The key's entry and its user's in one round trip (each cache call costs a client build).
        keys = [api_key_cache_key(prefix), user_cache_key(owner)]
        found = shared_cache.call(lambda: cache.get_many(keys), {})
        row, user = found.get(keys[0]), found.get(keys[1])
    if row is None:
        row = _cached_key_row(prefix)
    if row is None or not hmac.compare_digest(row.hashed_key, hashlib.sha256(raw.strip().encode()).hexdigest()):
        return None
    if len(_key_owners) > 100_000:
        _key_owners.clear()
    _key_owners[prefix] = row.user_id
    if user is None or user.pk != row.user_id:
        user = cached_user(user_id=row.user_id)
    if user is None or not user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)  # coarse, to spare a write per request
        row.last_used_at = now
        shared_cache.call(lambda: cache.set(api_key_cache_key(row.prefix), row, API_KEY_CACHE_SECONDS))
    return user


# prefix -> user id, per process: a prefix names one key row for ever (unique), and a row's user never
# changes, so this only tells which user entry to read beside the key's; revocation and deactivation
# are still read from the shared cache on every request.
_key_owners: dict[str, int] = {}


def _cached_key_row(prefix: str) -> ApiKey | None:
    row = shared_cache.call(lambda: cache.get(api_key_cache_key(prefix)))
    if row is None:
        row = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
        if row is not None:
            shared_cache.call(lambda: cache.set(api_key_cache_key(prefix), row, API_KEY_CACHE_SECONDS))
    return row


# --- the user row for authentication ----------------------------------------------------------------

def cached_user(*, user_id) -> User | None:
    """The user with this id as authentication needs it (API keys, JWTs), or None if there is none.

    Kept in the shared cache for USER_CACHE_SECONDS, so a poll reads no user row. Whatever changes
    what authentication decides — deactivation, a password change (simplejwt's hash_password claim
    is compared with the cached hash), staff flags, deletion — must call forget_cached_user().
    """
    key = user_cache_key(user_id)
    user = shared_cache.call(lambda: cache.get(key))
    if user is not None:
        return user
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    shared_cache.call(lambda: cache.set(key, user, USER_CACHE_SECONDS))
    # Read again after the write: a change that committed between our read and our write ran its
    # forget_cached_user() before our write landed, and must not be undone by it.
    if User.objects.filter(pk=user_id).values_list(*_AUTH_FIELDS).first() != tuple(
            getattr(user, name) for name in _AUTH_FIELDS):
        shared_cache.call(lambda: cache.delete(key))
    return user


def forget_cached_user(*, user_id: int) -> None:
    """Drop the user's cached row now and again when the current transaction commits. Call it from
    every service that deactivates a user, changes a password or staff flags, or deletes a user."""
    key = user_cache_key(user_id)
    shared_cache.call(lambda: cache.delete(key))
    transaction.on_commit(lambda: shared_cache.call(lambda: cache.delete(key)), robust=True)


# --- refresh tokens ---------------------------------------------------------------------------------

def rotate_refresh_token(*, refresh) -> dict:
    """{"access", "refresh"} for a valid simplejwt RefreshToken, which this call blacklists.

    Of any number of concurrent calls with one token exactly one wins: the blacklist row is unique
    per token, and only the call whose insert created it mints a new pair (simplejwt's own
    serializer checks first and blacklists after, so concurrent refreshes all got a pair). Raises
    InvalidToken for a token already used, AuthenticationFailed for a user gone or inactive.
    """
    from rest_framework_simplejwt import settings as jwt_settings
    from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

    api_settings = jwt_settings.api_settings
    user = User.objects.filter(pk=refresh.payload.get(api_settings.USER_ID_CLAIM)).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
    _, created = refresh.blacklist()  # get_or_create: one INSERT succeeds, the others find its row
    if not created:
        raise InvalidToken("Token is blacklisted")
    data = {"access": str(refresh.access_token)}
    refresh.set_jti()
    refresh.set_exp()
    refresh.set_iat()
    refresh.outstand()
    data["refresh"] = str(refresh)
    return data
