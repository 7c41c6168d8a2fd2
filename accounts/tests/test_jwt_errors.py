"""A refused JWT is explained in plain text, never as Python reprs of simplejwt's details."""
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_plain(error: dict, *, says: str) -> None:
    assert error["code"] == "not_authenticated"
    message = error["message"]
    assert says in message
    for leak in ("ErrorDetail", "string=", "{", "[", "token_class"):
        assert leak not in message, message


def test_it_explains_an_expired_access_token_in_plain_text(alice):
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        token = str(AccessToken.for_user(alice))
    response = bearer(token).get("/account")
    assert response.status_code == 401
    error = response.json()["error"]
    assert_plain(error, says="Token is expired")
    assert error["message"] == "Given token not valid for any token type: Token is expired"


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_it_explains_a_garbage_access_token_in_plain_text(db, token):
    response = bearer(token).get("/verify")
    assert response.status_code == 401
    assert_plain(response.json()["error"], says="Token is invalid")


def test_it_explains_a_bad_refresh_token_in_plain_text(alice):
    refresh = RefreshToken.for_user(alice)
    refresh.blacklist()
    for body in ({"refresh": "garbage"}, {"refresh": str(refresh)}):
        response = APIClient().post("/auth/token/refresh", body, format="json")
        assert response.status_code == 401
        assert_plain(response.json()["error"], says="Token is")
