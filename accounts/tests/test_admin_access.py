"""The back-office is for staff: customers and strangers get the admin login page, never the data."""
import pytest
from django.urls import reverse

PAGES = [
    ("admin:index", None),
    ("admin:accounts_user_changelist", None),
    ("admin:accounts_user_add", None),
    ("admin:accounts_user_change", "alice"),
    ("admin:accounts_user_balance", "alice"),
    ("admin:auth_user_password_change", "alice"),
    ("admin:accounts_account_changelist", None),
    ("admin:accounts_account_change", "alice.account"),
    ("admin:accounts_ledgerentry_changelist", None),
    ("admin:verifications_pricingtier_changelist", None),
    ("admin:verifications_pricingsettings_changelist", None),
    ("admin:verifications_service_changelist", None),
    ("admin:verifications_country_changelist", None),
    ("admin:verifications_verification_changelist", None),
]


def url(name, arg, alice):
    args = {None: [], "alice": [alice.pk], "alice.account": [alice.account.pk]}[arg]
    return reverse(name, args=args)


@pytest.mark.parametrize("name, arg", PAGES)
def test_it_sends_a_customer_to_the_admin_login(alice_client, alice, name, arg):
    page = url(name, arg, alice)
    response = alice_client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login") + "?next=")


@pytest.mark.parametrize("name, arg", PAGES)
def test_it_sends_a_stranger_to_the_admin_login(client, alice, name, arg):
    response = client.get(url(name, arg, alice))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("name, arg", PAGES)
def test_it_shows_staff_every_page(staff_client, alice, name, arg):
    assert staff_client.get(url(name, arg, alice)).status_code == 200


def test_it_refuses_a_customer_posting_a_credit(alice_client, alice):
    response = alice_client.post(reverse("admin:accounts_user_balance", args=[alice.pk]),
                                 {"kind": "credit", "amount": "100", "memo": "free money"})
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    alice.account.refresh_from_db()
    assert alice.account.balance == 0
    assert not alice.account.entries.exists()
