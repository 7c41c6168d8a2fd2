from decimal import Decimal

import pytest

from accounts import services
from accounts.models import LedgerEntry
from accounts.money import InvalidAmount


def test_it_credits_a_balance_and_writes_one_topup(alice, staff):
    entry = services.credit(user=alice, amount="12.50", memo="  bank transfer 42 ", created_by=staff)
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("12.50")
    assert (entry.kind, entry.amount, entry.balance_after) == (LedgerEntry.Kind.TOPUP, Decimal("12.50"), Decimal("12.50"))
    assert (entry.created_by, entry.memo) == (staff, "bank transfer 42")


def test_it_adds_up_successive_credits(alice):
    services.credit(user=alice, amount=Decimal("1.10"), memo="a")
    entry = services.credit(user=alice, amount="2.20", memo="b")
    alice.account.refresh_from_db()
    assert alice.account.balance == entry.balance_after == Decimal("3.30")


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.005", "1e3", "NaN", ""])
def test_it_refuses_a_credit_that_is_not_a_positive_amount(alice, amount):
    with pytest.raises(InvalidAmount):
        services.credit(user=alice, amount=amount, memo="x")
    assert not LedgerEntry.objects.exists()


def test_it_refuses_a_float(alice):
    with pytest.raises(InvalidAmount):
        services.credit(user=alice, amount=0.1, memo="x")


def test_it_requires_a_memo(alice):
    with pytest.raises(ValueError, match="memo"):
        services.credit(user=alice, amount="1", memo="   ")
    assert not LedgerEntry.objects.exists()


def test_it_adjusts_down_and_up(alice, staff):
    services.credit(user=alice, amount="10", memo="topup")
    down = services.adjust(user=alice, amount="-2.50", memo="duplicate top-up", created_by=staff)
    up = services.adjust(user=alice, amount="0.50", memo="goodwill", created_by=staff)
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("8.00")
    assert [down.kind, down.amount, down.created_by] == [LedgerEntry.Kind.ADJUSTMENT, Decimal("-2.50"), staff]
    assert up.balance_after == Decimal("8.00")


def test_it_refuses_an_adjustment_below_zero(alice, staff):
    services.credit(user=alice, amount="1.00", memo="topup")
    with pytest.raises(services.InsufficientBalance) as exc:
        services.adjust(user=alice, amount="-1.50", memo="oops", created_by=staff)
    assert exc.value.missing == Decimal("0.50")
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("1.00")
    assert LedgerEntry.objects.count() == 1
