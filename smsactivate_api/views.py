"""`/stubs/handler_api.php`: one stateless function view for every action (contract §1, §2, §7).

The order of checks, for every request: a key that is present but not valid -> BAD_KEY; an unknown
action -> BAD_ACTION; no key -> the catalogue answers anonymously, anything else NO_KEY; then the
action's own parameters and errors. Every answer is HTTP 200 (clients read the body, not the status).
The key is never logged, echoed or put in a metric label: unexpected errors are logged with the
request id only, and the request log shows the path without the query string.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts import credentials
from accounts.authentication import KEYWORD
from monitoring.metrics import observe_protocol_answer
from namaskah import ratelimit
from smsactivate_api import activations, catalogue
from smsactivate_api.answers import Answer, text
from smsactivate_api.errors import answer_for

log = logging.getLogger(__name__)

# action -> (handler, kind). "buying" counts against RATE_PURCHASE (the counter of POST /verify/create),
# every other keyed action against RATE_POLL; "catalogue" answers without a key too.
ACTIONS = {
    "getBalance": (activations.get_balance, "account"),
    "getBalanceAndCashBack": (activations.get_balance, "account"),  # we have no cashback
    "getNumber": (activations.get_number, "buying"),
    "getNumberV2": (activations.get_number_v2, "buying"),
    "setStatus": (activations.set_status, "account"),
    "getStatus": (activations.get_status, "account"),
    "getStatusV2": (activations.get_status_v2, "account"),
    "getFullSms": (activations.get_full_sms, "account"),
    "getActiveActivations": (activations.get_active_activations, "account"),
    "getHistory": (activations.get_history, "account"),
    "getPrices": (catalogue.get_prices, "catalogue"),
    "getCountries": (catalogue.get_countries, "catalogue"),
    "getServicesList": (catalogue.get_services_list, "catalogue"),
    "getNumbersStatus": (catalogue.get_numbers_status, "catalogue"),
    "getOperators": (catalogue.get_operators, "catalogue"),
}


@csrf_exempt  # stateless: no session, no cookie, so nothing for a forged request to ride on
@require_http_methods(["GET", "POST"])
def handler_api(request):
    action = "other"
    try:
        params = merged_parameters(request)
        if params.get("action") in ACTIONS:
            action = params["action"]
        answer = _answer(request, params)
    except Exception as exc:
        answer = answer_for(exc, buying=ACTIONS.get(action, (None, ""))[1] == "buying")
        if answer is None:
            # Logged by request id and action only: the parameters (and so the key) stay out of it.
            log.exception("handler_api: %s failed (request_id=%s)", action, getattr(request, "request_id", "-"))
            answer = text("ERROR_SQL")
    observe_protocol_answer(action=action, answer=answer.label)
    return answer.response()


def _answer(request, params: dict) -> Answer:
    key = params.get("api_key") or _header_key(request)
    user = None
    if key is not None:
        user = credentials.user_for_api_key(key)  # the same check as `Authorization: Api-Key`
        if user is None:
            return text("BAD_KEY")
    if params.get("action") not in ACTIONS:
        return text("BAD_ACTION")
    handler, kind = ACTIONS[params["action"]]
    if user is None:
        if kind != "catalogue":
            return text("NO_KEY")
    else:
        request.user = user
        # The JSON API's counters, so switching door buys no extra requests.
        if kind == "buying":
            ratelimit.per_user(request, group="purchase", rate=settings.RATE_PURCHASE)
        else:
            ratelimit.per_user(request, group="poll", rate=settings.RATE_POLL)
    return handler(user=user, params=params)


def merged_parameters(request) -> dict[str, str]:
    """Query string and form body merged: the body wins, a repeated name takes its last value, an
    empty value counts as absent (contract §1)."""
    params: dict[str, str] = {}
    for source in (request.GET, request.POST):
        for name in source:
            value = source.getlist(name)[-1]
            if value != "":
                params[name] = value
    return params


def _header_key(request) -> str | None:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() or None if scheme == KEYWORD else None
