"""Real threads racing for one balance: the row lock and the constraints keep the money exact."""
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from accounts import services
from accounts.models import LedgerEntry
from verifications.tests.factories import make_catalogue, make_verification

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs row locks and concurrent writers: run with DATABASE_URL=postgresql://…"),
]


def race(workers):
    """Run every callable in its own thread, all released at once; return what each returned or raised."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def run(i, work):
        try:
            barrier.wait(timeout=10)
            results[i] = work()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()  # each thread has its own connection; give it back to the pool

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_it_lets_exactly_five_one_dollar_charges_through_a_five_dollar_balance(alice):
    catalogue = make_catalogue()
    services.credit(user=alice, amount="5.00", memo="topup")
    verifications = [make_verification(user=alice, catalogue=catalogue) for _ in range(20)]

    def charge(verification):
        def work():
            with transaction.atomic():
                account = services.lock_account(user=alice)
                return services.charge_locked(account=account, verification=verification, amount=Decimal("1.00"))
        return work

    results = race([charge(v) for v in verifications])

    charged = [r for r in results if isinstance(r, LedgerEntry)]
    refused = [r for r in results if isinstance(r, services.InsufficientBalance)]
    assert (len(charged), len(refused)) == (5, 15), results
    assert sorted(e.balance_after for e in charged) == [Decimal(n) for n in ("0.00", "1.00", "2.00", "3.00", "4.00")]
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("0.00")
    assert LedgerEntry.objects.filter(account=alice.account).aggregate(s=Sum("amount"))["s"] == Decimal("0.00")
    assert services.ledger_mismatches() == []


def test_it_refunds_once_when_two_workers_race_for_it(alice):
    catalogue = make_catalogue()
    services.credit(user=alice, amount="5.00", memo="topup")
    verification = make_verification(user=alice, catalogue=catalogue)
    with transaction.atomic():
        services.charge_locked(account=services.lock_account(user=alice), verification=verification,
                               amount=Decimal("1.00"))

    results = race([lambda: services.refund_verification(verification=verification)] * 4)

    assert sum(isinstance(r, LedgerEntry) for r in results) == 1, results
    assert sum(isinstance(r, services.AlreadyRefunded) for r in results) == 3, results
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("5.00")
    assert services.ledger_mismatches() == []
