"""Dashboard (HTML) pages of accounts: sign-up, sign-in, sign-out, password reset, account (password
and email change), API keys.

Forms validate the shape; accounts.services decides (the same functions the API calls). Sign-up
and sign-in share their rate-limit counters with the API's, so switching interface buys an
attacker nothing.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import (
    ApiKeyForm, EmailChangeForm, LoginForm, PasswordChangeForm, PasswordResetRequestForm, RegisterForm,
)
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
    return _account_page(request)


# --- password reset: Django's views with our templates, a rate limit, and every token ended --------

class PasswordResetView(auth_views.PasswordResetView):
    """The same page whether or not the address has an account; Django's form mails only a known,
    active one. Counted per client address and per email, like sign-in."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("password-reset-sent")

    def post(self, request, *args, **kwargs):
        try:
            ratelimit.password_reset_attempt(request, email=request.POST.get("email", ""))
        except ratelimit.RateLimited as exc:
            return _too_many(request, self.template_name, self.get_form(), exc, "Too many password reset requests")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        self.extra_email_context = {"hours": settings.PASSWORD_RESET_TIMEOUT // 3600}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    def form_valid(self, form):
        response = super().form_valid(form)  # saves the new password
        services.end_sessions_and_tokens(user=form.user)
        return response


password_reset = content_security_policy(PasswordResetView.as_view())
password_reset_sent = content_security_policy(auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_sent.html"))
password_reset_confirm = content_security_policy(PasswordResetConfirmView.as_view())
password_reset_complete = content_security_policy(auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"))


# --- password and email change, from the account page ---------------------------------------------

@content_security_policy
@login_required
@require_POST
def password_change(request):
    form = PasswordChangeForm(user=request.user, data=request.POST)
    try:
        # A wrong current password is a sign-in attempt: a stolen session must not get more guesses.
        ratelimit.sign_in_attempt(request, email=request.user.email)
    except ratelimit.RateLimited as exc:
        return _account_page(request, password_form=form, password_limited=_wait(exc), status=429,
                             retry_after=exc.retry_after)
    if not form.is_valid():
        return _account_page(request, password_form=form, status=400)
    user = form.save()
    services.end_sessions_and_tokens(user=user)
    update_session_auth_hash(request, user)  # this session stays signed in, every other one ends
    messages.success(request, "Your password is changed. Your other sessions and API tokens (JWT) are signed out; "
                              "API keys keep working.")
    return redirect("settings")


@content_security_policy
@login_required
@require_POST
def email_change(request):
    form = EmailChangeForm(request.POST)
    try:
        ratelimit.sign_in_attempt(request, email=request.user.email)
    except ratelimit.RateLimited as exc:
        return _account_page(request, email_form=form, email_limited=_wait(exc), status=429,
                             retry_after=exc.retry_after)
    if form.is_valid():
        try:
            services.request_email_change(user=request.user, new_email=form.cleaned_data["new_email"],
                                          password=form.cleaned_data["password"],
                                          site=f"{request.scheme}://{request.get_host()}")
        except ValidationError as exc:
            form.add_error(None, exc)  # names its field: new_email or password
        except services.MailNotSent:
            form.add_error(None, "We could not send the email just now: nothing was changed. Try again in a few "
                                 "minutes.")
            return _account_page(request, email_form=form, status=503)
        else:
            messages.success(request, f"We sent a confirmation link to {form.cleaned_data['new_email'].lower()}. "
                                      f"Your email changes when you open it; until then it stays {request.user.email}.")
            return redirect("settings")
    return _account_page(request, email_form=form, status=400)


@content_security_policy
@require_http_methods(["GET", "POST"])
def email_change_confirm(request, token: str):
    """The link from the new address: GET shows what will change, the button (POST) changes it.

    Signing in is not required: the link was sent only after the current password was checked, and
    opening it proves the new address is the customer's; it is often opened on another device (a
    phone's mail app). A GET never changes anything, so mail scanners that follow links cannot.
    Signed in as someone else, the link is refused rather than applied to an account not on screen.
    """
    template = "accounts/email_change_confirm.html"
    try:
        user, new_email = services.read_email_change(token=token)
    except services.EmailChangeRefused as exc:
        return render(request, template, {"refused": str(exc)}, status=400)
    if request.user.is_authenticated and request.user.pk != user.pk:
        return render(request, template, {"refused": "This link is for another account: log out, then open it "
                                                     "again."}, status=403)
    if request.method == "GET":
        return render(request, template, {"old_email": user.email, "new_email": new_email})
    try:
        user = services.confirm_email_change(token=token)
    except services.EmailChangeRefused as exc:
        return render(request, template, {"refused": str(exc)}, status=409 if exc.code == "taken" else 400)
    if request.user.is_authenticated:
        update_session_auth_hash(request, user)
        messages.success(request, f"Your email is now {user.email}. Your other sessions are signed out.")
        return redirect("settings")
    messages.success(request, f"Your email is now {user.email}: log in with it.")
    return redirect("login")


# The full key of a key just created, kept in the session only until the next GET of the keys page
# shows it (post/redirect/get: reloading that page must not create a second key). The database
# keeps only the fingerprint; logging out flushes the session.
NEW_KEY_SESSION = "new_api_key"


@content_security_policy
@login_required
def api_keys(request):
    stash = request.session.pop(NEW_KEY_SESSION, None)
    new_row = None
    if stash:
        new_row = ApiKey.objects.filter(user=request.user, pk=stash.get("id")).first()
    if new_row is None:
        return _api_keys_page(request, ApiKeyForm())
    response = _api_keys_page(request, ApiKeyForm(), new_key=stash["key"], new_row=new_row)
    response["Cache-Control"] = "no-store"  # neither the browser's cache nor its history keeps the key
    return response


@content_security_policy
@login_required
@require_POST
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _api_keys_page(request, form, status=400)
    row, key = services.create_api_key(user=request.user, name=form.cleaned_data["name"])
    request.session[NEW_KEY_SESSION] = {"id": row.pk, "key": key}
    response = redirect("keys")
    response.status_code = 303  # See Other: the browser follows with a GET, whatever the method was
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

def _account_page(request, *, password_form=None, email_form=None, status: int = 200, retry_after: int | None = None,
                  **extra):
    response = render(request, "accounts/account.html", {
        "account": request.user.account,
        "active_keys": ApiKey.objects.filter(user=request.user, revoked_at__isnull=True).count(),
        "password_form": password_form or PasswordChangeForm(user=request.user),
        "email_form": email_form or EmailChangeForm(),
        **extra,
    }, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _wait(exc: ratelimit.RateLimited) -> str:
    return f"Too many password attempts; try again in {exc.retry_after} s."


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
