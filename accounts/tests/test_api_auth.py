"""Sign-up, JWTs signed with JWT_SECRET_KEY, refresh rotation with blacklisting, API keys, login limits."""
import hashlib

import jwt
import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from accounts.models import ApiKey, User

PASSWORD = "correct-horse-battery"


def register(client, email="carol@example.com", password="a-long-enough-passphrase"):
    return client.post("/auth/register", {"email": email, "password": password}, format="json")


def tokens(client, email="alice@example.com", password=PASSWORD):
    return client.post("/auth/token", {"email": email, "password": password}, format="json")


def test_it_registers_a_customer_with_an_empty_account(db):
    response = register(APIClient(), email="Carol@Example.com")
    assert response.status_code == 201
    user = User.objects.get(email="carol@example.com")
    assert response.json() == {"id": user.pk, "email": "carol@example.com"}
    assert user.account.balance == 0


def test_it_refuses_a_weak_password_and_a_taken_email(db, alice):
    weak = register(APIClient(), password="123")
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    taken = register(APIClient(), email="ALICE@example.com")
    assert taken.status_code == 400 and "email" in taken.json()["error"]["fields"]
    assert User.objects.count() == 1


def test_it_signs_tokens_with_the_jwt_key_not_the_secret_key(alice):
    access = tokens(APIClient()).json()["access"]
    claims = jwt.decode(access, django_settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])
    assert claims["user_id"] in (alice.pk, str(alice.pk))
    assert django_settings.SIMPLE_JWT["SIGNING_KEY"] == django_settings.JWT_SECRET_KEY != django_settings.SECRET_KEY
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(access, django_settings.SECRET_KEY, algorithms=["HS256"])
    # simplejwt dates the access token's expiry from the refresh token's clock and its issue time from
    # its own: on a loaded machine a second can tick over between the two.
    assert claims["exp"] - claims["iat"] in (15 * 60 - 1, 15 * 60)


def test_a_bearer_token_opens_the_api(alice):
    access = tokens(APIClient()).json()["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/account").json()["email"] == "alice@example.com"


def test_wrong_password_is_a_401(alice):
    response = tokens(APIClient(), password="nope")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_refresh_rotates_and_blacklists_the_old_token(alice):
    refresh = tokens(APIClient()).json()["refresh"]
    rotated = APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")
    assert rotated.status_code == 200 and {"access", "refresh"} <= set(rotated.json())
    assert rotated.json()["refresh"] != refresh
    replay = APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")
    assert replay.status_code == 401
    claims = jwt.decode(rotated.json()["refresh"], django_settings.JWT_SECRET_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600


def test_api_keys_are_shown_once_stored_hashed_and_revocable(alice):
    owner = APIClient()
    owner.force_authenticate(alice)
    created = owner.post("/auth/api-keys", {"name": "ci"}, format="json").json()
    key = created["key"]
    row = ApiKey.objects.get(pk=created["id"])
    assert row.hashed_key == hashlib.sha256(key.encode()).hexdigest() and key not in row.hashed_key
    assert "key" not in owner.get("/auth/api-keys").json()[0]

    integrator = APIClient()
    integrator.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert integrator.get("/account").json()["email"] == "alice@example.com"

    assert owner.delete(f"/auth/api-keys/{row.pk}").json()["active"] is False
    assert integrator.get("/account").status_code == 401


def test_a_forged_or_other_users_key_is_refused(alice, bob):
    owner = APIClient()
    owner.force_authenticate(alice)
    key = owner.post("/auth/api-keys", {"name": "ci"}, format="json").json()["key"]
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Api-Key {key[:-2]}xx")
    assert forged.get("/account").status_code == 401
    other = APIClient()
    other.force_authenticate(bob)
    assert other.delete(f"/auth/api-keys/{ApiKey.objects.get().pk}").status_code == 404
    assert ApiKey.objects.get().active


def test_login_is_limited_per_email_and_per_ip(alice, settings):
    settings.RATE_LOGIN_EMAIL = "3/m"
    client = APIClient()
    for _ in range(3):
        assert tokens(client, password="wrong").status_code == 401
    limited = tokens(client)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    settings.RATE_LOGIN_IP = "2/m"
    other = APIClient(REMOTE_ADDR="10.0.0.9")
    tokens(other, email="x@example.com")
    tokens(other, email="y@example.com")
    assert tokens(other, email="z@example.com").status_code == 429


def test_a_spoofed_forwarded_for_does_not_dodge_the_ip_limit(db, settings):
    settings.RATE_REGISTER_IP = "2/m"
    settings.TRUSTED_PROXY_COUNT = 0
    client = APIClient()
    statuses = [client.post("/auth/register", {"email": f"u{i}@example.com", "password": "a-long-enough-passphrase"},
                            format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(3)]
    assert statuses == [201, 201, 429]


def test_behind_a_trusted_proxy_the_client_address_comes_from_it(db, settings):
    settings.RATE_REGISTER_IP = "1/m"
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient()

    def post(i, xff):
        return client.post("/auth/register", {"email": f"p{i}@example.com", "password": "a-long-enough-passphrase"},
                           format="json", HTTP_X_FORWARDED_FOR=xff).status_code

    # The proxy appends the real client; whatever the client put in front is ignored.
    assert post(1, "1.1.1.1, 198.51.100.7") == 201
    assert post(2, "2.2.2.2, 198.51.100.7") == 429
    assert post(3, "198.51.100.8") == 201


def test_a_key_whose_secret_contains_underscores_still_works(alice):
    from accounts import credentials

    secret = "abc_def_ghi-" + "x" * 30
    full = f"nmk_deadbeef_{secret}"
    ApiKey.objects.create(user=alice, name="u", prefix="deadbeef", hashed_key=hashlib.sha256(full.encode()).hexdigest())
    assert credentials.user_for_api_key(full) == alice
    assert credentials.user_for_api_key(full + "x") is None


def test_registration_is_limited_per_email(db, settings):
    settings.RATE_REGISTER_EMAIL = "2/h"
    statuses = [APIClient(REMOTE_ADDR=f"198.51.100.{i}").post(
        "/auth/register", {"email": "dup@example.com", "password": "short" if i < 2 else "a-long-enough-passphrase"},
        format="json").status_code for i in range(3)]
    assert statuses == [400, 400, 429]


def test_a_key_lookup_is_cached_but_revocation_is_immediate(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = APIClient()
    owner.force_authenticate(alice)
    created = owner.post("/auth/api-keys", {"name": "poller"}, format="json").json()
    integrator = APIClient()
    integrator.credentials(HTTP_AUTHORIZATION=f"Api-Key {created['key']}")
    integrator.get("/account")
    with CaptureQueriesContext(connection) as queries:
        assert integrator.get("/account").status_code == 200
    assert not any("accounts_apikey" in q["sql"] for q in queries.captured_queries)
    owner.delete(f"/auth/api-keys/{created['id']}")
    assert integrator.get("/account").status_code == 401


def test_the_dashboard_and_the_api_share_the_sign_up_limit_per_email(db, settings, client):
    settings.RATE_REGISTER_EMAIL = "1/h"
    APIClient(REMOTE_ADDR="198.51.100.20").post("/auth/register", {"email": "twice@example.com", "password": "x"},
                                               format="json")
    page = client.post("/register", {"email": "twice@example.com", "password": "a-long-enough-passphrase",
                                     "password_again": "a-long-enough-passphrase"}, REMOTE_ADDR="198.51.100.21")
    assert page.status_code == 429
    assert not User.objects.filter(email="twice@example.com").exists()
