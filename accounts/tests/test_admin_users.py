from decimal import Decimal

from django.urls import reverse

from accounts import services
from accounts.models import Account, User


def test_it_lists_users_with_their_balance_without_a_query_per_row(staff_client, make_user, django_assert_max_num_queries):
    for i in range(8):
        services.credit(user=make_user(f"user{i}@example.com"), amount=f"{i + 1}.25", memo="topup")
    with django_assert_max_num_queries(6):
        response = staff_client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "user7@example.com" in content and "$8.25" in content


def test_it_searches_users_by_email(staff_client, alice, bob):
    response = staff_client.get(reverse("admin:accounts_user_changelist"), {"q": "alice"})
    content = response.content.decode()
    assert "alice@example.com" in content and "bob@example.com" not in content


def test_it_creates_a_user_with_email_and_password_and_an_account(staff_client):
    response = staff_client.post(reverse("admin:accounts_user_add"), {
        "email": "Carol@Example.com", "usable_password": "true",
        "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    carol = User.objects.get(email="carol@example.com")
    assert carol.check_password("a-long-unusual-passphrase")
    assert Account.objects.get(user=carol).balance == Decimal("0.00")


def test_it_refuses_a_second_user_with_the_same_email_in_another_case(staff_client, alice):
    response = staff_client.post(reverse("admin:accounts_user_add"), {
        "email": "ALICE@example.com", "usable_password": "true",
        "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase",
    })
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_it_shows_the_balance_read_only_on_the_change_page(staff_client, alice):
    services.credit(user=alice, amount="7.00", memo="topup")
    page = reverse("admin:accounts_user_change", args=[alice.pk])
    content = staff_client.get(page).content.decode()
    assert "$7.00" in content
    assert 'name="balance"' not in content
    assert reverse("admin:accounts_user_balance", args=[alice.pk]) in content

    # A forged "balance" field in the change form is ignored.
    response = staff_client.post(page, {"email": "alice@example.com", "is_active": "on",
                                        "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00",
                                        "balance": "1000.00",
                                        # the read-only API keys inline's management form, as the page sends it
                                        "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("7.00")


def test_it_escapes_user_supplied_emails(staff_client, make_user):
    make_user("<script>alert(1)</script>@example.com")
    content = staff_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in content


def test_it_shows_accounts_read_only_with_their_ledger_inline(staff_client, alice, staff):
    services.credit(user=alice, amount="7.00", memo="bank transfer 42", created_by=staff)
    page = reverse("admin:accounts_account_change", args=[alice.account.pk])
    content = staff_client.get(page).content.decode()
    assert "bank transfer 42" in content and "staff@example.com" in content
    assert 'name="balance"' not in content and 'name="entries-0-amount"' not in content

    assert staff_client.post(page, {"balance": "1000.00"}).status_code == 403
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("7.00")
    assert staff_client.get(reverse("admin:accounts_account_add")).status_code == 403
    assert staff_client.get(reverse("admin:accounts_account_delete", args=[alice.account.pk])).status_code == 403


def test_it_lists_accounts_without_a_query_per_row(staff_client, make_user, django_assert_max_num_queries):
    for i in range(8):
        make_user(f"user{i}@example.com")
    with django_assert_max_num_queries(6):
        assert staff_client.get(reverse("admin:accounts_account_changelist")).status_code == 200
