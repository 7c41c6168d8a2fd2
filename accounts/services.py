"""Every change of a balance goes through here: lock the account row, re-check, write the ledger entry.

The balance column is a cache of the ledger sum kept for O(1) reads; `audit_ledger` proves they agree.
Callers that combine a money movement with other writes (a purchase) run inside their own
`transaction.atomic()` and call the `*_locked` functions with an account they locked themselves.
"""
from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import ZERO, Account, LedgerEntry, User
from accounts.money import parse_amount


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
                        memo=f"{verification.service_id} {verification.capability}")


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
