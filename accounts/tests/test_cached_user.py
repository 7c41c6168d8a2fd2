"""Authentication reads a cached user (accounts.credentials.cached_user): no user row per request, and
a deactivation, password change or deletion in admin drops it at once."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import credentials, services
from accounts.models import User

PASSWORD = "correct-horse-battery"


def bearer(user) -> APIClient:
    client = APIClient()
    access = client.post("/auth/token", {"email": user.email, "password": PASSWORD}, format="json").json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def keyed(user) -> APIClient:
    _, key = services.create_api_key(user=user, name="k")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_a_jwt_request_reads_no_user_row_once_cached(alice, django_assert_num_queries):
    api = bearer(alice)
    api.get("/auth/api-keys")
    # Only the view's own query: the user comes from the cache.
    with django_assert_num_queries(1):
        assert api.get("/auth/api-keys").status_code == 200


@pytest.mark.parametrize("credential", [bearer, keyed])
def test_deactivating_a_user_in_admin_refuses_their_credentials_at_once(alice, staff_client, credential):
    api = credential(alice)
    assert api.get("/account").status_code == 200  # the user is cached now
    data = {"email": alice.email, "is_active": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00",
            # the read-only API keys inline's management form, as the page sends it
            "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0"}
    response = staff_client.post(reverse("admin:accounts_user_change", args=[alice.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(pk=alice.pk).is_active is False
    assert api.get("/account").status_code == 401


def test_a_password_change_in_admin_kills_tokens_signed_with_the_old_hash(alice, staff_client, settings):
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "CHECK_REVOKE_TOKEN": True, "REVOKE_TOKEN_CLAIM": "hash_password"}
    # Minted here with the claim: simplejwt's token module may hold the settings it was imported with.
    token = AccessToken.for_user(alice)
    token["hash_password"] = get_md5_hash_password(alice.password)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/account").status_code == 200  # cached, with the hash the claim is compared with
    response = staff_client.post(reverse("admin:auth_user_password_change", args=[alice.pk]),
                                 {"password1": "another-long-passphrase", "password2": "another-long-passphrase",
                                  "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]

    refused = api.get("/account")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"
    alice.refresh_from_db()
    token = AccessToken.for_user(alice)
    token["hash_password"] = get_md5_hash_password(alice.password)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/account").status_code == 200  # a token signed with the new hash works


def test_forget_cached_user_drops_the_entry_and_the_next_read_is_fresh(alice):
    assert credentials.cached_user(user_id=alice.pk).is_active
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert credentials.cached_user(user_id=alice.pk).is_active  # cached: what a change without forget() leaves
    credentials.forget_cached_user(user_id=alice.pk)
    assert credentials.cached_user(user_id=alice.pk).is_active is False


def test_an_unknown_user_is_none_and_is_not_cached(db):
    assert credentials.cached_user(user_id=424242) is None
