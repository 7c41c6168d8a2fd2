"""One log line and one metrics sample per request, tagged with a request id."""
from __future__ import annotations

import logging
import re
import time
import uuid

from django.db import connection
from django.utils.functional import empty

from monitoring import metrics

log = logging.getLogger("namaskah.request")
# Accept a caller's id only when it looks like one: it ends up in our logs.
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if SAFE_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        counter = QueryCounter()
        try:
            with connection.execute_wrapper(counter):
                response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request.request_id
            return response
        finally:
            seconds = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            # Label by route name, never by raw path: ids in paths would explode the metric's cardinality.
            endpoint = (match.url_name or match.route) if match else "unmatched"
            metrics.observe_request(endpoint=endpoint, method=request.method, status=status, seconds=seconds,
                                    queries=counter.count)
            user_id = _user_id(request)
            # Path without the query string: query strings can carry tokens.
            log.info("%s %s %s %.1fms request_id=%s user_id=%s", request.method, request.path, status,
                     seconds * 1000, request.request_id, user_id,
                     extra={"request_id": request.request_id, "user_id": user_id, "method": request.method,
                            "path": request.path, "status": status, "duration_ms": round(seconds * 1000, 1)})


def _user_id(request):
    # Never force the lazy session user: that would add a query to requests that did not need one.
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


class QueryCounter:
    """Counts the SQL statements of one request (a real measurement for /system/metrics and the bench)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)
