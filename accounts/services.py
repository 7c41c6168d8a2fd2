"""Every change of a balance goes through here: lock the account row, re-check, write the ledger entry.

The balance column is a cache of the ledger sum kept for O(1) reads; `audit_ledger` proves they agree.
Callers that combine a money movement with other writes (a purchase) run inside their own
`transaction.atomic()` and call the `*_locked` functions with an account they locked themselves.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import REVERSAL_KINDS, ZERO, Account, ApiKey, LedgerEntry, User
from accounts.credentials import API_KEY_PREFIX, api_key_cache_key, forget_cached_user
from accounts.money import parse_amount
from namaskah import cache as shared_cache

log = logging.getLogger(__name__)


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


def adjust(*, user: User, amount: Decimal | str, memo: str, created_by: User | None) -> LedgerEntry:
    """Staff correction, positive or negative. Raises InsufficientBalance if it would go below zero."""
    amount = parse_amount(amount, allow_negative=True)
    if not memo.strip():
        raise ValueError("a memo is required")
    with transaction.atomic():
        account = lock_account(user=user)
        return _post_locked(account=account, kind=LedgerEntry.Kind.ADJUSTMENT, amount=amount, memo=memo.strip(),
                            created_by=created_by)


class OverStaffLimit(Exception):
    """A manual entry above STAFF_CREDIT_LIMIT by someone not allowed to go above it; nothing written."""

    def __init__(self, *, amount: Decimal, limit: Decimal):
        self.amount = amount
        self.limit = limit
        super().__init__(f"${abs(amount)} is above the per-operation limit of ${limit} (STAFF_CREDIT_LIMIT)")


MANUAL_KINDS = (LedgerEntry.Kind.TOPUP, LedgerEntry.Kind.ADJUSTMENT)


def check_staff_limit(*, amount: Decimal, staff: User | None, force: bool = False) -> None:
    """Raise OverStaffLimit when |amount| exceeds STAFF_CREDIT_LIMIT, unless a superuser or `force` allows it."""
    limit = settings.STAFF_CREDIT_LIMIT
    if abs(amount) > limit and not force and not (staff is not None and staff.is_superuser):
        raise OverStaffLimit(amount=amount, limit=limit)


def manual_entry(*, user: User, kind: str, amount: Decimal | str, memo: str, staff: User | None = None,
                 command: str = "", force: bool = False) -> LedgerEntry:
    """A credit (kind topup) or an adjustment made by hand: by `staff` in admin or by an ops `command`.

    Capped per operation by STAFF_CREDIT_LIMIT (the absolute amount); above it only a superuser, or
    a command run with `force`. The ledger keeps the staff member (created_by) and the reason
    (memo); a command's entry has no created_by and its memo starts with "ops command <name>: ".
    Raises InvalidAmount, ValueError (no reason), OverStaffLimit, InsufficientBalance.
    """
    if kind not in MANUAL_KINDS:
        raise ValueError(f"a manual entry is a top-up or an adjustment, not {kind!r}")
    if (staff is None) == (not command):
        raise ValueError("a manual entry is made either by a staff member or by an ops command")
    amount = parse_amount(amount, allow_negative=kind == LedgerEntry.Kind.ADJUSTMENT)
    if not memo.strip():
        raise ValueError("a memo is required")
    check_staff_limit(amount=amount, staff=staff, force=force)
    if command:
        memo = f"ops command {command}: {memo.strip()}"
    operation = credit if kind == LedgerEntry.Kind.TOPUP else adjust
    return operation(user=user, amount=amount, memo=memo, created_by=staff)


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


def credit_reinstated_locked(*, account: Account, topup, amount: Decimal, memo: str) -> LedgerEntry:
    """Give back a top-up reversal that Stripe gave back (a failed or cancelled refund, a dispute
    won) to an account the caller locked; once per reversal is the caller's rule (payments)."""
    if amount <= ZERO:
        raise ValueError("a reinstatement must be positive")
    return _post_locked(account=account, kind=LedgerEntry.Kind.REINSTATED, amount=amount, topup=topup, memo=memo)


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
    _revoke(row, by=None)
    return row


def staff_revoke_api_key(*, key_id: int, staff: User) -> tuple[ApiKey, bool]:
    """Revoke any customer's key on behalf of staff, recording who did; (row, True if it was active).

    Raises ApiKey.DoesNotExist. Permissions are the caller's business (the admin checks them)."""
    row = ApiKey.objects.select_related("user").get(pk=key_id)
    return row, _revoke(row, by=staff)


def _revoke(row: ApiKey, *, by: User | None) -> bool:
    revoked = ApiKey.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=by)
    # Every path (the API's authentication, the SMS-Activate endpoint) reads this entry first:
    # deleting it makes the revocation take effect at once.
    shared_cache.call(lambda: cache.delete(api_key_cache_key(row.prefix)))
    row.refresh_from_db()
    return bool(revoked)


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


# --- sessions, tokens, email change -------------------------------------------------------------

def end_sessions_and_tokens(*, user: User) -> int:
    """End every session and every JWT refresh token of the user; return how many tokens it ended.

    Called after a password change or reset and an email change. Sessions end because the bumped
    session_version is part of the session hash (the caller keeps its own session with Django's
    update_session_auth_hash, given this same user object). Refresh tokens are blacklisted, so they
    can no longer be refreshed; access tokens issued before a password change are refused by
    simplejwt's CHECK_REVOKE_TOKEN; after an email change they live out their 15 minutes.
    """
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    user.refresh_from_db(fields=["session_version"])
    forget_cached_user(user_id=user.pk)  # the JWT and API-key paths read the user from the cache
    live = OutstandingToken.objects.filter(user_id=user.pk, expires_at__gt=timezone.now(),
                                           blacklistedtoken__isnull=True)
    # ignore_conflicts: a token blacklisted meanwhile (a concurrent refresh) is already ended.
    ended = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)
    return len(ended)


EMAIL_CHANGE_SALT = "accounts.email-change"
EMAIL_CHANGE_MAX_AGE = timedelta(hours=24)


class EmailChangeRefused(Exception):
    """A confirmation link that cannot change the email; `code` says why, the message says it to a person."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def request_email_change(*, user: User, new_email: str, password: str, site: str) -> str:
    """Check the password and the new address, mail a confirmation link to the new address and a
    notice to the current one; return the link's token. Nothing changes until the link is used.

    `site` is the scheme and host the links point at (https://namaskah.example.com). Raises django
    ValidationError (wrong password, bad, same or taken address), MailNotSent."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    if not user.check_password(password):
        raise ValidationError({"password": ["Wrong password."]})
    new_email = User.objects.normalize_email(new_email.strip()).lower()
    try:
        validate_email(new_email)
    except ValidationError as exc:
        raise ValidationError({"new_email": exc.messages}) from None
    if new_email == user.email.lower():
        raise ValidationError({"new_email": ["This is already your email address."]})
    if User.objects.filter(email__iexact=new_email).exists():
        raise ValidationError({"new_email": ["An account with this email already exists."]})
    # Bound to the user and to the current address: once the email changes (through this link or
    # another), every older link is dead.
    token = signing.dumps({"user": user.pk, "from": user.email, "to": new_email}, salt=EMAIL_CHANGE_SALT)
    context = {"user": user, "new_email": new_email, "site": site, "hours": int(EMAIL_CHANGE_MAX_AGE.total_seconds() // 3600),
               "link": site + reverse("email-change-confirm", args=[token]), "settings_link": site + reverse("settings")}
    # The old address first: if it cannot be told, no link goes out, so no change can happen unseen.
    _mail("accounts/email/email_change_notice", context, to=user.email)
    _mail("accounts/email/email_change_confirm", context, to=new_email)
    return token


def read_email_change(*, token: str) -> tuple[User, str]:
    """(user, new email) of a confirmation link that can still be used. Raises EmailChangeRefused."""
    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
    except signing.SignatureExpired:
        raise EmailChangeRefused("expired", "This confirmation link has expired: ask for a new one on your "
                                            "account page.") from None
    except signing.BadSignature:
        raise EmailChangeRefused("invalid", "This confirmation link is not valid: check that you copied "
                                            "all of it.") from None
    user = User.objects.filter(pk=data["user"], is_active=True).first()
    if user is None:
        raise EmailChangeRefused("invalid", "This confirmation link is not valid.")
    if user.email == data["to"]:
        raise EmailChangeRefused("used", f"This link was already used: your email is {data['to']}.")
    if user.email != data["from"]:
        raise EmailChangeRefused("superseded", "This link is no longer valid: your email changed since it was sent.")
    return user, data["to"]


def confirm_email_change(*, token: str) -> User:
    """Change the email to the link's new address and end the user's sessions and refresh tokens.

    Raises EmailChangeRefused (expired, invalid, used, superseded, or "taken" when the address was
    registered meanwhile)."""
    user, new_email = read_email_change(token=token)
    taken = EmailChangeRefused("taken", f"{new_email} now belongs to another account: your email was not changed.")
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise taken
    try:
        with transaction.atomic():
            # Conditional on the old address: of two uses of one link (or of two links), one wins.
            changed = User.objects.filter(pk=user.pk, email=user.email).update(email=new_email)
            if changed:
                end_sessions_and_tokens(user=user)
    except IntegrityError:  # the unique index on lower(email): someone registered it just now
        raise taken from None
    if not changed:
        read_email_change(token=token)  # says why (used, superseded)
        raise EmailChangeRefused("used", "This link was already used.")
    user.refresh_from_db()
    return user


class MailNotSent(Exception):
    """The mail server did not take the message (down, refused, timed out)."""


def _mail(template: str, context: dict, *, to: str) -> None:
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    try:
        send_mail(subject, render_to_string(f"{template}.txt", context), None, [to])
    except Exception as exc:  # smtplib's and socket's errors alike: the customer can only try again
        log.exception("could not send %s", template.rsplit("/", 1)[-1])
        raise MailNotSent(str(exc)) from exc
