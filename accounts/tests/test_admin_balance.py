"""Staff move money through one form that calls accounts.services.credit / adjust."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts import services
from accounts.models import LedgerEntry


@pytest.fixture
def balance_page(alice):
    return reverse("admin:accounts_user_balance", args=[alice.pk])


def test_it_credits_a_balance_with_a_memo_and_the_staff_member(staff_client, staff, alice, balance_page):
    assert "Credit or adjust the balance of alice@example.com" in staff_client.get(balance_page).content.decode()
    response = staff_client.post(balance_page, {"kind": "credit", "amount": "12.50", "memo": "bank transfer 42"},
                                 follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:accounts_user_change", args=[alice.pk])
    assert "new balance $12.50" in response.content.decode()
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("12.50")
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.memo, entry.created_by) == (
        LedgerEntry.Kind.TOPUP, Decimal("12.50"), "bank transfer 42", staff)


def test_it_adjusts_a_balance_down(staff_client, staff, alice, balance_page):
    services.credit(user=alice, amount="10.00", memo="topup")
    response = staff_client.post(balance_page, {"kind": "adjust", "amount": "-2.50", "memo": "duplicate"})
    assert response.status_code == 302
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("7.50")
    entry = LedgerEntry.objects.first()
    assert (entry.kind, entry.amount, entry.created_by) == (LedgerEntry.Kind.ADJUSTMENT, Decimal("-2.50"), staff)


@pytest.mark.parametrize("data, error", [
    ({"kind": "credit", "amount": "-5", "memo": "x"}, "must be positive"),
    ({"kind": "credit", "amount": "0", "memo": "x"}, "must not be zero"),
    ({"kind": "credit", "amount": "1.005", "memo": "x"}, "at most 2 decimal places"),
    ({"kind": "adjust", "amount": "abc", "memo": "x"}, "is not an amount"),
    ({"kind": "credit", "amount": "5", "memo": ""}, "This field is required"),
    ({"kind": "adjust", "amount": "-1.00", "memo": "x"}, "below zero ($1.00 missing)"),
])
def test_it_refuses_a_bad_entry_and_changes_nothing(staff_client, alice, balance_page, data, error):
    response = staff_client.post(balance_page, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("0.00")
    assert not LedgerEntry.objects.exists()


def test_it_escapes_the_memo_and_email(staff_client, make_user):
    mallory = make_user("<b>mallory</b>@example.com")
    page = reverse("admin:accounts_user_balance", args=[mallory.pk])
    response = staff_client.post(page, {"kind": "credit", "amount": "1", "memo": "<script>x</script>"}, follow=True)
    content = response.content.decode()
    assert "<b>mallory</b>" not in content and "&lt;b&gt;mallory&lt;/b&gt;@example.com" in content
    assert LedgerEntry.objects.get().memo == "<script>x</script>"


def test_the_users_action_opens_the_form_for_one_user(staff_client, alice, bob, balance_page):
    changelist = reverse("admin:accounts_user_changelist")
    response = staff_client.post(changelist, {"action": "credit_or_adjust", "_selected_action": [alice.pk]})
    assert response.status_code == 302 and response.url == balance_page

    response = staff_client.post(changelist, {"action": "credit_or_adjust", "_selected_action": [alice.pk, bob.pk]},
                                 follow=True)
    assert "Select exactly one user" in response.content.decode()


def test_it_refuses_staff_without_the_money_permission(client, make_user, alice, balance_page):
    clerk = make_user("clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(clerk)
    assert client.get(balance_page).status_code == 403
    assert client.post(balance_page, {"kind": "credit", "amount": "5", "memo": "x"}).status_code == 403
    assert not LedgerEntry.objects.exists()

    clerk.user_permissions.add(Permission.objects.get(codename="add_ledgerentry"))
    assert client.get(balance_page).status_code == 200


def test_it_answers_404_for_an_unknown_user(staff_client):
    assert staff_client.get(reverse("admin:accounts_user_balance", args=[999999])).status_code == 404


def test_it_records_a_double_submitted_form_once(staff_client, alice, balance_page):
    token = staff_client.get(balance_page).context["form"]["token"].value()
    data = {"kind": "credit", "amount": "5.00", "memo": "bank transfer 42", "token": token}
    assert staff_client.post(balance_page, data).status_code == 302
    response = staff_client.post(balance_page, data, follow=True)
    assert "already submitted" in response.content.decode()
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("5.00")
    assert LedgerEntry.objects.count() == 1


def test_a_refused_adjustment_can_be_corrected_and_sent_again(staff_client, alice, balance_page):
    token = staff_client.get(balance_page).context["form"]["token"].value()
    refused = staff_client.post(balance_page, {"kind": "adjust", "amount": "-1", "memo": "x", "token": token})
    assert refused.status_code == 200
    accepted = staff_client.post(balance_page, {"kind": "credit", "amount": "1", "memo": "x", "token": token})
    assert accepted.status_code == 302
    assert LedgerEntry.objects.count() == 1
