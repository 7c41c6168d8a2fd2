"""The integrators' API for verifications and the catalogue. Views: validate → service → Response."""
from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import authentication
from accounts.money import money_str
from namaskah import cache as shared_cache
from namaskah import ratelimit
from namaskah.pagination import Pagination
from namaskah.schema import ERRORS
from verifications import polling, recordings, selectors, services, snapshot, transcripts
from verifications.models import Capability, Country, Service, Verification, VoiceCall


class VerificationOut(serializers.Serializer):
    id = serializers.UUIDField()
    activation_id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug")
    country = serializers.CharField(source="country.code")
    capability = serializers.CharField()
    phone_number = serializers.CharField()
    status = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class CatalogueChoice(serializers.SlugRelatedField):
    def to_internal_value(self, data):
        return super().to_internal_value(str(data).strip().upper() if self.slug_field == "code" else str(data).strip().lower())


def own_verification(request, pk) -> Verification:
    # Scoped to the caller: another user's verification is a 404, indistinguishable from none.
    return get_object_or_404(Verification.objects.select_related("service", "country"), pk=pk, user=request.user)



def money_result(verification: Verification) -> dict:
    refunded = services.refunded_amount(verification)
    verification.user.account.refresh_from_db()
    return {"id": str(verification.pk), "status": verification.status,
            "refunded": money_str(refunded) if refunded else None,
            "balance": money_str(verification.user.account.balance)}


SETTLE_OUT = inline_serializer("SettleResult", {
    "id": serializers.UUIDField(), "status": serializers.CharField(),
    "refunded": serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True),
    "balance": serializers.DecimalField(max_digits=12, decimal_places=2),
})


class CreateVerificationApi(APIView):
    class CreateInputSerializer(serializers.Serializer):
        service = CatalogueChoice(slug_field="slug", queryset=Service.objects.select_related("tier"))
        country = CatalogueChoice(slug_field="code", queryset=Country.objects.all())
        capability = serializers.ChoiceField(choices=Capability.choices)
        max_price = serializers.DecimalField(
            max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False,
            help_text="Optional cap, inclusive: a price above it answers 409 price_above_max and buys nothing")

    @extend_schema(
        request=CreateInputSerializer, responses={201: VerificationOut, 200: VerificationOut, **ERRORS},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, description=(
            "Optional. The same key and body within 24 h returns the first response and buys nothing; "
            "the same key with another body answers 422."))],
        summary="Buy a number for a service; the price is charged now and refunded if no code arrives",
    )
    def post(self, request):
        ratelimit.per_user(request, group="purchase", rate=settings.RATE_PURCHASE)
        data = self._validated(request)
        key = (request.headers.get("Idempotency-Key") or "").strip() or None
        verification, created = services.purchase(user=request.user, idempotency_key=key, **data)
        return Response(VerificationOut(verification).data, status=201 if created else 200)

    def _validated(self, request) -> dict:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key.strip()) <= 255:
            raise serializers.ValidationError({"Idempotency-Key": ["Must be 1 to 255 characters."]})
        return serializer.validated_data


class VerificationListApi(APIView):
    pagination_class = Pagination  # drf-spectacular wraps the list in the paginated envelope

    @extend_schema(responses={200: VerificationOut(many=True), **ERRORS}, parameters=[
        OpenApiParameter("status", str, enum=Verification.Status.values), OpenApiParameter("service", str)],
        summary="Your verifications, newest first")
    def get(self, request):
        rows = selectors.verifications_for(user=request.user, status=request.query_params.get("status"),
                                           service=request.query_params.get("service"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(VerificationOut(page, many=True).data)


class VerificationDetailApi(APIView):
    @extend_schema(responses={200: VerificationOut, **ERRORS}, summary="One verification (refreshed from the provider)")
    def get(self, request, pk):
        verification = services.refresh(verification=own_verification(request, pk))
        return Response(VerificationOut(verification).data)

    @extend_schema(responses={200: SETTLE_OUT, **ERRORS}, summary="Cancel a pending verification and refund it")
    def delete(self, request, pk):
        verification = services.cancel(verification=own_verification(request, pk))
        return Response(money_result(verification))


class EmptyCodeIsNull:
    """The database stores "no code" as ""; the API says null."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["code"] = data["code"] or None
        return data


class MessageOut(EmptyCodeIsNull, serializers.Serializer):
    id = serializers.IntegerField()
    sender = serializers.CharField()
    text = serializers.CharField()
    code = serializers.CharField(allow_null=True)
    received_at = serializers.DateTimeField()


class CallOut(serializers.Serializer):
    """A call, in the very shape of the polling read (snapshot.call_json)."""

    id = serializers.IntegerField()
    caller = serializers.CharField()
    received_at = serializers.DateTimeField()
    duration = serializers.IntegerField(allow_null=True)
    recording_url = serializers.CharField(allow_null=True, help_text=(
        "Our copy of the recording, for the verification's owner (GET, Range requests); null until we hold it"))
    recording_status = serializers.ChoiceField(choices=VoiceCall.Recording.values, help_text=(
        "pending: not fetched yet (tried again until expiry); available; unavailable; deleted after the retention"))
    transcription_status = serializers.ChoiceField(choices=VoiceCall.Transcription.values)
    transcription = serializers.CharField(help_text="Our offline transcription of the recording (empty until done)")
    code = serializers.CharField(allow_null=True, help_text="The code the transcription says (a guess when uncertain)")
    code_confidence = serializers.ChoiceField(choices=VoiceCall.Confidence.values, allow_null=True)
    transcribed_at = serializers.DateTimeField(allow_null=True)
    transcribe_again_left = serializers.IntegerField()

    def to_representation(self, instance):
        return snapshot.call_json(instance.verification_id,
                                  {name: getattr(instance, name) for name in snapshot.ITEM_FIELDS["calls"]})


POLL_PARAMETERS = [
    OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description=(
        "The ETag of the last answer (every answer carries one; a pending one also carries Retry-After, "
        "the seconds until asking again is worth it): 304 with no body while nothing changed")),
]
NOT_MODIFIED = {304: OpenApiResponse(description="Nothing changed since the ETag sent in If-None-Match")}


class PollApi(APIView):
    """The polled views: what they read of the cache — the answer, the caller's API key and user —
    is read in one round trip before DRF authenticates (namaskah.cache.ReadAhead); authentication,
    permissions and the rate limit then run as for every view."""

    def initial(self, request, *args, **kwargs):
        request.read_ahead = shared_cache.ReadAhead([polling.key(kwargs["pk"]), *authentication.cache_keys(request)])
        super().initial(request, *args, **kwargs)


class MessagesApi(PollApi):
    @extend_schema(responses={200: inline_serializer("Messages", {
        "status": serializers.CharField(), "code": serializers.CharField(allow_null=True),
        "expires_at": serializers.DateTimeField(allow_null=True), "messages": MessageOut(many=True)}),
        **NOT_MODIFIED, **ERRORS},
        parameters=[OpenApiParameter("refresh", bool, description="Check the provider now (at most once a second)"),
                    *POLL_PARAMETERS],
        summary="SMS received so far; the latest code")
    def get(self, request, pk):
        return polled(request, pk, kind="messages")


class VoiceApi(PollApi):
    @extend_schema(responses={200: inline_serializer("VoiceCalls", {
        "status": serializers.CharField(),
        "code": serializers.CharField(allow_null=True, help_text="The latest confident code of a call, or null"),
        "calls": CallOut(many=True)}), **NOT_MODIFIED, **ERRORS}, parameters=POLL_PARAMETERS,
        summary="Calls received by a voice verification: recording, transcription, code and its confidence")
    def get(self, request, pk):
        return polled(request, pk, kind="calls")


class RecordingApi(APIView):
    @extend_schema(responses={(200, "audio/*"): OpenApiResponse(description="The recording (mp3, wav, ogg or m4a)"),
                              (206, "audio/*"): OpenApiResponse(description="The byte range asked for with Range"),
                              **ERRORS},
                   parameters=[OpenApiParameter("Range", str, OpenApiParameter.HEADER,
                                                description="One byte range, e.g. bytes=0-1023 (players seek)")],
                   summary="A call's recording, for the verification's owner")
    def get(self, request, pk, call_id):
        call = recordings.stored(verification=own_verification(request, pk), call_id=call_id)
        if call is None:
            raise Http404  # another user's, unknown, or not (or no longer) ours to serve
        try:
            return recording_response(request, call)
        except FileNotFoundError:
            raise Http404 from None  # the storage lost it: as good as deleted


def recording_response(request, call: VoiceCall) -> HttpResponse:
    size = call.recording.size
    wanted = recordings.byte_range(request.headers.get("Range"), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        first, last = wanted or (0, size - 1)
        with call.recording.open("rb") as f:
            f.seek(first)
            body = f.read(last - first + 1)  # at most RECORDING_MAX_BYTES
        response = HttpResponse(body, status=206 if wanted else 200, content_type=call.recording_content_type)
        if wanted:
            response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    # The owner's only: no shared cache keeps it, and no browser cache outlives the session.
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="call-{call.pk}.{call.recording.name.rsplit(".", 1)[-1]}"'
    return response


class TranscribeAgainApi(APIView):
    @extend_schema(request=None, responses={202: CallOut, **ERRORS}, summary=(
        f"Transcribe a call once more (another model or decoding); at most {snapshot.MAX_TRANSCRIBE_AGAIN} per call"))
    def post(self, request, pk, call_id):
        try:
            call = transcripts.request_again(verification=own_verification(request, pk), call_id=call_id)
        except VoiceCall.DoesNotExist:
            raise Http404 from None
        return Response(CallOut(call).data, status=202)


def polled(request, pk, *, kind: str) -> HttpResponse:
    """The poll's answer as rendered bytes (usually from the cache), with its version as ETag."""
    ratelimit.per_user(request, group="poll", rate=settings.RATE_POLL)
    answer = services.poll_answer(user=request.user, pk=pk, kind=kind,
                                  force=request.query_params.get("refresh") in ("1", "true"),
                                  read_ahead=getattr(request, "read_ahead", None))
    if answer is None:
        raise Http404
    if etag_matches(request.headers.get("If-None-Match"), answer.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(answer.body, content_type="application/json")
    response["ETag"] = answer.etag
    # Each user's own answer: shared caches keep nothing, a browser revalidates every time.
    response["Cache-Control"] = "private, no-cache"
    if answer.status == Verification.Status.PENDING:
        response["Retry-After"] = str(max(1, math.ceil(settings.MESSAGE_REFRESH_INTERVAL)))
    return response


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): "*" or any listed tag, W/ or not."""
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


class ReportApi(APIView):
    @extend_schema(request=None, responses={200: SETTLE_OUT, **ERRORS},
                   summary="Report a number that did not work: reported upstream and refunded")
    def post(self, request, pk):
        verification = services.report(verification=own_verification(request, pk))
        return Response(money_result(verification))


class ServiceOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    tier = serializers.CharField(source="tier.name")
    capabilities = serializers.ListField(child=serializers.CharField())
    prices = inline_serializer("ServicePrices", {
        "sms": serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True),
        "voice": serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)})


class ServicesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ServiceOut(many=True), **ERRORS},
                   parameters=[OpenApiParameter("country", str, description=(
                       "ISO code: that country's prices, null where it cannot be bought there now"))],
                   summary="The catalogue: services with tier and prices")
    def get(self, request):
        raw = request.query_params.get("country")
        country = None
        if raw is not None:
            country = Country.objects.filter(code=raw.strip().upper(), enabled=True).first()
            if country is None:
                raise serializers.ValidationError({"country": ["Unknown or disabled country."]})
        return Response(selectors.service_catalogue(country=country))


class CountriesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("CountryOut", {
        "code": serializers.CharField(), "name": serializers.CharField(), "dialling_code": serializers.CharField(),
        "flag": serializers.CharField(), "provider": serializers.CharField(),
        "providers": serializers.ListField(child=serializers.CharField()), "available": serializers.BooleanField(),
        "simulated": serializers.BooleanField()}, many=True)},
        summary="Enabled countries with the providers serving them in order; `simulated` ones are served by the "
                "development mock, not real numbers")
    def get(self, request):
        return Response(selectors.country_catalogue())


class QuoteApi(APIView):
    permission_classes = [AllowAny]

    class QuoteInputSerializer(CreateVerificationApi.CreateInputSerializer):
        max_price = None  # a quote buys nothing, so there is nothing to cap

    @extend_schema(parameters=[OpenApiParameter("service", str, required=True),
                               OpenApiParameter("country", str, required=True),
                               OpenApiParameter("capability", str, required=True, enum=Capability.values)],
                   responses={200: inline_serializer("Quote", {
                       "service": serializers.CharField(), "country": serializers.CharField(),
                       "capability": serializers.CharField(), "currency": serializers.CharField(),
                       "price": serializers.DecimalField(max_digits=12, decimal_places=2)}), **ERRORS},
                   summary="The price a purchase would charge")
    def get(self, request):
        serializer = self.QuoteInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        amount = services.check_available(service=data["service"], country=data["country"],
                                          capability=data["capability"]).price
        return Response({"service": data["service"].slug, "country": data["country"].code,
                         "capability": data["capability"], "currency": "USD", "price": money_str(amount)})
