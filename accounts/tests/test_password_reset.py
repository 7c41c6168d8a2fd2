"""Password reset by email, end to end: the link is read from the file backend's mail."""
import re

from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.mailbox import body, link_in
from namaskah import env

PASSWORD = "correct-horse-battery"  # the conftest's users' password
NEW_PASSWORD = "a-brand-new-unusual-passphrase"


def ask_reset(client, email="alice@example.com"):
    return client.post("/password-reset", {"email": email})


def jwt_pair(email="alice@example.com", password=PASSWORD) -> dict:
    response = APIClient().post("/auth/token", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post("/auth/token/refresh", {"refresh": token}, format="json")


def account_with(access: str):
    return APIClient().get("/account", HTTP_AUTHORIZATION=f"Bearer {access}")


def without_csrf_token(response) -> str:
    return re.sub(r'name="csrf-token" content="[^"]*"', "", response.content.decode())


def test_the_login_page_links_to_the_reset(client, db):
    html = client.get("/login").content.decode()
    assert '<a href="/password-reset">Forgot your password?</a>' in html
    page = client.get("/password-reset")
    assert page.status_code == 200 and "Reset your password" in page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_it_resets_the_password_from_the_mailed_link_and_ends_every_session_and_token(client, alice, mailbox):
    elsewhere = Client()
    elsewhere.force_login(alice)
    tokens = jwt_pair()

    response = ask_reset(client, email="ALICE@Example.com")
    assert (response.status_code, response["Location"]) == (302, "/password-reset/sent")
    assert "Check your email" in client.get("/password-reset/sent").content.decode()
    message = mailbox.only_one_to("alice@example.com")
    assert message["Subject"] == "Reset your Namaskah password"
    assert message["From"] == "Namaskah <noreply@localhost>"
    assert "expires in 72 hours" in body(message)

    link = link_in(message, "/password-reset/")
    form_page = client.get(link)  # Django moves the token into the session, off the URL
    assert form_page.status_code == 302 and form_page["Location"].endswith("/set-password")
    page = client.get(form_page["Location"])
    assert "Choose a new password" in page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]

    done = client.post(form_page["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert (done.status_code, done["Location"]) == (302, "/password-reset/done")
    assert "Your password is changed" in client.get("/password-reset/done").content.decode()

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)
    assert elsewhere.get("/settings")["Location"] == "/login?next=/settings"  # the other session ended
    assert refresh(tokens["refresh"]).status_code == 401
    assert account_with(tokens["access"]).status_code == 401
    assert client.post("/login", {"email": "alice@example.com", "password": NEW_PASSWORD}).status_code == 302

    used_again = Client().get(link)
    assert "This link does not work" in used_again.content.decode()


def test_it_shows_the_same_page_and_mails_nobody_for_an_unknown_or_inactive_address(client, alice, make_user,
                                                                                      mailbox):
    make_user("gone@example.com", is_active=False)
    known = ask_reset(client, email="alice@example.com")
    pages = {}
    for email in ("nobody@example.com", "gone@example.com"):
        other = Client()
        answer = ask_reset(other, email=email)
        assert (answer.status_code, answer["Location"]) == (known.status_code, known["Location"])
        pages[email] = without_csrf_token(other.get(answer["Location"]))
    assert pages["nobody@example.com"] == pages["gone@example.com"] == without_csrf_token(client.get(known["Location"]))
    assert [m["To"] for m in mailbox.messages()] == ["alice@example.com"]


def test_a_malformed_address_is_a_form_error_and_mails_nobody(client, alice, mailbox):
    response = ask_reset(client, email="not-an-email")
    assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert mailbox.messages() == []


def test_it_is_rate_limited_per_email_whether_or_not_it_exists(client, alice, bob, settings, mailbox):
    settings.RATE_RESET_EMAIL = "2/h"
    for email in ("alice@example.com", "nobody@example.com"):
        assert ask_reset(client, email=email).status_code == 302
        assert ask_reset(client, email=email).status_code == 302
        limited = ask_reset(client, email=email)
        assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
        assert "Too many password reset requests; try again in" in limited.content.decode()
    assert len(mailbox.to("alice@example.com")) == 2  # not a third
    assert ask_reset(client, email="bob@example.com").status_code == 302  # other addresses are not locked


def test_it_is_rate_limited_per_client_address(client, alice, settings, mailbox):
    settings.RATE_RESET_IP = "2/h"
    assert ask_reset(client, email="x@example.com").status_code == 302
    assert ask_reset(client, email="y@example.com").status_code == 302
    assert ask_reset(client, email="alice@example.com").status_code == 429
    assert mailbox.messages() == []


def test_a_tampered_link_does_not_work_and_changes_nothing(client, alice, mailbox):
    ask_reset(client)
    link = link_in(mailbox.only_one_to("alice@example.com"), "/password-reset/")
    page = client.get(link[:-3] + "xyz")
    assert page.status_code == 200 and "This link does not work" in page.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_mail_server_that_is_down_shows_the_same_page(client, alice, settings, caplog):
    # Django's form logs the failure and answers as usual: the page must not tell who has an account.
    for name, value in env.email_url("smtp://127.0.0.1:9").items():
        setattr(settings, name, value)
    response = ask_reset(client)
    assert (response.status_code, response["Location"]) == (302, "/password-reset/sent")
    assert "Failed to send password reset email" in caplog.text
