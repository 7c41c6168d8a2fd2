"""Django's handler400/404/500 (named in namaskah/urls.py): the API's error shape on API paths (the
first segment of every API route, /system/ and /webhooks/), Django's own pages elsewhere."""
from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults

from namaskah.api import NUL_MESSAGE
from namaskah.middleware import NulCharacter
from namaskah.urls import JSON_PREFIXES


def is_api_path(path: str) -> bool:
    return path.lstrip("/").split("/", 1)[0] in JSON_PREFIXES


def handler400(request, exception):
    if not is_api_path(request.path):
        return defaults.bad_request(request, exception)
    if isinstance(exception, NulCharacter):
        return JsonResponse({"error": {"code": "invalid", "message": "The request is not valid.",
                                       "fields": {exception.field: [NUL_MESSAGE]}}}, status=400)
    return JsonResponse({"error": {"code": "bad_request", "message": "The request is malformed."}}, status=400)


def handler404(request, exception):
    if not is_api_path(request.path):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)


def handler500(request):
    if not is_api_path(request.path):
        return defaults.server_error(request)
    return JsonResponse({"error": {"code": "server_error", "message": "Something went wrong on our side; "
                                   "it was logged. Try again later."}}, status=500)
