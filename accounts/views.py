"""Dashboard (HTML) pages of accounts: sign-up, sign-in, sign-out, account, API keys.

Forms validate the shape; accounts.services decides (the same functions the API calls). Sign-up
and sign-in share their rate-limit counters with the API's, so switching interface buys an
attacker nothing.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import ApiKeyForm, LoginForm, RegisterForm
from accounts.models import ApiKey
from namaskah import ratelimit
from namaskah.csp import content_security_policy


@content_security_policy
@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = RegisterForm(request.POST or None)
    if request.method == "POST":
        try:
            ratelimit.sign_up_attempt(request, email=request.POST.get("email", ""))
        except ratelimit.RateLimited as exc:
            return _too_many(request, "accounts/register.html", form, exc, "Too many sign-ups from your network")
        if form.is_valid():
            try:
                user = services.register(email=form.cleaned_data["email"], password=form.cleaned_data["password"])
            except ValidationError as exc:
                # A dict names its fields (the email is taken); a bare list is the password validators'.
                form.add_error(None if hasattr(exc, "error_dict") else "password", exc)
            else:
                login(request, user)
                messages.success(request, "Welcome! Your account is ready.")
                return redirect("dashboard")
    return render(request, "accounts/register.html", {"form": form}, status=400 if form.errors else 200)


@content_security_policy
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request.POST or None)
    if request.method == "POST":
        try:
            ratelimit.sign_in_attempt(request, email=request.POST.get("email", ""))
        except ratelimit.RateLimited as exc:
            return _too_many(request, "accounts/login.html", form, exc, "Too many sign-in attempts",
                             next=next_url)
        if form.is_valid():
            user = authenticate(request, username=form.cleaned_data["email"], password=form.cleaned_data["password"])
            if user is not None:
                login(request, user)
                return redirect(next_url or settings.LOGIN_REDIRECT_URL)
            form.add_error(None, "Wrong email or password.")
    return render(request, "accounts/login.html", {"form": form, "next": next_url},
                  status=400 if form.errors else 200)


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@content_security_policy
@login_required
def account(request):
    return render(request, "accounts/account.html", {
        "account": request.user.account,
        "active_keys": ApiKey.objects.filter(user=request.user, revoked_at__isnull=True).count(),
    })


@content_security_policy
@login_required
def api_keys(request):
    return _api_keys_page(request, ApiKeyForm())


@content_security_policy
@login_required
@require_POST
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _api_keys_page(request, form, status=400)
    row, key = services.create_api_key(user=request.user, name=form.cleaned_data["name"])
    # The key is rendered into this one response and never stored: no redirect through the session.
    response = _api_keys_page(request, ApiKeyForm(), new_key=key, new_row=row, status=201)
    response["Cache-Control"] = "no-store"
    return response


@content_security_policy
@login_required
@require_POST
def api_key_revoke(request, pk: int):
    try:
        row = services.revoke_api_key(user=request.user, key_id=pk)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key") from None
    messages.success(request, f"Revoked the key “{row.name}”: requests using it are now refused.")
    return redirect("keys")


# --- helpers -----------------------------------------------------------------------------------

def _api_keys_page(request, form, *, status: int = 200, **extra):
    keys = ApiKey.objects.filter(user=request.user).order_by("-created_at")
    return render(request, "accounts/api_keys.html", {"form": form, "keys": keys, **extra}, status=status)


def _safe_next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return ""


def _too_many(request, template: str, form, exc: ratelimit.RateLimited, what: str, **context):
    response = render(request, template, {
        "form": form, "rate_limited": f"{what}; try again in {exc.retry_after} s.", **context}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response
