import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _probe(check) -> dict:
    started = time.perf_counter()
    try:
        check()
        status = "ok"
        error = None
    except Exception as exc:  # any failure of a dependency is a health finding, not a 500
        status = "down"
        error = type(exc).__name__
    result = {
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "checked_at": timezone.now().isoformat(),
    }
    if error:
        result["error"] = error
    return result


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    key = "health:probe"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")


@never_cache
@require_GET
def health(request):
    components = {"database": _probe(_check_database), "cache": _probe(_check_cache)}
    healthy = all(c["status"] == "ok" for c in components.values())
    body = {"status": "healthy" if healthy else "unhealthy", "components": components}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def live(request):
    """Liveness for load balancers: the process answers; no I/O."""
    return JsonResponse({"status": "alive"})
