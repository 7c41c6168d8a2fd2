import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from monitoring import metrics
from monitoring.health import HealthMonitor


@never_cache
@require_GET
def health(request):
    """200 healthy or degraded (the site works), 503 unhealthy (database or cache down)."""
    report = HealthMonitor().check()
    return JsonResponse(report.as_dict(), status=report.http_status)


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
    from verifications.models import Service
    from verifications.selectors import country_catalogue

    countries = country_catalogue()
    serving: dict[str, list[str]] = {}
    for row in countries:
        for name in row["providers"]:
            serving.setdefault(name, []).append(row["code"])
    return JsonResponse({
        "name": "Namaskah",
        "version": settings.VERSION,
        "provider": settings.PROVIDER,
        # Each provider in use with the countries it serves (in catalogue order), primary first.
        "providers": [{"name": name, "primary": name == settings.PROVIDER, "countries": serving.get(name, [])}
                      for name in _in_use()],
        "capabilities": ["sms", "voice"],
        "countries": len(countries),
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


def _in_use() -> list[str]:
    from monitoring.health import providers_in_use

    names = providers_in_use()
    return sorted(names, key=lambda name: (name != settings.PROVIDER, name))
