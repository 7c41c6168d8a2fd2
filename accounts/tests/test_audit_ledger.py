from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import services
from accounts.models import Account


def audit():
    out, err = StringIO(), StringIO()
    call_command("audit_ledger", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_reports_balanced_accounts_in_one_line(alice, bob):
    services.credit(user=alice, amount="5.00", memo="topup")
    out, err = audit()
    assert out.strip() == "audit_ledger: 2 accounts checked, all balanced"
    assert err == ""


def test_it_is_safe_to_run_twice(alice):
    services.credit(user=alice, amount="5.00", memo="topup")
    assert audit() == audit()


def test_it_detects_a_tampered_balance(alice, bob):
    services.credit(user=alice, amount="5.00", memo="topup")
    services.credit(user=bob, amount="1.00", memo="topup")
    # Bypass the services the way a careless hand-written UPDATE would.
    Account.objects.filter(user=alice).update(balance=Decimal("50.00"))

    [(account, ledger_sum)] = services.ledger_mismatches()
    assert (account.user, account.balance, ledger_sum) == (alice, Decimal("50.00"), Decimal("5.00"))

    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("audit_ledger", stdout=StringIO(), stderr=err)
    assert exc.value.returncode == 1
    assert "1 of 2 accounts" in str(exc.value) and "alice@example.com" in str(exc.value)
    assert "alice@example.com: balance $50.00, ledger sum $5.00" in err.getvalue()
    assert "bob@example.com" not in err.getvalue()


def test_it_detects_a_balance_without_any_ledger_entry(alice):
    Account.objects.filter(user=alice).update(balance=Decimal("3.00"))
    with pytest.raises(CommandError, match="alice@example.com"):
        audit()
