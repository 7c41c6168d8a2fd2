import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from monitoring import metrics


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


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


@never_cache
@require_GET
def metrics_view(request):
    """Not public: a staff session or `Authorization: Bearer $METRICS_TOKEN`. JSON, or Prometheus text
    with ?format=prometheus (or an Accept header asking for text/plain)."""
    if not _metrics_allowed(request):
        return JsonResponse({"error": {"code": "not_authenticated", "message": "Staff session or METRICS_TOKEN required."}},
                            status=401, headers={"WWW-Authenticate": "Bearer"})
    wants_text = request.GET.get("format") == "prometheus" or "text/plain" in request.headers.get("Accept", "")
    if wants_text:
        return HttpResponse(metrics.prometheus_text(), content_type=CONTENT_TYPE_LATEST)
    return JsonResponse(metrics.as_json())


@never_cache
@require_GET
def info(request):
    """Public facts about this deployment: no secrets."""
    from verifications.models import Country, Service

    return JsonResponse({
        "name": "Namaskah",
        "version": settings.VERSION,
        "provider": settings.PROVIDER,
        "capabilities": ["sms", "voice"],
        "countries": Country.objects.filter(enabled=True).count(),
        "services": Service.objects.filter(enabled=True).count(),
        "limits": {
            "purchase": settings.RATE_PURCHASE, "poll": settings.RATE_POLL,
            "login_per_ip": settings.RATE_LOGIN_IP, "login_per_email": settings.RATE_LOGIN_EMAIL,
            "register_per_ip": settings.RATE_REGISTER_IP, "message_refresh_interval_s": settings.MESSAGE_REFRESH_INTERVAL,
            "upstream_read_timeout_s": settings.TEXTVERIFIED_READ_TIMEOUT,
            "breaker_failure_threshold": settings.BREAKER_FAILURE_THRESHOLD,
            "breaker_recovery_timeout_s": settings.BREAKER_RECOVERY_TIMEOUT,
        },
    })
