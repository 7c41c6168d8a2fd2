"""The dashboard's Webhooks page (`/settings/webhooks`): the same endpoints and services as
`/account/webhooks`, with each endpoint's recent deliveries."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hooks import services
from hooks.forms import EndpointForm
from hooks.models import Delivery, Endpoint
from namaskah.csp import content_security_policy

RECENT = 10
# The secret of an endpoint just registered, kept in the session until the next GET shows it once
# (post/redirect/get: reloading must not register a second endpoint).
NEW_SECRET_SESSION = "new_webhook_secret"


@content_security_policy
@login_required
def webhooks(request):
    stash = request.session.pop(NEW_SECRET_SESSION, None)
    response = _page(request, EndpointForm(), new=stash)
    if stash:
        response["Cache-Control"] = "no-store"  # neither the browser's cache nor its history keeps the secret
    return response


@content_security_policy
@login_required
@require_POST
def webhook_create(request):
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        endpoint = services.create_endpoint(owner=request.user, url=data["url"], events=data["events"] or None,
                                            format=data["format"])
    except services.EndpointRefused as exc:
        for field, errors in exc.fields.items():
            for error in errors:
                form.add_error(field, error)
        return _page(request, form, status=400)
    request.session[NEW_SECRET_SESSION] = {"id": endpoint.pk, "secret": endpoint.secret}
    response = redirect("webhooks")
    response.status_code = 303  # See Other: the browser follows with a GET
    return response


@content_security_policy
@login_required
@require_POST
def webhook_delete(request, pk: int):
    try:
        services.delete_endpoint(owner=request.user, endpoint_id=pk)
    except Endpoint.DoesNotExist:
        raise Http404("No such endpoint") from None
    messages.success(request, "Deleted the endpoint: nothing more is sent to it.")
    return redirect("webhooks")


@content_security_policy
@login_required
@require_POST
def webhook_test(request, pk: int):
    try:
        delivery = services.send_test(owner=request.user, endpoint_id=pk)
    except Endpoint.DoesNotExist:
        raise Http404("No such endpoint") from None
    except services.EndpointDisabled:
        messages.error(request, "This endpoint was disabled after failing for 3 days: register it again.")
        return redirect("webhooks")
    messages.success(request, f"Sent a webhook.test event ({delivery.webhook_id}); its delivery is listed below.")
    return redirect("webhooks")


def _page(request, form, *, status: int = 200, new: dict | None = None):
    recent = Delivery.objects.order_by("-created_at", "-pk")[:RECENT]
    endpoints = list(Endpoint.objects.filter(owner=request.user).prefetch_related(
        Prefetch("deliveries", queryset=recent, to_attr="recent")))
    if new and not any(e.pk == new.get("id") for e in endpoints):
        new = None
    return render(request, "hooks/webhooks.html", {"form": form, "endpoints": endpoints, "new": new}, status=status)
