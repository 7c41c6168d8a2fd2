"""Staff move money through one form that calls accounts.services.manual_entry: a reason, a
confirmation page, and STAFF_CREDIT_LIMIT per operation (above it only a superuser)."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts import services
from accounts.models import LedgerEntry


@pytest.fixture
def balance_page(alice):
    return reverse("admin:accounts_user_balance", args=[alice.pk])


@pytest.fixture
def clerk(make_user):
    """Staff allowed to move money, not a superuser: the limit applies."""
    clerk = make_user("clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="add_ledgerentry"),
                               Permission.objects.get(codename="view_user"))
    return clerk


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def review(client, page, kind="credit", amount="12.50", memo="bank transfer 42", **extra):
    return client.post(page, {"kind": kind, "amount": amount, "memo": memo, **extra})


def confirm(client, page, **data):
    """The form, then the confirmation page's Confirm button with the fields that page carries."""
    preview = review(client, page, **data)
    assert preview.status_code == 200 and "balance-confirmation" in preview.content.decode(), preview.content
    carried = {name: preview.context["form"].cleaned_data[name] for name in ("kind", "amount", "memo", "token")}
    return client.post(page, {**carried, "confirm": "yes"}, follow=True)


def ledger_balance(user) -> Decimal:
    user.account.refresh_from_db()
    return user.account.balance


def test_it_credits_after_a_confirmation_page_with_the_reason_and_the_staff_member(staff_client, staff, alice,
                                                                                   balance_page):
    services.credit(user=alice, amount="2.00", memo="seed")
    form = staff_client.get(balance_page).content.decode()
    assert "Credit or adjust the balance of alice@example.com" in form and "Reason" in form

    preview = review(staff_client, balance_page, amount="12.50")
    html = preview.content.decode()
    for shown in ("alice@example.com", "$2.00", "$12.50", "$14.50", "bank transfer 42", 'value="yes"', "Confirm"):
        assert shown in html, shown
    assert LedgerEntry.objects.count() == 1 and ledger_balance(alice) == Decimal("2.00")  # the preview wrote nothing

    response = confirm(staff_client, balance_page, amount="12.50")
    assert response.redirect_chain[-1][0] == reverse("admin:accounts_user_change", args=[alice.pk])
    assert "new balance $14.50" in response.content.decode()
    assert ledger_balance(alice) == Decimal("14.50")
    entry = LedgerEntry.objects.first()
    assert (entry.kind, entry.amount, entry.memo, entry.created_by) == (
        LedgerEntry.Kind.TOPUP, Decimal("12.50"), "bank transfer 42", staff)


def test_a_post_without_confirm_writes_nothing(staff_client, alice, balance_page):
    token = staff_client.get(balance_page).context["form"]["token"].value()
    for extra in ({}, {"confirm": "no"}, {"confirm": ""}, {"confirm": "yes", "edit": "yes"}):
        response = review(staff_client, balance_page, token=token, **extra)
        assert response.status_code == 200
    assert not LedgerEntry.objects.exists() and ledger_balance(alice) == Decimal("0.00")


def test_edit_goes_back_to_the_filled_in_form(staff_client, alice, balance_page):
    response = review(staff_client, balance_page, amount="3.00", edit="yes")
    assert response.templates[0].name == "admin/accounts/user/balance_form.html"
    assert response.context["form"]["amount"].value() == "3.00"
    assert not LedgerEntry.objects.exists()


def test_it_adjusts_a_balance_down(staff_client, staff, alice, balance_page):
    services.credit(user=alice, amount="10.00", memo="topup")
    preview = review(staff_client, balance_page, kind="adjust", amount="-2.50", memo="duplicate")
    assert "$7.50" in preview.content.decode()
    confirm(staff_client, balance_page, kind="adjust", amount="-2.50", memo="duplicate")
    assert ledger_balance(alice) == Decimal("7.50")
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
    for extra in ({}, {"confirm": "yes"}):  # refused before the confirmation page, and on a forged confirm
        response = staff_client.post(balance_page, {**data, **extra})
        assert response.status_code == 200
        assert error in response.content.decode()
        assert response.templates[0].name == "admin/accounts/user/balance_form.html"
    assert ledger_balance(alice) == Decimal("0.00")
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(("kind", "amount"), [("credit", "99.99"), ("credit", "100.00"), ("adjust", "-100.00")])
def test_staff_may_record_up_to_the_limit(clerk_client, clerk, alice, balance_page, kind, amount):
    services.credit(user=alice, amount="100.00", memo="seed")
    confirm(clerk_client, balance_page, kind=kind, amount=amount)
    entry = LedgerEntry.objects.first()
    assert (entry.amount, entry.created_by) == (Decimal(amount), clerk)


@pytest.mark.parametrize(("kind", "amount"), [("credit", "100.01"), ("credit", "1000000"), ("adjust", "-100.01")])
def test_staff_cannot_record_above_the_limit_even_by_forging_the_confirmation(clerk_client, alice, balance_page,
                                                                              kind, amount):
    services.credit(user=alice, amount="500.00", memo="seed")
    form = clerk_client.get(balance_page).content.decode()
    assert "At most <strong>$100.00</strong> per operation" in form
    for extra in ({}, {"confirm": "yes"}):
        response = review(clerk_client, balance_page, kind=kind, amount=amount, **extra)
        assert response.status_code == 200
        assert "above the per-operation limit of $100.00 (STAFF_CREDIT_LIMIT): only a superuser can record more." \
            in response.content.decode()
    assert LedgerEntry.objects.count() == 1 and ledger_balance(alice) == Decimal("500.00")


def test_the_limit_comes_from_the_setting(clerk_client, alice, balance_page, settings):
    settings.STAFF_CREDIT_LIMIT = Decimal("20.00")
    assert "above the per-operation limit of $20.00" in review(clerk_client, balance_page, amount="20.01").content.decode()
    confirm(clerk_client, balance_page, amount="20.00")
    assert ledger_balance(alice) == Decimal("20.00")


def test_a_superuser_may_go_above_the_limit(staff_client, staff, alice, balance_page):
    assert "per operation" not in staff_client.get(balance_page).content.decode()
    confirm(staff_client, balance_page, amount="1500.00", memo="wire 2026-11-30")
    assert ledger_balance(alice) == Decimal("1500.00")
    assert LedgerEntry.objects.get().created_by == staff


def test_it_escapes_the_memo_and_email(staff_client, make_user):
    mallory = make_user("<b>mallory</b>@example.com")
    page = reverse("admin:accounts_user_balance", args=[mallory.pk])
    preview = review(staff_client, page, amount="1", memo="<script>x</script>").content.decode()
    assert "<script>x</script>" not in preview and "&lt;script&gt;x&lt;/script&gt;" in preview
    content = confirm(staff_client, page, amount="1", memo="<script>x</script>").content.decode()
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
    viewer = make_user("viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(viewer)
    assert client.get(balance_page).status_code == 403
    assert review(client, balance_page, confirm="yes").status_code == 403
    assert not LedgerEntry.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="add_ledgerentry"))
    assert client.get(balance_page).status_code == 200


def test_it_answers_404_for_an_unknown_user(staff_client):
    assert staff_client.get(reverse("admin:accounts_user_balance", args=[999999])).status_code == 404


def test_it_records_a_double_submitted_confirmation_once(staff_client, alice, balance_page):
    token = staff_client.get(balance_page).context["form"]["token"].value()
    data = {"kind": "credit", "amount": "5.00", "memo": "bank transfer 42", "token": token, "confirm": "yes"}
    assert staff_client.post(balance_page, data).status_code == 302
    response = staff_client.post(balance_page, data, follow=True)
    assert "already submitted" in response.content.decode()
    assert ledger_balance(alice) == Decimal("5.00")
    assert LedgerEntry.objects.count() == 1


def test_a_refused_adjustment_can_be_corrected_and_sent_again(staff_client, alice, balance_page):
    token = staff_client.get(balance_page).context["form"]["token"].value()
    refused = review(staff_client, balance_page, kind="adjust", amount="-1", memo="x", token=token, confirm="yes")
    assert refused.status_code == 200 and "below zero" in refused.content.decode()
    accepted = review(staff_client, balance_page, kind="credit", amount="1", memo="x", token=token, confirm="yes")
    assert accepted.status_code == 302
    assert LedgerEntry.objects.count() == 1


def test_a_balance_that_fell_between_preview_and_confirm_is_refused_then(staff_client, alice, balance_page):
    services.credit(user=alice, amount="3.00", memo="seed")
    preview = review(staff_client, balance_page, kind="adjust", amount="-3.00", memo="chargeback")
    assert "$0.00" in preview.content.decode()
    services.adjust(user=alice, amount="-1.00", memo="meanwhile", created_by=None)
    carried = {name: preview.context["form"].cleaned_data[name] for name in ("kind", "amount", "memo", "token")}
    refused = staff_client.post(balance_page, {**carried, "confirm": "yes"})
    assert refused.status_code == 200 and "below zero ($1.00 missing)" in refused.content.decode()
    assert ledger_balance(alice) == Decimal("2.00")
