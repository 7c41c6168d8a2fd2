"""Every form refuses a POST without its CSRF token; the default test client skips the check, so
these tests use Client(enforce_csrf_checks=True)."""
import re

import pytest
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import ApiKey, User

PASSWORD = "correct-horse-battery"


@pytest.fixture
def strict():
    return Client(enforce_csrf_checks=True)


def form_token(client, url: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode()).group(1)


def test_login_and_sign_up_without_the_token_are_refused(strict, alice):
    assert strict.post("/login", {"email": "alice@example.com", "password": PASSWORD}).status_code == 403
    assert "_auth_user_id" not in strict.session
    assert strict.post("/register", {"email": "new@example.com", "password": "a-long-passphrase-1",
                                     "password_again": "a-long-passphrase-1"}).status_code == 403
    assert not User.objects.filter(email="new@example.com").exists()


def test_login_with_the_token_works(strict, alice):
    token = form_token(strict, "/login")
    response = strict.post("/login", {"email": "alice@example.com", "password": PASSWORD,
                                      "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and strict.session["_auth_user_id"] == str(alice.pk)


def test_signed_in_forms_without_the_token_are_refused(strict, alice):
    row, _ = services.create_api_key(user=alice, name="kept")
    strict.force_login(alice)
    assert strict.post("/api-keys/create", {"name": "sneaky"}).status_code == 403
    assert strict.post(f"/api-keys/{row.pk}/revoke").status_code == 403
    assert strict.post("/logout").status_code == 403
    row.refresh_from_db()
    assert row.revoked_at is None and ApiKey.objects.count() == 1
    assert strict.session["_auth_user_id"] == str(alice.pk)


def test_signed_in_forms_with_the_token_work(strict, alice):
    strict.force_login(alice)
    token = form_token(strict, "/api-keys")
    assert strict.post("/api-keys/create", {"name": "ok", "csrfmiddlewaretoken": token}).status_code == 303
    row = ApiKey.objects.get(user=alice)
    assert strict.post(f"/api-keys/{row.pk}/revoke", {"csrfmiddlewaretoken": token}).status_code == 302
    assert strict.post("/logout", {"csrfmiddlewaretoken": token}).status_code == 302


def test_the_account_forms_without_the_token_are_refused(strict, alice):
    # pytest-django's test environment sends mail to the locmem outbox.
    assert strict.post("/password-reset", {"email": "alice@example.com"}).status_code == 403
    assert mail.outbox == []
    token = services.request_email_change(user=alice, new_email="new@example.com", password=PASSWORD,
                                          site="http://testserver")
    mail.outbox.clear()
    assert strict.post(f"/settings/email/confirm/{token}").status_code == 403
    strict.force_login(alice)
    assert strict.post("/settings/password", {"old_password": PASSWORD, "new_password1": "a-long-passphrase-1",
                                              "new_password2": "a-long-passphrase-1"}).status_code == 403
    assert strict.post("/settings/email", {"new_email": "other@example.com", "password": PASSWORD}).status_code == 403
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and alice.email == "alice@example.com"
    assert mail.outbox == []
    assert strict.session["_auth_user_id"] == str(alice.pk)
