"""Sign-up, sign-in and sign-out pages: they call accounts.services and share the API's rate limits."""
import pytest

from accounts.models import User

PASSWORD = "correct-horse-battery"  # the conftest's users' password
NEW_PASSWORD = "a-long-and-unusual-passphrase"
PAGES = ["/dashboard", "/history", "/transactions", "/api-keys", "/settings"]


def sign_up(client, email="carol@example.com", password=NEW_PASSWORD, again=None):
    return client.post("/register", {"email": email, "password": password, "password_again": again or password})


def log_in(client, email="alice@example.com", password=PASSWORD, **extra):
    return client.post("/login", {"email": email, "password": password, **extra})


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def test_it_shows_the_sign_up_and_log_in_forms(client, db):
    for url, heading in (("/register", "Create your account"), ("/login", "Log in")):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert heading in html and 'name="csrfmiddlewaretoken"' in html
        assert '<label for="id_email">Email</label>' in html and '<label for="id_password">' in html
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_it_registers_a_customer_and_signs_them_in(client, db):
    response = sign_up(client, email="Carol@Example.com")
    assert (response.status_code, response["Location"]) == (302, "/dashboard")
    user = User.objects.get(email="carol@example.com")
    assert user.account.balance == 0 and user.check_password(NEW_PASSWORD)
    assert signed_in_as(client) == str(user.pk)
    assert "Welcome! Your account is ready." in client.get("/dashboard").content.decode()


def test_it_refuses_a_weak_password_two_different_passwords_and_a_taken_email(client, alice):
    weak = sign_up(client, email="dave@example.com", password="123")
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    different = sign_up(client, email="dave@example.com", again="something-else-entirely")
    assert different.status_code == 400 and "The two passwords differ." in different.content.decode()
    taken = sign_up(client, email="ALICE@example.com")
    assert taken.status_code == 400 and "An account with this email already exists." in taken.content.decode()
    assert list(User.objects.values_list("email", flat=True)) == ["alice@example.com"]
    assert signed_in_as(client) is None


def test_it_logs_in_with_any_case_and_follows_only_a_local_next(client, alice):
    response = log_in(client, email="ALICE@Example.com", next="/history?status=pending")
    assert (response.status_code, response["Location"]) == (302, "/history?status=pending")
    assert signed_in_as(client) == str(alice.pk)

    client.post("/logout")
    response = log_in(client, next="https://evil.example/steal")
    assert (response.status_code, response["Location"]) == (302, "/dashboard")


def test_the_login_form_keeps_the_next_page(client, db):
    response = client.get("/history")
    assert response["Location"] == "/login?next=/history"
    assert 'name="next" value="/history"' in client.get(response["Location"]).content.decode()


def test_it_refuses_a_wrong_password_and_an_inactive_user(client, alice, make_user):
    wrong = log_in(client, password="not-the-password")
    assert wrong.status_code == 400 and "Wrong email or password." in wrong.content.decode()
    make_user("gone@example.com", is_active=False)
    inactive = log_in(client, email="gone@example.com")
    assert inactive.status_code == 400 and "Wrong email or password." in inactive.content.decode()
    assert signed_in_as(client) is None


def test_login_is_rate_limited_per_email(client, alice, bob, settings):
    settings.RATE_LOGIN_EMAIL = "3/h"
    for _ in range(3):
        assert log_in(client, password="guess").status_code == 400
    limited = log_in(client)  # even the right password: the email is locked for now
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert "Too many sign-in attempts; try again in" in limited.content.decode()
    assert signed_in_as(client) is None
    assert log_in(client, email="bob@example.com").status_code == 302  # other accounts are not locked out


def test_login_is_rate_limited_per_ip(client, alice, settings):
    settings.RATE_LOGIN_IP = "2/h"
    assert log_in(client, email="x@example.com", password="guess").status_code == 400
    assert log_in(client, email="y@example.com", password="guess").status_code == 400
    assert log_in(client).status_code == 429
    assert signed_in_as(client) is None


def test_the_page_and_the_api_share_the_login_limit(client, alice, settings):
    settings.RATE_LOGIN_EMAIL = "2/h"
    assert log_in(client, password="guess").status_code == 400
    assert client.post("/auth/token", {"email": "alice@example.com", "password": "guess"},
                       content_type="application/json").status_code == 401
    assert log_in(client).status_code == 429


def test_sign_up_is_rate_limited_per_ip(client, db, settings):
    settings.RATE_REGISTER_IP = "1/h"
    assert sign_up(client).status_code == 302
    client.post("/logout")
    limited = sign_up(client, email="erin@example.com")
    assert limited.status_code == 429 and "Too many sign-ups" in limited.content.decode()
    assert not User.objects.filter(email="erin@example.com").exists()


def test_logout_is_a_post_and_a_get_changes_nothing(client, alice):
    client.force_login(alice)
    assert client.get("/logout").status_code == 405
    assert signed_in_as(client) == str(alice.pk)
    response = client.post("/logout")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in_as(client) is None
    assert "You are signed out." in client.get("/").content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_the_customer_pages_need_a_login(client, db, url):
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, f"/login?next={url}")


def test_a_signed_in_customer_skips_the_forms(client, alice):
    client.force_login(alice)
    assert client.get("/login")["Location"] == "/dashboard"
    assert client.get("/register")["Location"] == "/dashboard"


def test_the_session_cookie_is_http_only(client, alice):
    log_in(client)
    assert client.cookies["sessionid"]["httponly"] is True
