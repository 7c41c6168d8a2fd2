"""Password change from the account page: this session stays, every other session and JWT ends."""
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts.tests.test_password_reset import PASSWORD, account_with, jwt_pair, refresh

NEW_PASSWORD = "a-brand-new-unusual-passphrase"


def change(client, old=PASSWORD, new=NEW_PASSWORD, again=None):
    return client.post("/settings/password", {"old_password": old, "new_password1": new,
                                              "new_password2": again or new})


def signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def test_the_account_page_has_the_password_and_email_forms(alice_client):
    html = alice_client.get("/settings").content.decode()
    assert 'action="/settings/password"' in html and 'name="old_password"' in html
    assert 'action="/settings/email"' in html and 'name="new_email"' in html
    assert "autofocus" not in html


def test_it_changes_the_password_keeps_this_session_and_ends_the_others(alice):
    here, phone = Client(), Client()
    for client in (here, phone):
        assert client.post("/login", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    assert signed_in(here) and signed_in(phone)

    response = change(here)
    assert (response.status_code, response["Location"]) == (302, "/settings")
    assert "Your password is changed" in here.get("/settings").content.decode()

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert signed_in(here)
    assert not signed_in(phone)
    assert phone.post("/login", {"email": "alice@example.com", "password": PASSWORD}).status_code == 400
    assert phone.post("/login", {"email": "alice@example.com", "password": NEW_PASSWORD}).status_code == 302


def test_it_ends_the_jwt_refresh_tokens_and_the_access_tokens_issued_before(alice, alice_client):
    before = jwt_pair()
    rotated = refresh(jwt_pair()["refresh"]).json()  # a refresh token born from a rotation ends too
    assert account_with(before["access"]).status_code == 200

    assert change(alice_client).status_code == 302

    assert refresh(before["refresh"]).status_code == 401
    assert refresh(rotated["refresh"]).status_code == 401
    refused = account_with(before["access"])  # at once, not when its 15 minutes are up
    assert refused.status_code == 401
    assert account_with(rotated["access"]).status_code == 401
    assert not OutstandingToken.objects.filter(user=alice, blacklistedtoken__isnull=True).exists()

    after = jwt_pair(password=NEW_PASSWORD)
    assert account_with(after["access"]).status_code == 200
    assert refresh(after["refresh"]).status_code == 200


def test_api_keys_keep_working(alice, alice_client):
    _, key = services.create_api_key(user=alice, name="ci")
    assert change(alice_client).status_code == 302
    assert APIClient().get("/account", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200


def test_a_wrong_current_password_changes_nothing(alice, alice_client):
    phone = Client()
    phone.force_login(alice)
    tokens = jwt_pair()
    response = change(alice_client, old="not-my-password")
    assert response.status_code == 400
    assert "Your old password was entered incorrectly" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert signed_in(phone)
    assert not BlacklistedToken.objects.filter(token__user=alice).exists()
    assert refresh(tokens["refresh"]).status_code == 200


def test_it_refuses_a_weak_or_mistyped_new_password(alice, alice_client):
    weak = change(alice_client, new="123", again="123")
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    mistyped = change(alice_client, again="another-unusual-passphrase")
    assert mistyped.status_code == 400 and "didn’t match" in mistyped.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_guesses_of_the_current_password_share_the_sign_in_limit(alice, alice_client, settings):
    settings.RATE_LOGIN_EMAIL = "2/h"
    assert change(alice_client, old="guess-1").status_code == 400
    assert change(alice_client, old="guess-2").status_code == 400
    limited = change(alice_client)  # even the right password: the email is locked for now
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert "Too many password attempts; try again in" in limited.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_it_needs_a_signed_in_post(client, alice):
    assert client.post("/settings/password", {})["Location"] == "/login?next=/settings/password"
    client.force_login(alice)
    assert client.get("/settings/password").status_code == 405


def test_a_password_set_by_staff_ends_the_users_sessions_and_refresh_tokens(alice, staff_client):
    phone = Client()
    assert phone.post("/login", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    before = jwt_pair()

    response = staff_client.post(f"/admin/accounts/user/{alice.pk}/password/",
                                 {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302, response.content

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert not signed_in(phone)
    assert refresh(before["refresh"]).status_code == 401
    assert not OutstandingToken.objects.filter(user=alice, blacklistedtoken__isnull=True).exists()
    assert signed_in(staff_client)  # the staff member's own session is untouched
