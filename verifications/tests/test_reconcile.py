"""`reconcile` settles pending verifications that drifted from the provider, refunding at most once."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import LedgerEntry
from providers.breaker import breaker_for
from providers.registry import get_provider
from verifications import services
from verifications.models import Verification
from verifications.tests.lifecycle import balance, fund, make_shop


@pytest.fixture
def shop(db, settings):
    settings.MOCK_SMS_DELAY = 600
    return make_shop()


def crashed_purchase(user, shop, *, minutes_ago: int) -> Verification:
    """Step 1 of a purchase (charge + pending row) whose process died before the number was stored."""
    with transaction.atomic():
        account = accounts.lock_account(user=user)
        verification = Verification.objects.create(
            user=user, service=shop["telegram"], country=shop["us"], capability="sms", provider="mock",
            price=Decimal("1.00"), created_at=timezone.now() - timedelta(minutes=minutes_ago))
        accounts.charge_locked(account=account, verification=verification, amount=Decimal("1.00"))
    return verification


def test_it_refunds_a_purchase_that_crashed_before_storing_the_number(shop, alice, capsys):
    fund(alice, "5.00")
    stuck = crashed_purchase(alice, shop, minutes_ago=10)
    fresh = crashed_purchase(alice, shop, minutes_ago=0)  # may still be in flight: left alone
    call_command("reconcile")
    call_command("reconcile")
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, fresh.status) == ("failed", "pending")
    assert LedgerEntry.objects.filter(verification=stuck, kind="refund").count() == 1
    assert balance(alice) == Decimal("4.00")
    out = capsys.readouterr().out
    assert "reconcile: 2 pending checked, 1 settled, 0 skipped" in out
    assert "reconcile: 1 pending checked, 0 settled, 0 skipped" in out  # the second run found nothing to do


def test_it_settles_a_rental_that_ended_upstream(shop, alice):
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["test_pending"], country=shop["us"], capability="sms")
    get_provider("mock").cancel(verification.provider_ref)  # drift: cancelled upstream, still pending here
    call_command("reconcile")
    verification.refresh_from_db()
    assert verification.status == "failed" and verification.refunded
    assert balance(alice) == Decimal("5.00")


def test_a_code_that_arrived_upstream_completes_instead_of_refunding(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["telegram"], country=shop["us"], capability="sms")
    call_command("reconcile")
    verification.refresh_from_db()
    assert verification.status == "completed" and not verification.refunded
    assert balance(alice) == Decimal("4.00")


def test_dry_run_changes_nothing(shop, alice, capsys):
    fund(alice, "5.00")
    stuck = crashed_purchase(alice, shop, minutes_ago=10)
    call_command("reconcile", "--dry-run")
    stuck.refresh_from_db()
    assert stuck.status == "pending" and balance(alice) == Decimal("4.00")
    assert "would settle" in capsys.readouterr().out


def test_it_exits_1_when_the_provider_cannot_be_asked(shop, alice):
    fund(alice, "5.00")
    services.purchase(user=alice, service=shop["test_pending"], country=shop["us"], capability="sms")
    breaker_for("mock").trip()
    with pytest.raises(CommandError) as failed:
        call_command("reconcile")
    assert failed.value.returncode == 1 and "provider unavailable" in str(failed.value)


def test_expire_verifications_refuses_a_bad_limit(db):
    with pytest.raises(CommandError) as failed:
        call_command("expire_verifications", "--limit", "0")
    assert failed.value.returncode == 1
