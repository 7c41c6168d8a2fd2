"""OpenAPI pieces shared by every API module: the error envelope and the responses that use it."""
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer("Error", {"error": inline_serializer("ErrorBody", {
    "code": serializers.CharField(), "message": serializers.CharField(),
    "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    "retry_after": serializers.IntegerField(required=False),
    "missing": serializers.DecimalField(max_digits=12, decimal_places=2, required=False),
    "topup_url": serializers.URLField(required=False, help_text="402: where to add funds"),
})})

ERRORS = {
    400: OpenApiResponse(ERROR, description="Validation error (fields listed) or service not available"),
    401: OpenApiResponse(ERROR, description="Not authenticated"),
    402: OpenApiResponse(ERROR, description="Insufficient balance (`missing` says how much, `topup_url` where to add funds)"),
    404: OpenApiResponse(ERROR, description="Not found (also another user's object)"),
    409: OpenApiResponse(ERROR, description="Wrong state for this action"),
    422: OpenApiResponse(ERROR, description="Idempotency-Key reused with a different body"),
    429: OpenApiResponse(ERROR, description="Rate limited; see Retry-After"),
    503: OpenApiResponse(ERROR, description="Provider unavailable or circuit open; nothing charged; see Retry-After"),
}
