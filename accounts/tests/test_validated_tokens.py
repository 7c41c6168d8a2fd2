"""A JWT's signature and claims are checked once per process (accounts.authentication.VALIDATED);
its expiry, the user's deactivation and a password change still refuse it at once."""
from datetime import timedelta

import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import authentication, credentials, services
from accounts.models import User


def bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_checked_token_is_remembered_until_it_expires_then_refused_as_simplejwt_does(alice):
    token = AccessToken.for_user(alice)
    api = bearer(token)
    assert api.get("/account").status_code == 200
    assert authentication.VALIDATED.get(str(token).encode()) is not None
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        refused = api.get("/account")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Given token not valid for any token type: Token is expired"
    assert authentication.VALIDATED.get(str(token).encode()) is None


def test_a_remembered_token_of_a_user_deactivated_in_another_process_is_refused_at_once(alice):
    api = bearer(AccessToken.for_user(alice))
    assert api.get("/account").status_code == 200
    # Another process deactivates: the database changes and the shared cache entry goes; nothing
    # this process remembers is touched.
    User.objects.filter(pk=alice.pk).update(is_active=False)
    cache.delete(credentials.user_cache_key(alice.pk))
    assert api.get("/account").status_code == 401


def test_a_remembered_token_is_refused_after_a_password_change(alice):
    api = bearer(AccessToken.for_user(alice))
    assert api.get("/account").status_code == 200
    alice.set_password("another-long-passphrase")
    alice.save()
    services.end_sessions_and_tokens(user=alice)
    refused = api.get("/account")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"


def test_a_forged_token_is_never_remembered(alice):
    token = str(AccessToken.for_user(alice))
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert bearer(forged).get("/account").status_code == 401
    assert authentication.VALIDATED.get(forged.encode()) is None
