from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from accounts import services
from accounts.models import LedgerEntry
from verifications.tests.factories import make_verification


@pytest.fixture
def entry(alice, staff):
    return services.credit(user=alice, amount="5.00", memo="bank transfer 42", created_by=staff)


def test_it_lists_entries_without_a_query_per_row(staff_client, make_user, catalogue, django_assert_max_num_queries):
    for i in range(6):
        user = make_user(f"user{i}@example.com")
        services.credit(user=user, amount="5.00", memo=f"topup {i}")
        verification = make_verification(user=user, catalogue=catalogue)
        with transaction.atomic():
            services.charge_locked(account=services.lock_account(user=user), verification=verification,
                                   amount=Decimal("1.00"))
    # 12 rows; session, user, 2 counts, the rows, 2 for the date hierarchy, 1 for the sidebar.
    with django_assert_max_num_queries(9):
        response = staff_client.get(reverse("admin:accounts_ledgerentry_changelist"))
    assert response.status_code == 200
    assert response.content.decode().count("user5@example.com") == 2


def test_it_filters_the_ledger_by_account(staff_client, entry, bob):
    services.credit(user=bob, amount="3.00", memo="bob's topup")
    response = staff_client.get(reverse("admin:accounts_ledgerentry_changelist"),
                                {"account__id__exact": entry.account_id})
    content = response.content.decode()
    assert "bank transfer 42" in content and "bob&#x27;s topup" not in content


def test_it_shows_an_entry_read_only(staff_client, entry):
    content = staff_client.get(reverse("admin:accounts_ledgerentry_change", args=[entry.pk])).content.decode()
    assert "bank transfer 42" in content
    assert 'name="amount"' not in content and 'name="memo"' not in content


def test_it_offers_no_way_to_add_change_or_delete_entries(staff_client, entry):
    assert staff_client.get(reverse("admin:accounts_ledgerentry_add")).status_code == 403
    response = staff_client.post(reverse("admin:accounts_ledgerentry_change", args=[entry.pk]),
                                 {"amount": "500.00", "memo": "edited"})
    assert response.status_code == 403
    assert staff_client.post(reverse("admin:accounts_ledgerentry_delete", args=[entry.pk]),
                             {"post": "yes"}).status_code == 403
    response = staff_client.post(reverse("admin:accounts_ledgerentry_changelist"),
                                 {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert LedgerEntry.objects.get() == entry
    assert (LedgerEntry.objects.get().amount, LedgerEntry.objects.get().memo) == (Decimal("5.00"), "bank transfer 42")
