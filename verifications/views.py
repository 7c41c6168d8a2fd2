"""The customer dashboard (HTML): landing, dashboard, history, transactions.

Purchases, polls, cancels and reports are made by static/js/dashboard.js through the JSON API
(session + CSRF), so the dashboard and integrators run the very same views and services. These
views only read (the catalogue and prices come from verifications.selectors, the one pricing
function included), apart from `dismiss`, the cards' "Dismiss", which calls services.dismiss.
"""
from __future__ import annotations

from itertools import groupby

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import LedgerEntry
from namaskah.csp import content_security_policy
from verifications import routing, selectors, services
from verifications.api import CallOut, MessageOut, VerificationOut
from verifications.errors import WrongState
from verifications.models import Capability, PricingSettings, Service, Verification, VoiceCall

PAGE_SIZE = 20
ACTIVE_CARDS = 20

@content_security_policy
def landing(request):
    return render(request, "verifications/landing.html", {"tiers": _by_tier(selectors.service_catalogue())})


@content_security_policy
@login_required
def dashboard(request):
    services = selectors.service_catalogue()
    book = routing.Book()  # routes, offers and circuits read once for every country's prices
    return render(request, "verifications/dashboard.html", {
        "tiers": _by_tier(services),
        "countries": selectors.country_catalogue(book=book),
        "prices": selectors.price_map(book=book),
        "active": [_card(v) for v in _active_verifications(request.user)],
        "refresh_interval": settings.MESSAGE_REFRESH_INTERVAL,
        "voice_premium": PricingSettings.current().voice_premium,
    })


@login_required
@require_POST
def dismiss(request, pk):
    """The card's "Dismiss" (static/js/dashboard.js, with the CSRF header): 204, 404, or 409 while pending."""
    try:
        services.dismiss(user=request.user, verification_id=pk)
    except Verification.DoesNotExist:
        raise Http404("No such verification") from None
    except WrongState as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=409)
    return HttpResponse(status=204)


@content_security_policy
@login_required
def history(request):
    status = request.GET.get("status", "")
    status = status if status in Verification.Status.values else ""
    service = request.GET.get("service", "").strip()
    rows = selectors.verifications_for(user=request.user, status=status or None, service=service or None)
    page = Paginator(rows.prefetch_related("messages", "calls"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "verifications/history.html", {
        "page": page,
        "statuses": Verification.Status.choices,
        "services": Service.objects.order_by("name").values_list("slug", "name"),
        "status": status,
        "service": service,
    })


@content_security_policy
@login_required
def transactions(request):
    rows = (LedgerEntry.objects.filter(account__user=request.user).select_related("verification__service")
            .order_by("-created_at", "-id"))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "verifications/transactions.html", {"page": page})


# --- helpers -----------------------------------------------------------------------------------

def _by_tier(services: list[dict]) -> list[tuple[str, list[dict]]]:
    # service_catalogue() is ordered by tier, then name: grouping keeps that order.
    return [(tier, list(rows)) for tier, rows in groupby(services, key=lambda row: row["tier"])]


def _active_verifications(user):
    """Pending ones, and completed ones whose number still receives SMS (a second code is normal)."""
    now = timezone.now()
    rows = selectors.verifications_for(user=user).filter(
        Q(status=Verification.Status.PENDING) | Q(status=Verification.Status.COMPLETED, expires_at__gt=now),
        dismissed_at__isnull=True,
    )
    return rows.prefetch_related("messages", "calls")[:ACTIVE_CARDS]


def _card(verification: Verification) -> dict:
    """A verification in the API's shapes (VerificationOut + the messages/voice payloads), so the
    card script renders the first paint and later polls with one code path."""
    voice = verification.capability == Capability.VOICE
    items = list(verification.calls.all() if voice else verification.messages.all())
    return {
        **VerificationOut(verification).data,
        "service_name": verification.service.name,
        "country_label": verification.country.label,
        # A call's code is the verification's only when confident (an uncertain guess stays on its call).
        "code": selectors.newest_code([c for c in items if c.code_confidence == VoiceCall.Confidence.CONFIDENT]
                                      if voice else items),
        "messages": [] if voice else MessageOut(items, many=True).data,
        "calls": CallOut(items, many=True).data if voice else [],
    }
