"""Money under real concurrency, on PostgreSQL (SQLite serialises writers, so it proves nothing)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition
from django.utils import timezone

from accounts.models import LedgerEntry
from accounts.services import InsufficientBalance, ledger_mismatches
from verifications import services
from verifications.errors import IdempotencyInProgress, WrongState
from verifications.models import Verification
from verifications.tests.lifecycle import balance, fund, make_shop, rewrite

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="race tests need PostgreSQL's row locks; SQLite serialises all writers"),
]



@pytest.fixture
def shop(settings):
    settings.MOCK_SMS_DELAY = 600
    return make_shop()


def test_twenty_simultaneous_cancels_refund_once(shop, alice, run_together):
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["telegram"], country=shop["us"], capability="sms")
    results = run_together(20, lambda i: services.cancel(verification=Verification.objects.get(pk=verification.pk)))
    won = [r for r in results if isinstance(r, Verification)]
    assert len(won) == 1, results
    assert all(isinstance(r, WrongState) for r in results if r not in won)
    assert LedgerEntry.objects.filter(verification=verification, kind="refund").count() == 1
    assert balance(alice) == Decimal("5.00")
    assert ledger_mismatches() == []


def test_twenty_simultaneous_purchases_from_a_balance_for_three(shop, alice, run_together):
    fund(alice, "3.00")
    results = run_together(20, lambda i: services.purchase(user=alice, service=shop["telegram"], country=shop["us"],
                                                           capability="sms"))
    bought = [r for r in results if isinstance(r, tuple)]
    assert len(bought) == 3, results
    assert all(isinstance(r, InsufficientBalance) for r in results if not isinstance(r, tuple))
    assert balance(alice) == Decimal("0.00")
    assert LedgerEntry.objects.filter(account__user=alice, kind="charge").count() == 3
    assert ledger_mismatches() == []


def test_one_idempotency_key_sent_twenty_times_buys_once(shop, alice, run_together):
    fund(alice, "5.00")
    results = run_together(20, lambda i: services.purchase(user=alice, service=shop["telegram"], country=shop["us"],
                                                           capability="sms", idempotency_key="same-click"))
    assert Verification.objects.filter(user=alice).count() == 1
    assert balance(alice) == Decimal("4.00")
    created = [r for r in results if isinstance(r, tuple) and r[1]]
    assert len(created) == 1
    assert all(isinstance(r, (tuple, IdempotencyInProgress)) for r in results), results


def test_expiry_command_racing_a_cancel_refunds_once(shop, alice, run_together):
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["test_pending"], country=shop["us"], capability="sms")
    rewrite(verification, expires_at=timezone.now() - timedelta(seconds=1))

    def work(i):
        if i % 2:
            return services.expire_due()
        return services.cancel(verification=Verification.objects.get(pk=verification.pk))

    run_together(10, work)
    verification.refresh_from_db()
    assert verification.status in ("expired", "cancelled")
    assert LedgerEntry.objects.filter(verification=verification, kind="refund").count() == 1
    assert balance(alice) == Decimal("5.00")
    assert ledger_mismatches() == []
