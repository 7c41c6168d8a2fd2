"""Email change, confirmed from the new address (links read from the file backend's mail)."""
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.tests.mailbox import body, link_in
from accounts.tests.test_password_reset import PASSWORD, account_with, jwt_pair, refresh
from namaskah import env

NEW = "alice.new@example.com"
CONFIRM = "/settings/email/confirm/"


def ask_change(client, new_email=NEW, password=PASSWORD):
    return client.post("/settings/email", {"new_email": new_email, "password": password})


def email_of(user) -> str:
    user.refresh_from_db()
    return user.email


@pytest.fixture
def link(alice_client, alice, mailbox) -> str:
    assert ask_change(alice_client).status_code == 302
    return link_in(mailbox.only_one_to(NEW), CONFIRM)


def test_it_mails_a_link_to_the_new_address_and_a_notice_to_the_old_one(alice_client, alice, mailbox):
    response = ask_change(alice_client, new_email="Alice.New@Example.com")
    assert (response.status_code, response["Location"]) == (302, "/settings")
    page = alice_client.get("/settings").content.decode()
    assert f"We sent a confirmation link to {NEW}" in page and "until then it stays alice@example.com" in page

    confirm = mailbox.only_one_to(NEW)
    assert confirm["Subject"] == "Confirm your new Namaskah email"
    assert "expires in 24 hours" in body(confirm)
    link_in(confirm, CONFIRM)
    notice = mailbox.only_one_to("alice@example.com")
    assert notice["Subject"] == "A change of your Namaskah email was requested"
    assert NEW in body(notice) and "http://testserver/settings" in body(notice)
    assert CONFIRM not in body(notice)  # the old address cannot confirm for the new one
    assert email_of(alice) == "alice@example.com"  # nothing changes before the link is opened


def test_opening_the_link_signed_out_changes_the_email_and_ends_every_session_and_token(alice_client, alice, link):
    tokens = jwt_pair()
    phone = Client()  # not signed in: the mail app on another device
    page = phone.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice@example.com" in html and NEW in html and "Change my email" in html
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert email_of(alice) == "alice@example.com"  # a GET (a mail scanner following links) changes nothing

    done = phone.post(link)
    assert (done.status_code, done["Location"]) == (302, "/login")
    assert f"Your email is now {NEW}: log in with it." in phone.get("/login").content.decode()
    assert email_of(alice) == NEW
    assert alice_client.get("/settings").status_code == 302  # the session that asked is signed out too
    assert refresh(tokens["refresh"]).status_code == 401
    assert phone.post("/login", {"email": NEW, "password": PASSWORD}).status_code == 302
    assert Client().post("/login", {"email": "alice@example.com", "password": PASSWORD}).status_code == 400


def test_opening_it_signed_in_keeps_this_session_only(alice, link):
    here, tablet = Client(), Client()
    here.force_login(alice)
    tablet.force_login(alice)
    done = here.post(link)
    assert (done.status_code, done["Location"]) == (302, "/settings")
    assert f"Your email is now {NEW}." in here.get("/settings").content.decode()
    assert tablet.get("/settings").status_code == 302


def test_access_tokens_outlive_an_email_change_for_their_few_minutes_only(alice, link):
    tokens = jwt_pair()
    Client().post(link)
    # The access token names the user, not the address; the refresh token that would renew it ended.
    assert account_with(tokens["access"]).json()["email"] == NEW
    assert refresh(tokens["refresh"]).status_code == 401


def test_a_used_link_says_so(alice, link):
    assert Client().post(link).status_code == 302
    again = Client().get(link)
    assert again.status_code == 400 and f"This link was already used: your email is {NEW}." in again.content.decode()
    assert Client().post(link).status_code == 400
    assert email_of(alice) == NEW


def test_an_older_link_dies_when_the_email_changes(alice_client, alice, mailbox):
    ask_change(alice_client, new_email="first@example.com")
    ask_change(alice_client, new_email="second@example.com")
    first = link_in(mailbox.only_one_to("first@example.com"), CONFIRM)
    second = link_in(mailbox.only_one_to("second@example.com"), CONFIRM)
    assert Client().post(second).status_code == 302
    stale = Client().post(first)
    assert stale.status_code == 400 and "no longer valid: your email changed" in stale.content.decode()
    assert email_of(alice) == "second@example.com"


def test_an_expired_link_says_so_and_changes_nothing(alice, link):
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        page = Client().post(link)
    assert page.status_code == 400 and "This confirmation link has expired" in page.content.decode()
    assert email_of(alice) == "alice@example.com"


def test_a_tampered_link_says_so_and_changes_nothing(alice, link):
    token = link.removeprefix(CONFIRM)
    for forged in (token[:-2] + ("aa" if not token.endswith("aa") else "bb"), "nonsense", token.replace(":", "", 1)):
        page = Client().post(CONFIRM + forged)
        assert page.status_code == 400 and "This confirmation link is not valid" in page.content.decode(), forged
    assert email_of(alice) == "alice@example.com"


def test_an_address_registered_meanwhile_is_not_taken_over(alice, make_user, link):
    make_user("Alice.NEW@example.com")
    page = Client().post(link)
    assert page.status_code == 409
    assert f"{NEW} now belongs to another account: your email was not changed." in page.content.decode()
    assert email_of(alice) == "alice@example.com"


def test_signed_in_as_someone_else_the_link_is_refused(alice, bob, link):
    bobs = Client()
    bobs.force_login(bob)
    page = bobs.post(link)
    assert page.status_code == 403 and "This link is for another account" in page.content.decode()
    assert email_of(alice) == "alice@example.com" and email_of(bob) == "bob@example.com"


@pytest.mark.parametrize(("data", "field", "error"), [
    ({"new_email": NEW, "password": "wrong"}, "password", "Wrong password."),
    ({"new_email": "ALICE@example.com", "password": PASSWORD}, "new_email", "This is already your email address."),
    ({"new_email": "Bob@Example.com", "password": PASSWORD}, "new_email", "An account with this email already exists."),
    ({"new_email": "not-an-email", "password": PASSWORD}, "new_email", "Enter a valid email address."),
    ({"new_email": NEW, "password": ""}, "password", "This field is required."),
])
def test_it_refuses_a_bad_request_and_mails_nobody(alice_client, alice, bob, mailbox, data, field, error):
    response = alice_client.post("/settings/email", data)
    assert response.status_code == 400
    assert error in [str(e) for e in response.context["email_form"].errors[field]]
    assert error in response.content.decode().replace("&#x27;", "'")
    assert mailbox.messages() == []
    assert email_of(alice) == "alice@example.com"


def test_password_guesses_share_the_sign_in_limit(alice_client, alice, settings, mailbox):
    settings.RATE_LOGIN_EMAIL = "1/h"
    assert ask_change(alice_client, password="guess").status_code == 400
    limited = ask_change(alice_client)
    assert limited.status_code == 429 and "Too many password attempts" in limited.content.decode()
    assert mailbox.messages() == []


def test_the_same_address_in_another_case_is_refused_by_the_database_too(alice, bob):
    # What confirm_email_change leans on when a sign-up races it: the unique index on lower(email).
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(email="BOB@example.com")


def test_a_mail_server_that_is_down_is_a_clear_error_and_nothing_changes(alice_client, alice, settings):
    # Nothing listens on 127.0.0.1:9: the connection is refused at once, as a crashed mail relay would.
    for name, value in env.email_url("smtp://127.0.0.1:9").items():
        setattr(settings, name, value)
    response = ask_change(alice_client)
    assert response.status_code == 503
    assert "We could not send the email just now: nothing was changed." in response.content.decode()
    assert email_of(alice) == "alice@example.com"
