"""Real threads using email-change links at once: the conditional update lets exactly one win."""
import pytest
from django.db import connection
from django.test.utils import override_settings

from accounts import services
from accounts.models import User
from accounts.tests.test_concurrent_charges import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs concurrent writers: run with DATABASE_URL=postgresql://…"),
]
PASSWORD = "correct-horse-battery"


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_one_link_used_eight_times_at_once_changes_the_email_once(alice):
    token = services.request_email_change(user=alice, new_email="new@example.com", password=PASSWORD,
                                          site="http://testserver")
    results = race([lambda: services.confirm_email_change(token=token) for _ in range(8)])
    won = [r for r in results if isinstance(r, User)]
    lost = [r for r in results if isinstance(r, services.EmailChangeRefused)]
    assert (len(won), len(lost)) == (1, 7), results
    assert {r.code for r in lost} == {"used"}
    alice.refresh_from_db()
    assert (alice.email, alice.session_version) == ("new@example.com", 1)  # sessions ended once


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_two_links_of_one_account_used_at_once_change_it_once(alice):
    first, second = (services.request_email_change(user=alice, new_email=address, password=PASSWORD,
                                                   site="http://testserver")
                     for address in ("one@example.com", "two@example.com"))
    results = race([lambda: services.confirm_email_change(token=first),
                    lambda: services.confirm_email_change(token=second)])
    won = [r for r in results if isinstance(r, User)]
    assert len(won) == 1, results
    alice.refresh_from_db()
    assert alice.email == won[0].email
    refused = next(r for r in results if isinstance(r, services.EmailChangeRefused))
    assert refused.code == "superseded"


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_two_accounts_racing_for_one_address_get_it_once(alice, bob):
    tokens = [services.request_email_change(user=user, new_email="shared@example.com", password=PASSWORD,
                                            site="http://testserver") for user in (alice, bob)]
    results = race([lambda t=t: services.confirm_email_change(token=t) for t in tokens])
    won = [r for r in results if isinstance(r, User)]
    refused = [r for r in results if isinstance(r, services.EmailChangeRefused)]
    assert len(won) == 1 and [r.code for r in refused] == ["taken"], results
    assert User.objects.filter(email__iexact="shared@example.com").count() == 1
