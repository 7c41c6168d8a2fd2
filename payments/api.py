"""The integrators' API for top-ups: open one (then send the customer to checkout_url), list them,
read one. Views: validate → service or query → Response."""
from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from namaskah import ratelimit
from namaskah.pagination import Pagination
from namaskah.schema import ERRORS
from payments import services
from payments.models import TopUp


class TopUpOut(serializers.Serializer):
    id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=TopUp.Status.choices)
    checkout_url = serializers.CharField(help_text="Stripe Checkout: send the customer here to pay")
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class TopUpsApi(APIView):
    class TopUpInputSerializer(serializers.Serializer):
        amount = serializers.CharField(max_length=20, help_text="USD, e.g. \"10\" or \"12.50\"")

        def validate_amount(self, value: str):
            try:
                return services.parse_topup_amount(value)
            except services.InvalidTopUpAmount as exc:
                raise serializers.ValidationError(str(exc)) from None

    pagination_class = Pagination  # drf-spectacular wraps the list in the paginated envelope

    @extend_schema(responses={200: TopUpOut(many=True), **ERRORS}, summary="Your top-ups, newest first")
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(TopUp.objects.filter(owner=request.user).order_by("-created_at"), request,
                                           view=self)
        return paginator.get_paginated_response(TopUpOut(page, many=True).data)

    @extend_schema(request=TopUpInputSerializer, responses={201: TopUpOut, **ERRORS},
                   summary="Top up your balance by card: opens a Stripe Checkout Session; credited when paid",
                   description="At most RATE_TOPUP per user (shared with the Add funds form): over it, 429 "
                               "rate_limited with Retry-After, and no session is opened.")
    def post(self, request):
        # Counted before validation, like a purchase; the Add funds form shares this counter.
        ratelimit.per_user(request, group="topup", rate=settings.RATE_TOPUP)
        serializer = self.TopUpInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        topup = services.create_topup(user=request.user, amount=serializer.validated_data["amount"],
                                      site_url=request.build_absolute_uri("/"))
        return Response(TopUpOut(topup).data, status=201)


class TopUpDetailApi(APIView):
    @extend_schema(responses={200: TopUpOut, **ERRORS}, summary="One of your top-ups (poll it until paid)")
    def get(self, request, pk):
        return Response(TopUpOut(get_object_or_404(TopUp, pk=pk, owner=request.user)).data)
