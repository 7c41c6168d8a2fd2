"""The database itself refuses a ledger or balance that breaks the money invariants.

Each test writes one bad row on purpose, bypassing the services, and expects an IntegrityError.
"""
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Account, LedgerEntry
from accounts.services import ledger_mismatches
from verifications.tests.factories import make_verification


def entry(account, **fields):
    defaults = {"kind": LedgerEntry.Kind.TOPUP, "amount": Decimal("1.00"), "balance_after": Decimal("1.00")}
    return LedgerEntry.objects.create(account=account, **{**defaults, **fields})


def test_it_accepts_a_well_formed_row(alice):
    entry(alice.account)
    assert LedgerEntry.objects.count() == 1


def test_it_names_a_balance_set_below_zero_outside_the_ledger(alice):
    # The account row has no sign check (a disputed card top-up may leave it negative): a balance
    # written by any other path than accounts.services is what audit_ledger reports.
    Account.objects.filter(pk=alice.account.pk).update(balance=Decimal("-0.01"))
    assert [(account.pk, total) for account, total in ledger_mismatches()] == [(alice.account.pk, Decimal("0"))]


def test_it_refuses_a_zero_amount(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=LedgerEntry.Kind.ADJUSTMENT, amount=Decimal("0.00"))


@pytest.mark.parametrize("kind, amount", [
    (LedgerEntry.Kind.TOPUP, "-1.00"),
    (LedgerEntry.Kind.CHARGE, "1.00"),
    (LedgerEntry.Kind.REFUND, "-1.00"),
])
def test_it_refuses_the_wrong_sign_for_the_kind(alice, catalogue, kind, amount):
    verification = make_verification(user=alice, catalogue=catalogue)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=kind, amount=Decimal(amount), verification=verification)


@pytest.mark.parametrize("amount", ["5.00", "-5.00"])
def test_it_accepts_an_adjustment_of_either_sign(alice, amount):
    entry(alice.account, kind=LedgerEntry.Kind.ADJUSTMENT, amount=Decimal(amount))
    assert LedgerEntry.objects.get().amount == Decimal(amount)


@pytest.mark.parametrize("kind", [LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUSTMENT])
def test_it_refuses_an_entry_that_takes_the_balance_below_zero(alice, catalogue, kind):
    verification = make_verification(user=alice, catalogue=catalogue)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=kind, amount=Decimal("-1.00"), balance_after=Decimal("-1.00"),
              verification=verification if kind == LedgerEntry.Kind.CHARGE else None)


@pytest.mark.parametrize("kind", [LedgerEntry.Kind.TOPUP, LedgerEntry.Kind.ADJUSTMENT])
def test_it_accepts_money_coming_in_that_leaves_a_balance_below_zero(alice, kind):
    # A $5 top-up after a $20 dispute must land, although the balance stays at -$15.
    entry(alice.account, kind=kind, amount=Decimal("5.00"), balance_after=Decimal("-15.00"))
    assert LedgerEntry.objects.get().balance_after == Decimal("-15.00")


@pytest.mark.parametrize("kind, amount", [(LedgerEntry.Kind.CHARGE, "-1.00"), (LedgerEntry.Kind.REFUND, "1.00")])
def test_it_refuses_a_charge_or_refund_without_a_verification(alice, kind, amount):
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=kind, amount=Decimal(amount), verification=None)


@pytest.mark.parametrize("kind, amount", [(LedgerEntry.Kind.CHARGE, "-1.00"), (LedgerEntry.Kind.REFUND, "1.00")])
def test_it_refuses_a_second_charge_or_refund_for_one_verification(alice, catalogue, kind, amount):
    verification = make_verification(user=alice, catalogue=catalogue)
    entry(alice.account, kind=kind, amount=Decimal(amount), verification=verification)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=kind, amount=Decimal(amount), verification=verification)
    assert LedgerEntry.objects.filter(verification=verification).count() == 1
