"""Account, buying and following actions (contract §4 and §5). Every one calls the services and
selectors behind the JSON API: purchase (POST /verify/create), cancel (DELETE /verify/{id}),
refresh and the latest-code rule (GET /verify/{id}/messages), the list (GET /verify)."""
from __future__ import annotations

import re
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from accounts.models import Account
from smsactivate_api import catalogue
from smsactivate_api.answers import USD, Answer, Refusal, json_answer, money, text, when
from verifications import selectors, services, snapshot
from verifications.errors import WrongState
from verifications.models import Capability, Verification, VoiceCall

Status = Verification.Status
GIVEN_BACK = (Status.CANCELLED, Status.EXPIRED, Status.FAILED)
PAGE = 100
MAX_ID = 2**63 - 1  # the column is 64-bit; a larger number cannot be an activation of ours


# --- account ----------------------------------------------------------------------------------------

def get_balance(*, user, **_) -> Answer:
    # Fresh from the database, as GET /account reads it: the balance may have just moved.
    return text("ACCESS_BALANCE", money(Account.objects.get(user=user).balance))


# --- buying -----------------------------------------------------------------------------------------

def get_number(*, user, params: dict, **_) -> Answer:
    verification = _buy(user=user, params=params)
    return text("ACCESS_NUMBER", f"{verification.activation_id}:{digits(verification.phone_number)}")


def get_number_v2(*, user, params: dict, **_) -> Answer:
    verification = _buy(user=user, params=params)
    country = verification.country
    return json_answer({
        "activationId": verification.activation_id, "phoneNumber": digits(verification.phone_number),
        "activationCost": verification.price, "currency": USD, "countryCode": str(country.protocol_id),
        "countryPhoneCode": int(digits(country.dialling_code) or 0) or None, "canGetAnotherSms": True,
        "activationTime": when(verification.created_at), "activationEndTime": when(verification.expires_at),
        "activationOperator": "any",
    })


def _buy(*, user, params: dict) -> Verification:
    service = catalogue.resolve_service(params.get("service"))
    country = catalogue.resolve_country(params.get("country"), catalogue.sellable_countries())
    catalogue.check_operator(params.get("operator"))
    capability = _capability(params.get("activationType"))
    cap = _max_price(params["maxPrice"] if "maxPrice" in params else params.get("max_price"))
    order_id = (params.get("orderId") or "").strip() or None
    if order_id is not None and len(order_id) > 255:
        raise Refusal("ERROR_SQL")
    # orderId is exactly the JSON API's Idempotency-Key: one namespace per customer, one purchase.
    verification, _ = services.purchase(user=user, service=service, country=country, capability=capability,
                                        idempotency_key=order_id, max_price=cap)
    if not verification.phone_number:
        raise Refusal("NO_NUMBERS")  # settled while renting (refunded): nothing to hand out
    return verification


def _capability(raw: str | None) -> str:
    value = (raw or "0").strip()
    if value == "0":
        return Capability.SMS
    if value == "2":
        return Capability.VOICE
    if value == "1":
        raise Refusal("NO_NUMBERS")  # "flash call" numbers: we sell none
    raise Refusal("ERROR_SQL")


def _max_price(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise Refusal("ERROR_SQL") from None
    if not value.is_finite() or value < 0:
        raise Refusal("ERROR_SQL")
    return value


# --- following an activation --------------------------------------------------------------------------

def set_status(*, user, params: dict, **_) -> Answer:
    verification = _activation(user=user, params=params)
    try:
        wanted = int((params.get("status") or "").strip())
    except ValueError:
        raise Refusal("BAD_STATUS") from None
    verification = services.refresh(verification=verification)
    done, given_back = verification.finished_at is not None, verification.status in GIVEN_BACK
    if wanted == 1:
        return text("BAD_STATUS" if done or given_back else "ACCESS_READY")
    if wanted == 3:
        services.request_another_code(verification=verification)
        return text("ACCESS_RETRY_GET")
    if wanted == 6:
        if verification.status != Status.COMPLETED:
            raise Refusal("BAD_STATUS")  # nothing to finish: cancel with 8
        services.finish(verification=verification)
        return text("ACCESS_ACTIVATION")
    if wanted in (8, -1):
        return _cancel(verification)
    raise Refusal("BAD_STATUS")


def _cancel(verification: Verification) -> Answer:
    # A repeated cancel answers success, so a client retrying after a lost answer sees it; the money
    # moved once (services.cancel refunds only on the pending -> cancelled transition).
    if verification.status in GIVEN_BACK:
        return text("ACCESS_CANCEL")
    try:
        services.cancel(verification=verification)
    except WrongState:
        verification.refresh_from_db()
        if verification.status in GIVEN_BACK:
            return text("ACCESS_CANCEL")  # given back meanwhile (another request, expiry): refunded once
        raise
    return text("ACCESS_CANCEL")


def get_status(*, user, params: dict, **_) -> Answer:
    verification = services.refresh(verification=_activation(user=user, params=params))
    token, value = status_of(verification, _items(verification))
    return text(token, value)


def get_status_v2(*, user, params: dict, **_) -> Answer:
    verification = services.refresh(verification=_activation(user=user, params=params))
    if verification.status in GIVEN_BACK:
        return text("STATUS_CANCEL")
    latest = _latest(_items(verification))
    if verification.capability == Capability.VOICE:
        return json_answer({"verificationType": 2, "sms": None, "call": _call(latest)})
    sms = None if latest is None else {"dateTime": when(latest.received_at), "code": latest.code or None,
                                       "text": latest.text}
    return json_answer({"verificationType": 0, "sms": sms, "call": None})


def _call(call) -> dict | None:
    if call is None:
        return None
    # The recording is our copy, served to the owner (with the same API key) once we hold it.
    url = snapshot.recording_path(call.verification_id, call.pk) \
        if call.recording_state == VoiceCall.Recording.STORED else None
    return {"from": digits(call.caller) or None, "text": call.transcription or None, "code": call.code or None,
            "dateTime": when(call.received_at), "url": url,
            "parsingCount": (1 + call.transcription_requests) if call.transcription else 0}


def get_full_sms(*, user, params: dict, **_) -> Answer:
    verification = services.refresh(verification=_activation(user=user, params=params))
    if verification.status in GIVEN_BACK:
        return text("STATUS_CANCEL")
    latest = _latest(_items(verification))
    if verification.status == Status.PENDING or latest is None:
        return text("STATUS_WAIT_CODE")
    return text("FULL_SMS", _text_of(latest))


def get_active_activations(*, user, params: dict, **_) -> Answer:
    start, limit = _count(params.get("start"), 0), min(_count(params.get("limit"), PAGE), PAGE)
    # "Active": not finished, not given back, before expiry (§4.1).
    rows = (selectors.verifications_for(user=user).filter(status__in=[Status.PENDING, Status.COMPLETED],
                                                          finished_at=None, expires_at__gt=timezone.now())
            .exclude(phone_number="").prefetch_related("messages", "calls")[start:start + limit])
    listed = []
    for verification in rows:
        items = _items(verification)
        latest = _latest(items)
        listed.append({
            "activationId": str(verification.activation_id),
            "serviceCode": catalogue.service_code(verification.service),
            "phoneNumber": digits(verification.phone_number), "activationCost": verification.price, "currency": USD,
            "activationStatus": status_of(verification, items)[0],
            "smsCode": (latest.code or None) if latest else None, "smsText": _text_of(latest) if latest else None,
            "activationTime": when(verification.created_at), "activationEndTime": when(verification.expires_at),
            "discount": "0.00", "repeated": "0", "countryCode": str(verification.country.protocol_id),
            "countryName": verification.country.name, "canGetAnotherSms": "1",
        })
    if not listed:
        return json_answer({"status": "error", "error": "NO_ACTIVATIONS"})
    # Under both keys: the documented one, and the one a V2-first client reads (§11).
    return json_answer({"status": "success", "activeActivations": listed, "data": listed})


def get_history(*, user, params: dict, **_) -> Answer:
    offset = _count(params.get("offset"), 0)
    size = min(_count(params.get("size", params.get("limit")), PAGE), PAGE)
    rows = selectors.verifications_for(user=user).exclude(phone_number="")
    if params.get("start") is not None:
        rows = rows.filter(created_at__gte=_moment(params["start"]))
    if params.get("end") is not None:
        rows = rows.filter(created_at__lte=_moment(params["end"]))
    history = []
    for verification in rows.prefetch_related("messages", "calls")[offset:offset + size]:
        items = _items(verification)
        latest = _latest(items)
        history.append({
            "id": str(verification.activation_id), "date": when(verification.created_at),
            "phone": digits(verification.phone_number), "sms": _text_of(latest) if latest else None,
            "cost": verification.price, "currency": USD, "status": status_of(verification, items)[0],
            "service": catalogue.service_code(verification.service), "country": verification.country.protocol_id,
        })
    return json_answer(history)


# --- the state of an activation, in the protocol's words -----------------------------------------------

def status_of(verification: Verification, items: list) -> tuple[str, str | None]:
    """getStatus's token and value (§4.1), from the verification and its messages (or calls)."""
    if verification.status in GIVEN_BACK:
        return "STATUS_CANCEL", None
    if verification.status == Status.PENDING:
        return "STATUS_WAIT_CODE", None
    # The latest code, by the same rule as the JSON API's `code`; an SMS from which no code could be
    # read completed the sale all the same, and its text stands in for the code.
    code = selectors.newest_code(items)
    if code is None:
        latest = _latest(items)
        code = " ".join(_text_of(latest).splitlines()) if latest else ""
    asked = verification.another_code_requested_at
    if verification.finished_at is None and asked is not None and not any(
            item.stored_at > asked and (item.code or verification.capability != Capability.VOICE) for item in items):
        return "STATUS_WAIT_RETRY", code
    return "STATUS_OK", code


def _items(verification: Verification) -> list:
    related = verification.calls if verification.capability == Capability.VOICE else verification.messages
    return list(related.all())


def _latest(items: list):
    return max(items, key=lambda item: (item.received_at, item.pk)) if items else None


def _text_of(item) -> str:
    return item.transcription if isinstance(item, VoiceCall) else item.text


def _activation(*, user, params: dict) -> Verification:
    # Malformed, unknown and another customer's ids all read the same: never a hint that one exists.
    try:
        number = int((params.get("id") or "").strip())
    except ValueError:
        raise Refusal("NO_ACTIVATION") from None
    if not 0 < number <= MAX_ID:
        raise Refusal("NO_ACTIVATION")
    verification = (Verification.objects.select_related("service", "country")
                    .filter(user=user, activation_id=number).first())
    if verification is None:
        raise Refusal("NO_ACTIVATION")
    return verification


def _count(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise Refusal("ERROR_SQL") from None
    if value < 0:
        raise Refusal("ERROR_SQL")
    return value


def _moment(raw: str) -> datetime:
    """A Unix timestamp in seconds, or an ISO 8601 date-time (some clients send one); naive = UTC."""
    value = raw.strip()
    try:
        if re.fullmatch(r"\d{1,12}", value):
            return datetime.fromtimestamp(int(value), tz=dt_timezone.utc)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise Refusal("ERROR_SQL") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")
