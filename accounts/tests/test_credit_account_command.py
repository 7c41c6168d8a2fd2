from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import LedgerEntry


def credit_account(*args, **options):
    out = StringIO()
    call_command("credit_account", *args, stdout=out, **options)
    return out.getvalue()


def test_it_credits_and_prints_the_new_balance(alice):
    credit_account("alice@example.com", "10.50", memo="bank transfer 42")
    out = credit_account("ALICE@example.com", "2", memo="goodwill")
    assert out.strip() == "credit_account: credited $2.00 to alice@example.com; new balance $12.50"
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("12.50")
    entry = LedgerEntry.objects.first()
    # No staff member: the memo says which ops command wrote it.
    assert (entry.kind, entry.memo, entry.created_by) == (
        LedgerEntry.Kind.TOPUP, "ops command credit_account: goodwill", None)


@pytest.mark.parametrize("amount", ["abc", "-5", "0", "0.00", "1.005", "1e3", "NaN", "10,00"])
def test_it_refuses_a_malformed_or_non_positive_amount(alice, amount):
    with pytest.raises(CommandError) as exc:
        credit_account("alice@example.com", amount, memo="x")
    assert exc.value.returncode == 1
    assert str(exc.value).startswith("credit_account: ") and "\n" not in str(exc.value)
    assert not LedgerEntry.objects.exists()


def test_it_refuses_an_unknown_email(alice):
    with pytest.raises(CommandError, match="no user with email 'nobody@example.com'") as exc:
        credit_account("nobody@example.com", "5", memo="x")
    assert exc.value.returncode == 1
    assert not LedgerEntry.objects.exists()


def test_it_requires_a_memo(alice):
    with pytest.raises(CommandError, match="--memo"):
        credit_account("alice@example.com", "5")
    with pytest.raises(CommandError, match="memo") as exc:
        credit_account("alice@example.com", "5", memo="  ")
    assert exc.value.returncode == 1
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("amount", ["99.99", "100", "100.00"])
def test_it_credits_up_to_the_limit_without_force(alice, amount):
    credit_account("alice@example.com", amount, memo="wire")
    assert LedgerEntry.objects.get().amount == Decimal(amount)


def test_it_refuses_more_than_the_limit_without_force(alice):
    with pytest.raises(CommandError) as exc:
        credit_account("alice@example.com", "100.01", memo="wire")
    assert exc.value.returncode == 1
    assert str(exc.value) == ("credit_account: $100.01 is above the per-operation limit of $100.00 "
                              "(STAFF_CREDIT_LIMIT); add --force to credit it anyway")
    assert not LedgerEntry.objects.exists()
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("0.00")


def test_force_credits_more_than_the_limit(alice, settings):
    settings.STAFF_CREDIT_LIMIT = Decimal("10.00")
    out = credit_account("alice@example.com", "2500.00", memo="wire 77", force=True)
    assert out.strip() == "credit_account: credited $2500.00 to alice@example.com; new balance $2500.00"
    entry = LedgerEntry.objects.get()
    assert (entry.amount, entry.memo, entry.created_by) == (
        Decimal("2500.00"), "ops command credit_account: wire 77", None)


def test_force_still_refuses_a_malformed_amount(alice):
    with pytest.raises(CommandError, match="at most 2 decimal places"):
        credit_account("alice@example.com", "1000.001", memo="x", force=True)
    assert not LedgerEntry.objects.exists()


def test_the_flag_is_spelled_force_on_the_command_line(alice):
    call_command("credit_account", "alice@example.com", "150", "--memo", "wire", "--force", stdout=StringIO())
    assert LedgerEntry.objects.get().amount == Decimal("150.00")
