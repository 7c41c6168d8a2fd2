"""Dashboard pages of payments: Add funds, the return from Stripe Checkout, and the mock checkout.

Thin views: payments.services opens and settles top-ups (the same functions the API, the webhook
and reconcile_payments call); the mock checkout's buttons are payments.gateway.mock's.
"""
from __future__ import annotations

from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account
from namaskah import ratelimit
from payments import services
from payments.forms import AddFundsForm
from payments.gateway import GatewayError, mock
from payments.models import MockCheckoutSession, TopUp
from namaskah.csp import CSP, content_security_policy

# The Add funds form redirects to Stripe's hosted page, and Chrome applies form-action to the
# redirect that answers a form: Stripe Checkout's origin must be allowed there, on this page only.
ADD_FUNDS_CSP = CSP.replace("form-action 'self'", "form-action 'self' https://checkout.stripe.com")


@content_security_policy
@login_required
@require_http_methods(["GET", "POST"])
def add_funds(request):
    form = AddFundsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            # The counter of POST /account/topups: switching door gives no more sessions.
            ratelimit.per_user(request, group="topup", rate=settings.RATE_TOPUP)
        except ratelimit.RateLimited as exc:
            return _add_funds_page(request, AddFundsForm(), status=429, retry_after=exc.retry_after,
                                   rate_limited=f"Too many top-ups opened; try again in {exc.retry_after} s. "
                                                "Nothing was charged.")
        if form.is_valid():
            try:
                topup = services.create_topup(user=request.user, amount=form.cleaned_data["amount"],
                                              site_url=request.build_absolute_uri("/"))
            except services.PaymentsUnavailable as exc:
                form.add_error(None, exc.message)
                status = 503
            else:
                return redirect(topup.checkout_url)
    return _add_funds_page(request, form, status=status)


def _add_funds_page(request, form, *, status: int, retry_after: int | None = None, rate_limited: str = ""):
    response = render(request, "payments/add_funds.html", {
        "form": form, "rate_limited": rate_limited, "balance": Account.objects.get(user=request.user).balance},
        status=status)
    response["Content-Security-Policy"] = ADD_FUNDS_CSP
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@content_security_policy
@login_required
@require_GET
def topup_success(request, pk):
    topup = get_object_or_404(TopUp, pk=pk, owner=request.user)
    mock_url = None
    if settings.PAYMENTS == "mock" and topup.status == TopUp.Status.PENDING and topup.stripe_session_id:
        mock_url = reverse("mock-checkout", args=[topup.stripe_session_id])
    return render(request, "payments/success.html", {
        "topup": topup, "balance": Account.objects.get(user=request.user).balance, "mock_url": mock_url})


@login_required
@require_GET
def topup_cancelled(request, pk):
    topup = services.cancel_checkout(topup=get_object_or_404(TopUp, pk=pk, owner=request.user))
    if topup.status == TopUp.Status.PAID:
        messages.success(request, f"Your payment of ${topup.amount} went through after all and is credited.")
    elif topup.status == TopUp.Status.PENDING:
        # Stripe refused to close the session (it was paid a moment ago, in another tab, and its
        # event is still on the way) or could not be asked: "nothing was charged" may be untrue.
        messages.info(request, "If you completed the payment, your balance is credited as soon as Stripe confirms it; "
                               "otherwise nothing was charged.")
    else:
        messages.info(request, "Payment cancelled: nothing was charged.")
    return redirect("dashboard")


# --- the mock checkout (PAYMENTS=mock only) ----------------------------------------------------

MOCK_ACTIONS = {
    "pay": mock.pay,
    "decline": mock.decline,
    "later": mock.pay_later,
    "succeed": partial(mock.settle, succeeded=True),
    "fail": partial(mock.settle, succeeded=False),
}


def _mock_only() -> None:
    # With PAYMENTS=stripe these pages do not exist: nobody may pay with a button.
    if settings.PAYMENTS != "mock":
        raise Http404("No mock checkout here")


@content_security_policy
@require_GET
def mock_checkout(request, session_id: str):
    _mock_only()
    return _mock_page(request, get_object_or_404(MockCheckoutSession, pk=session_id))


@content_security_policy
@require_POST
def mock_checkout_action(request, session_id: str, action: str):
    _mock_only()
    if action not in MOCK_ACTIONS:
        raise Http404("No such button")
    session = get_object_or_404(MockCheckoutSession, pk=session_id)
    try:
        next_url = MOCK_ACTIONS[action](session.pk)
    except mock.SessionClosed:
        session.refresh_from_db()
        return _mock_page(request, session, error="This session has already been answered; nothing more was sent.",
                          status=409)
    except GatewayError as exc:  # the webhook could not finish (say, a refund list): shown, not hidden
        return _mock_page(request, session, error=str(exc), status=503)
    return redirect(next_url)


def _mock_page(request, session: MockCheckoutSession, *, error: str = "", status: int = 200):
    amount = (Decimal(session.amount_total) / 100).quantize(Decimal("0.01"))
    return render(request, "payments/mock_checkout.html", {"session": session, "amount": amount, "error": error},
                  status=status)
