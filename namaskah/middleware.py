"""Two rules of HTTP that Django leaves to the server, enforced inside Django for every server.

- A HEAD answer has no body (RFC 9110 9.3.2). Django's runserver drops it, gunicorn sends it — and a
  body after a HEAD answer desynchronises a kept-alive connection (the client reads it as the start
  of the next answer). The headers stay those of the GET, Content-Length included.
- No NUL character in a path, query parameter or form field: PostgreSQL cannot store or compare
  one, so a filter with "%00" became a 500. It is a 400 validation error (JSON bodies are checked by
  namaskah.api.JSONParser).
"""
from __future__ import annotations

from django.core.exceptions import BadRequest

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class HeadWithoutBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "HEAD":
            if response.streaming:
                response.streaming_content = []  # the original's file is closed with the response
            else:
                response.content = b""
        return response


class NulCharacter(BadRequest):
    """A request carried a NUL character; `field` names where."""

    def __init__(self, field: str):
        super().__init__(f"Null characters are not allowed in {field}.")
        self.field = field


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            raise NulCharacter("the path")
        _check(request.GET)
        if request.method == "POST" and request.content_type in FORM_TYPES:
            _check(request.POST)
        return self.get_response(request)


def _check(query) -> None:
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise NulCharacter(name.replace("\x00", ""))
