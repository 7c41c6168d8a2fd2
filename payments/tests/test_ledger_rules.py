"""The database backs the top-up rules: one credit per top-up, reversals tied to a top-up, and only
reversals may take a balance below zero. Each test writes a bad row on purpose, past the services."""
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts import services as accounts
from accounts.models import LedgerEntry
from payments.models import TopUp, TopUpReinstatement, TopUpReversal


@pytest.fixture
def topup(alice):
    return TopUp.objects.create(owner=alice, amount=Decimal("10.00"))


def entry(account, **fields):
    return LedgerEntry.objects.create(account=account, **fields)


def test_it_refuses_a_second_credit_of_one_topup(alice, topup):
    entry(alice.account, kind="topup", amount=Decimal("10.00"), balance_after=Decimal("10.00"), topup=topup)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind="topup", amount=Decimal("10.00"), balance_after=Decimal("20.00"), topup=topup)


def test_manual_credits_without_a_topup_stay_unlimited(alice):
    for total in ("1.00", "2.00"):
        entry(alice.account, kind="topup", amount=Decimal("1.00"), balance_after=Decimal(total))
    assert LedgerEntry.objects.count() == 2


@pytest.mark.parametrize("kind", ["topup_refund", "dispute"])
def test_a_reversal_may_take_the_balance_below_zero(alice, topup, kind):
    entry(alice.account, kind=kind, amount=Decimal("-10.00"), balance_after=Decimal("-10.00"), topup=topup)
    assert LedgerEntry.objects.get().balance_after == Decimal("-10.00")


@pytest.mark.parametrize("kind", ["topup_refund", "dispute"])
def test_a_reversal_needs_its_topup_and_a_negative_amount(alice, topup, kind):
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=kind, amount=Decimal("-1.00"), balance_after=Decimal("0.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind=kind, amount=Decimal("1.00"), balance_after=Decimal("1.00"), topup=topup)


def test_a_refund_or_dispute_id_is_recorded_once(alice, topup):
    first = entry(alice.account, kind="dispute", amount=Decimal("-1.00"), balance_after=Decimal("-1.00"), topup=topup)
    second = entry(alice.account, kind="dispute", amount=Decimal("-1.00"), balance_after=Decimal("-2.00"), topup=topup)
    TopUpReversal.objects.create(topup=topup, kind="dispute", stripe_id="du_1", amount=Decimal("1.00"),
                                 ledger_entry=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        TopUpReversal.objects.create(topup=topup, kind="dispute", stripe_id="du_1", amount=Decimal("1.00"),
                                     ledger_entry=second)


def test_the_services_refuse_a_charge_below_zero_but_let_a_reversal_through(alice, topup):
    with transaction.atomic():
        account = accounts.lock_account(user=alice)
        accounts.debit_topup_reversal_locked(account=account, topup=topup, kind="dispute", amount=Decimal("3.00"),
                                             memo="test")
    with pytest.raises(accounts.InsufficientBalance) as refused:
        accounts.adjust(user=alice, amount="-1.00", memo="correction", created_by=alice)
    assert "add funds to settle it" in str(refused.value)
    credit = accounts.credit(user=alice, amount="1.00", memo="goodwill")  # money in: lands, still below zero
    assert credit.balance_after == Decimal("-2.00")
    assert accounts.ledger_mismatches() == []


def test_a_reinstatement_needs_its_topup_and_a_positive_amount(alice, topup):
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind="reinstated", amount=Decimal("1.00"), balance_after=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(alice.account, kind="reinstated", amount=Decimal("-1.00"), balance_after=Decimal("0.00"), topup=topup)


@pytest.fixture
def reversal(alice, topup):
    taken = entry(alice.account, kind="dispute", amount=Decimal("-2.00"), balance_after=Decimal("-2.00"), topup=topup)
    return TopUpReversal.objects.create(topup=topup, kind="dispute", stripe_id="du_1", amount=Decimal("2.00"),
                                        ledger_entry=taken)


def test_a_dispute_or_refund_is_given_back_once(alice, topup, reversal):
    given = entry(alice.account, kind="reinstated", amount=Decimal("2.00"), balance_after=Decimal("0.00"), topup=topup)
    again = entry(alice.account, kind="reinstated", amount=Decimal("2.00"), balance_after=Decimal("2.00"), topup=topup)
    TopUpReinstatement.objects.create(topup=topup, stripe_id="du_1", reason="dispute_won", reversal=reversal,
                                      amount=Decimal("2.00"), ledger_entry=given)
    with pytest.raises(IntegrityError), transaction.atomic():
        TopUpReinstatement.objects.create(topup=topup, stripe_id="du_1", reason="dispute_won", amount=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic():  # the same reversal under another id
        TopUpReinstatement.objects.create(topup=topup, stripe_id="du_2", reason="dispute_won", reversal=reversal,
                                          amount=Decimal("2.00"), ledger_entry=again)


def test_a_reinstatement_moves_money_exactly_when_something_was_taken(alice, topup, reversal):
    given = entry(alice.account, kind="reinstated", amount=Decimal("2.00"), balance_after=Decimal("0.00"), topup=topup)
    for fields in ({"amount": Decimal("2.00")},  # money without a reversal
                   {"amount": Decimal("0"), "reversal": reversal, "ledger_entry": given},
                   {"amount": Decimal("2.00"), "reversal": reversal}):  # a reversal but no ledger entry
        with pytest.raises(IntegrityError), transaction.atomic():
            TopUpReinstatement.objects.create(topup=topup, stripe_id="du_x", reason="dispute_won", **fields)
