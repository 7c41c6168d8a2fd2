"""The staff refund action calls accounts.services.refund_verification: once, recorded with the staff member."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse

from accounts import services
from accounts.models import LedgerEntry
from verifications.tests.factories import make_verification

CHANGELIST = "admin:verifications_verification_changelist"


@pytest.fixture
def verification(alice, catalogue):
    services.credit(user=alice, amount="5.00", memo="topup")
    verification = make_verification(user=alice, catalogue=catalogue, price="1.30")
    with transaction.atomic():
        services.charge_locked(account=services.lock_account(user=alice), verification=verification,
                               amount=Decimal("1.30"))
    return verification


def refund(client, *verifications):
    return client.post(reverse(CHANGELIST), {"action": "refund_selected",
                                             "_selected_action": [str(v.pk) for v in verifications]}, follow=True)


def refunds():
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND)


def test_it_refunds_once_and_records_the_staff_member(staff_client, staff, alice, verification):
    response = refund(staff_client, verification)
    assert "Refunded 1 verification(s), $1.30 in total." in response.content.decode()
    entry = refunds().get()
    assert (entry.verification, entry.amount, entry.created_by, entry.memo) == (
        verification, Decimal("1.30"), staff, "refund by staff")
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("5.00")
    verification.refresh_from_db()
    assert verification.refunded

    response = refund(staff_client, verification)
    assert "1 verification(s) already refunded: nothing changed." in response.content.decode()
    assert refunds().count() == 1
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("5.00")
    assert services.ledger_mismatches() == []


def test_it_says_when_there_was_nothing_to_refund(staff_client, alice, catalogue, verification):
    never_charged = make_verification(user=alice, catalogue=catalogue)
    response = refund(staff_client, verification, never_charged)
    content = response.content.decode()
    assert "Refunded 1 verification(s)" in content
    assert "1 verification(s) were never charged: nothing to refund." in content
    assert refunds().count() == 1
    never_charged.refresh_from_db()
    assert not never_charged.refunded


def test_a_customer_cannot_refund(alice_client, alice, verification):
    response = alice_client.post(reverse(CHANGELIST), {"action": "refund_selected",
                                                       "_selected_action": [str(verification.pk)]})
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    assert not refunds().exists()
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("3.70")


def test_staff_without_the_money_permission_do_not_get_the_action(client, make_user, verification):
    clerk = make_user("clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_verification"))
    client.force_login(clerk)
    response = refund(client, verification)
    assert response.status_code == 200
    assert "refund_selected" not in response.content.decode()
    assert not refunds().exists()
