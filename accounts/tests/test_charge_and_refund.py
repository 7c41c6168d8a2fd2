from decimal import Decimal

import pytest
from django.db import transaction

from accounts import services
from accounts.models import LedgerEntry
from verifications.models import Verification
from verifications.tests.factories import make_verification


def charge(user, verification, amount):
    with transaction.atomic():
        account = services.lock_account(user=user)
        return services.charge_locked(account=account, verification=verification, amount=Decimal(amount))


@pytest.fixture
def funded_alice(alice):
    services.credit(user=alice, amount="5.00", memo="topup")
    return alice


def test_it_charges_a_verification(funded_alice, catalogue):
    verification = make_verification(user=funded_alice, catalogue=catalogue, price="1.30")
    entry = charge(funded_alice, verification, "1.30")
    funded_alice.account.refresh_from_db()
    assert funded_alice.account.balance == Decimal("3.70")
    assert (entry.kind, entry.amount, entry.balance_after, entry.verification) == (
        LedgerEntry.Kind.CHARGE, Decimal("-1.30"), Decimal("3.70"), verification)


def test_it_refuses_a_charge_above_the_balance_and_says_what_is_missing(alice, catalogue):
    services.credit(user=alice, amount="0.50", memo="topup")
    verification = make_verification(user=alice, catalogue=catalogue, price="1.50")
    with pytest.raises(services.InsufficientBalance) as exc:
        charge(alice, verification, "1.50")
    assert (exc.value.balance, exc.value.required, exc.value.missing) == (Decimal("0.50"), Decimal("1.50"), Decimal("1.00"))
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("0.50")
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()


def test_it_charges_the_whole_balance_down_to_zero(funded_alice, catalogue):
    verification = make_verification(user=funded_alice, catalogue=catalogue, price="5.00")
    assert charge(funded_alice, verification, "5.00").balance_after == Decimal("0.00")


def test_it_refuses_a_non_positive_charge(funded_alice, catalogue):
    verification = make_verification(user=funded_alice, catalogue=catalogue)
    with pytest.raises(ValueError):
        charge(funded_alice, verification, "0.00")


def test_it_refunds_exactly_what_was_charged(funded_alice, catalogue, staff):
    verification = make_verification(user=funded_alice, catalogue=catalogue, price="1.30")
    charge(funded_alice, verification, "1.30")
    # Later catalogue or row changes must not change what goes back.
    Verification.objects.filter(pk=verification.pk).update(price=Decimal("9.99"))
    entry = services.refund_verification(verification=verification, memo="cancelled", created_by=staff)
    funded_alice.account.refresh_from_db()
    assert (entry.kind, entry.amount, entry.created_by) == (LedgerEntry.Kind.REFUND, Decimal("1.30"), staff)
    assert funded_alice.account.balance == entry.balance_after == Decimal("5.00")


def test_it_refunds_at_most_once(funded_alice, catalogue):
    verification = make_verification(user=funded_alice, catalogue=catalogue)
    charge(funded_alice, verification, "1.00")
    services.refund_verification(verification=verification)
    with pytest.raises(services.AlreadyRefunded):
        services.refund_verification(verification=verification)
    funded_alice.account.refresh_from_db()
    assert funded_alice.account.balance == Decimal("5.00")
    assert LedgerEntry.objects.filter(verification=verification, kind=LedgerEntry.Kind.REFUND).count() == 1


def test_it_refuses_to_refund_what_was_never_charged(funded_alice, catalogue):
    verification = make_verification(user=funded_alice, catalogue=catalogue)
    with pytest.raises(services.NothingToRefund):
        services.refund_verification(verification=verification)
    funded_alice.account.refresh_from_db()
    assert funded_alice.account.balance == Decimal("5.00")
    assert not verification.refunded
