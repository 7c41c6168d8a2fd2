"""Sign-up, tokens, API keys and the account: the integrators' side of accounts."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.models import Account, ApiKey, LedgerEntry
from accounts.money import money_str
from namaskah import ratelimit
from namaskah.pagination import Pagination
from namaskah.schema import ERRORS


def email_of(request) -> str:
    """The email a sign-in or sign-up names, for its rate limit. A body that is not an object names
    none: the serializer then refuses it with a 400."""
    return request.data.get("email", "") if isinstance(request.data, dict) else ""


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []  # sign-up needs no session, hence no CSRF token

    class RegisterInputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    @extend_schema(request=RegisterInputSerializer, responses={201: inline_serializer("Registered", {
        "id": serializers.IntegerField(), "email": serializers.EmailField()}), **ERRORS},
        summary="Create a customer account (then POST /auth/token)")
    def post(self, request):
        ratelimit.sign_up_attempt(request, email=email_of(request))
        serializer = self.RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.register(**serializer.validated_data)
        return Response({"id": user.pk, "email": user.email}, status=201)


TOKEN_ERRORS = {code: ERRORS[code] for code in (400, 401, 429)}


class TokenApi(TokenObtainPairView):
    """POST {email, password} → {access, refresh}; limited per client IP and per email."""

    authentication_classes = []

    @extend_schema(responses={200: TokenObtainPairSerializer, **TOKEN_ERRORS},
                   summary="A JWT pair for an email and password")
    def post(self, request, *args, **kwargs):
        ratelimit.sign_in_attempt(request, email=email_of(request))
        return super().post(request, *args, **kwargs)


class RotatingRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        return services.rotate_refresh_token(refresh=self.token_class(attrs["refresh"]))


class TokenRefreshApi(TokenRefreshView):
    """POST {refresh} → {access, refresh}: the refresh token rotates and the old one is blacklisted,
    atomically (concurrent refreshes of one token yield one new pair)."""

    authentication_classes = []
    serializer_class = RotatingRefreshSerializer

    @extend_schema(responses={200: RotatingRefreshSerializer, **TOKEN_ERRORS},
                   summary="Rotate a refresh token: a new pair, the old refresh token refused from now on")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class AccountApi(APIView):
    @extend_schema(responses={200: inline_serializer("Account", {
        "email": serializers.EmailField(), "balance": serializers.DecimalField(max_digits=12, decimal_places=2)}),
        **ERRORS}, summary="Your email and balance (USD)")
    def get(self, request):
        account = Account.objects.get(user=request.user)  # fresh: the balance may have just moved
        return Response({"email": request.user.email, "balance": money_str(account.balance)})


class LedgerEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    balance_after = serializers.DecimalField(max_digits=12, decimal_places=2)
    verification = serializers.UUIDField(source="verification_id", allow_null=True)
    memo = serializers.CharField()
    created_at = serializers.DateTimeField()


class TransactionsApi(APIView):
    pagination_class = Pagination  # drf-spectacular wraps the list in the paginated envelope

    @extend_schema(responses={200: LedgerEntryOut(many=True), **ERRORS}, summary="Your ledger, newest first")
    def get(self, request):
        rows = LedgerEntry.objects.filter(account__user=request.user).order_by("-created_at", "-id")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(LedgerEntryOut(page, many=True).data)


class ApiKeyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeysApi(APIView):
    class ApiKeyInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=64)

    @extend_schema(responses={200: ApiKeyOut(many=True), **ERRORS}, summary="Your API keys (never the keys themselves)")
    def get(self, request):
        return Response(ApiKeyOut(ApiKey.objects.filter(user=request.user), many=True).data)

    @extend_schema(request=ApiKeyInputSerializer, responses={201: inline_serializer("NewApiKey", {
        "id": serializers.IntegerField(), "name": serializers.CharField(), "prefix": serializers.CharField(),
        "key": serializers.CharField(help_text="Shown once: store it now")}), **ERRORS},
        summary="Create an API key; the key is shown once")
    def post(self, request):
        serializer = self.ApiKeyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row, key = services.create_api_key(user=request.user, name=serializer.validated_data["name"])
        return Response({"id": row.pk, "name": row.name, "prefix": row.prefix, "key": key}, status=201)


class ApiKeyDetailApi(APIView):
    @extend_schema(request=None, responses={200: ApiKeyOut, **ERRORS}, summary="Revoke an API key")
    def delete(self, request, pk: int):
        get_object_or_404(ApiKey, pk=pk, user=request.user)
        return Response(ApiKeyOut(services.revoke_api_key(user=request.user, key_id=pk)).data)
