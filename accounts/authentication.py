"""The API's credentials: `Api-Key`, simplejwt's JWTs (the user read from the cache), and what a poll
reads of the cache for them ahead of authentication (`cache_keys`)."""
from __future__ import annotations

import threading
import time

from django.test.signals import setting_changed
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme, TokenRefreshSerializerExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import credentials

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key nmk_…` for integrators' long-lived keys."""

    def authenticate(self, request):
        header = get_authorization_header(request).decode("latin-1")
        scheme, _sep, raw = header.partition(" ")
        if scheme != KEYWORD:
            return None
        user = credentials.user_for_api_key(raw, read_ahead=getattr(request, "read_ahead", None))
        if user is None:
            raise AuthenticationFailed("Invalid or revoked API key.")
        return user, "api-key"

    def authenticate_header(self, request) -> str:
        return KEYWORD


class CachedJWTAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, with the user read through accounts.credentials.cached_user()
    instead of a query per request; the same checks as simplejwt's get_user() on what it returns
    (which includes the password hash that CHECK_REVOKE_TOKEN compares with the token's claim).

    A token's signature and claims are checked once per process (ValidatedTokens): what makes an
    access token valid — the signing key, its claims, its expiry — cannot change while it lives, and
    simplejwt keeps no blacklist of access tokens. Whatever can change (the user's deactivation, a
    new password) is checked on every request against the user read from the shared cache."""

    read_ahead = None

    def authenticate(self, request):
        self.read_ahead = getattr(request, "read_ahead", None)  # one instance per request (DRF)
        return super().authenticate(request)

    def get_validated_token(self, raw_token):
        token = VALIDATED.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)  # raises for an invalid or expired token
            VALIDATED.keep(raw_token, token)
        return token

    def get_user(self, validated_token):
        api_settings = jwt_settings.api_settings  # read late: simplejwt rebinds it when SIMPLE_JWT changes
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = credentials.cached_user(user_id=user_id, read_ahead=self.read_ahead)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and (
                validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class ValidatedTokens:
    """Access tokens whose signature and claims this process has checked, by their raw bytes, each
    until it expires (simplejwt's rule: expired once `exp` <= now - LEEWAY); then simplejwt checks it
    again and refuses it with its own message."""

    MAX = 10_000  # about 15 MB at most; a full memo starts again empty

    def __init__(self):
        self._tokens: dict[bytes, tuple[object, float]] = {}
        self._lock = threading.Lock()

    def get(self, raw: bytes):
        found = self._tokens.get(raw)
        if found is None:
            return None
        token, until = found
        if time.time() < until:
            return token
        with self._lock:
            self._tokens.pop(raw, None)
        return None

    def keep(self, raw: bytes, token) -> None:
        exp = token.get("exp")
        if not isinstance(exp, (int, float)):
            return
        leeway = token.get_token_backend().get_leeway().total_seconds()
        with self._lock:
            if len(self._tokens) >= self.MAX:
                self._tokens.clear()
            self._tokens[raw] = (token, exp + leeway)

    def user_id(self, raw: bytes):
        token = self.get(raw)
        return None if token is None else token.get(jwt_settings.api_settings.USER_ID_CLAIM)

    def forget(self) -> None:
        with self._lock:
            self._tokens.clear()


VALIDATED = ValidatedTokens()


def _forget_tokens_when_jwt_settings_change(*, setting, **kwargs):
    if setting in ("SIMPLE_JWT", "SECRET_KEY"):
        VALIDATED.forget()  # tests: another signing key or lifetime makes other tokens valid


setting_changed.connect(_forget_tokens_when_jwt_settings_change)


def cache_keys(request) -> list[str]:
    """The cache entries authentication will read for this request's Authorization header, when they
    are known before authenticating: an API key's row and its user, a checked JWT's user. Knowing
    them lets a poll read them with its answer in one round trip (namaskah.cache.ReadAhead); nothing
    is decided here."""
    parts = get_authorization_header(request).split()
    if len(parts) != 2:
        return []
    scheme, raw = parts
    if scheme == KEYWORD.encode():
        return credentials.api_key_cache_keys(raw.decode("latin-1"))
    if scheme.decode("latin-1") in jwt_settings.api_settings.AUTH_HEADER_TYPES:
        user_id = VALIDATED.user_id(raw)  # the bytes simplejwt's get_raw_token() returns
        return [credentials.user_cache_key(user_id)] if user_id is not None else []
    return []


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`: a key created at /auth/api-keys"}


class CachedJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CachedJWTAuthentication"


class RotatingRefreshSerializerScheme(TokenRefreshSerializerExtension):
    target_class = "accounts.api.RotatingRefreshSerializer"
