"""`/account/webhooks`: an integrator's endpoints (the contract's §8.1)."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hooks import services
from hooks.models import EVENTS, Endpoint
from namaskah.schema import ERRORS


class EndpointOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    format = serializers.CharField()
    active = serializers.BooleanField(source="enabled")
    created_at = serializers.DateTimeField()


class NewEndpointOut(EndpointOut):
    secret = serializers.CharField(help_text="whsec_…: shown only here. Verify deliveries with it (standardwebhooks)")


class EventsField(serializers.ListField):
    """A list of event names; whatever is wrong with it is one message, as every field's error is."""

    child = serializers.CharField(allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except exceptions.ValidationError:
            raise exceptions.ValidationError(f"A list of event names, of {', '.join(EVENTS)}.") from None


class Disabled(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "endpoint_disabled"
    default_detail = "This endpoint was disabled after failing for 3 days: register it again."


class WebhooksApi(APIView):
    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000, trim_whitespace=False)
        events = EventsField(required=False, help_text=(
            f"Of {', '.join(EVENTS)}. Absent: every event the format carries (sms-activate: {EVENTS[0]} only)"))
        format = serializers.ChoiceField(choices=Endpoint.Format.values, default=Endpoint.Format.STANDARD)

    @extend_schema(responses={200: EndpointOut(many=True), **ERRORS}, summary="Your webhook endpoints (never their secrets)")
    def get(self, request):
        return Response(EndpointOut(Endpoint.objects.filter(owner=request.user), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: NewEndpointOut, **ERRORS},
                   summary="Register a webhook endpoint; its signing secret is shown once")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.create_endpoint(owner=request.user, **serializer.validated_data)
        except services.EndpointRefused as exc:
            raise exceptions.ValidationError(exc.fields) from None
        return Response(NewEndpointOut(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(request=None, responses={204: None, **ERRORS}, summary="Delete a webhook endpoint")
    def delete(self, request, pk: int):
        try:
            services.delete_endpoint(owner=request.user, endpoint_id=pk)
        except Endpoint.DoesNotExist:
            raise Http404 from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookTestApi(APIView):
    @extend_schema(request=None, responses={202: inline_serializer("WebhookTestQueued", {
        "webhook_id": serializers.CharField(), "type": serializers.CharField(), "status": serializers.CharField()}),
        **ERRORS}, summary="Send a signed webhook.test event to the endpoint")
    def post(self, request, pk: int):
        try:
            delivery = services.send_test(owner=request.user, endpoint_id=pk)
        except Endpoint.DoesNotExist:
            raise Http404 from None
        except services.EndpointDisabled:
            raise Disabled from None
        return Response({"webhook_id": delivery.webhook_id, "type": delivery.event_type, "status": delivery.status},
                        status=status.HTTP_202_ACCEPTED)
