from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme, TokenRefreshSerializerExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import services

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key nmk_…` for integrators' long-lived keys."""

    def authenticate(self, request):
        header = get_authorization_header(request).decode("latin-1")
        scheme, _sep, raw = header.partition(" ")
        if scheme != KEYWORD:
            return None
        user = services.user_for_api_key(raw)
        if user is None:
            raise AuthenticationFailed("Invalid or revoked API key.")
        return user, "api-key"

    def authenticate_header(self, request) -> str:
        return KEYWORD


class CachedJWTAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, with the user read through accounts.services.cached_user()
    instead of a query per request; the same checks as simplejwt's get_user() on what it returns
    (which includes the password hash that CHECK_REVOKE_TOKEN compares with the token's claim)."""

    def get_user(self, validated_token):
        api_settings = jwt_settings.api_settings  # read late: simplejwt rebinds it when SIMPLE_JWT changes
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = services.cached_user(user_id=user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and (
                validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


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
