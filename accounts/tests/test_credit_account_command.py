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
    assert (entry.kind, entry.memo, entry.created_by) == (LedgerEntry.Kind.TOPUP, "goodwill", None)


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
