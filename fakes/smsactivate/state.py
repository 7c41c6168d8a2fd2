"""The fake provider's data and rules: activations, orderId idempotency, balance, faults.

`FakeSmsActivate.handle()` takes the merged request parameters and returns a `Reply`; server.py
only moves bytes. The lifecycle follows sms-activate-protocol.md §4 (the provider's side of it):
waiting -> a code (SMS or call) -> finished with setStatus 6, or given back with setStatus 8
(refunded to our balance) while no code has arrived; an activation that expires without a code is
given back by itself.
"""
from __future__ import annotations

import hashlib
import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable

from fakes.smsactivate import catalogue
from fakes.smsactivate.faults import GARBAGE, Fault, Reply

FIRST_ID = 2_200_000_001  # above 2**31: ids that overflow a 32-bit column must work
CATALOGUE_ACTIONS = {"getPrices", "getCountries", "getServicesList"}
V2_ACTIONS = {"getNumberV2", "getStatusV2"}
CURRENCY_USD = 840


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Received:
    at: datetime
    text: str | None
    code: str | None
    caller: str = ""  # calls only
    url: str = ""  # calls only


@dataclass
class Activation:
    id: int
    service: str
    country: int
    phone: str
    cost: Decimal
    created_at: datetime
    expires_at: datetime
    voice: bool = False
    order_id: str | None = None
    status: str = "waiting"  # waiting | finished | cancelled
    received: list[Received] = field(default_factory=list)
    retry_asked_at: datetime | None = None
    auto_delivered: bool = False

    @property
    def latest(self) -> Received | None:
        return self.received[-1] if self.received else None

    def latest_code(self) -> str:
        latest = self.latest
        if latest is None:
            return ""
        return latest.code or " ".join(str(latest.text or "").split())


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it: which parameter names came in the URL and the body."""

    method: str
    action: str
    query_keys: tuple[str, ...]
    body_keys: tuple[str, ...]


class FakeSmsActivate:
    def __init__(self, *, api_key: str = "fake-smsactivate-key", balance: Decimal = Decimal("100.00"),
                 lifetime: float = 1200, early_cancel_window: float = 0, sms_delay: float | None = None,
                 v2: bool = True, honour_order_id: bool = True, query_only: bool = False,
                 clock: Callable[[], datetime] = utcnow):
        self.api_key = api_key
        self.initial_balance = Decimal(balance)
        self.lifetime = timedelta(seconds=lifetime)
        self.early_cancel_window = timedelta(seconds=early_cancel_window)
        self.sms_delay = sms_delay  # None: SMS only on demand (deliver_sms, POST /_fake/sms)
        self.v2 = v2  # False: a provider without getNumberV2/getStatusV2 (BAD_ACTION)
        self.honour_order_id = honour_order_id
        self.query_only = query_only  # True: a provider that reads only the query string
        self.clock = clock
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.balance = self.initial_balance
            self.offers = catalogue.initial_offers()
            self.activations: dict[int, Activation] = {}
            self.orders: dict[str, int] = {}
            self.faults: list[Fault] = []
            self.counts: Counter = Counter()
            self.seen: list[Seen] = []
            self._ids = itertools.count(FIRST_ID)
            self._serials: Counter = Counter()

    # --- test and development hooks (also over HTTP under /_fake/) -------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def deliver_sms(self, activation_id: int, *, text: str, code: str | None = None) -> None:
        """An SMS arrives now. KeyError for an unknown id, ValueError once it was given back or finished."""
        self._deliver(activation_id, Received(at=self.clock(), text=text, code=code))

    def deliver_call(self, activation_id: int, *, caller: str = "18005550100", text: str | None = None,
                     code: str | None = None, url: str = "") -> None:
        """A call arrives now (text: its transcription). Errors as deliver_sms."""
        url = url or f"https://fake-smsactivate.invalid/recordings/{activation_id}.mp3"
        self._deliver(activation_id, Received(at=self.clock(), text=text, code=code, caller=caller, url=url))

    def _deliver(self, activation_id: int, item: Received) -> None:
        with self.lock:
            activation = self.activations[int(activation_id)]
            self._settle(activation)
            if activation.status != "waiting":
                raise ValueError(f"activation {activation_id} is {activation.status}")
            activation.received.append(item)

    def set_offer(self, *, country: int, service: str, price: Decimal | None = None, stock: int | None = None) -> None:
        with self.lock:
            offer = self.offers.setdefault((country, service), [Decimal("0.50"), 0])
            if price is not None:
                offer[0] = Decimal(price)
            if stock is not None:
                offer[1] = int(stock)

    def count(self, action: str) -> int:
        with self.lock:
            return self.counts[action]

    def activation(self, activation_id: int) -> Activation:
        with self.lock:
            activation = self.activations[int(activation_id)]
            self._settle(activation)
            return activation

    def snapshot(self) -> dict:
        with self.lock:
            for activation in self.activations.values():
                self._settle(activation)
            return {
                "balance": self.balance, "requests": dict(self.counts),
                "activations": [{"id": a.id, "service": a.service, "country": a.country, "phone": a.phone,
                                 "status": a.status, "cost": a.cost, "received": len(a.received),
                                 "orderId": a.order_id, "created_at": _time(a.created_at)}
                                for a in self.activations.values()],
            }

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(self, *, method: str, query: dict, form: dict) -> Reply:
        params = dict(query) if self.query_only else {**query, **form}
        params = {k: v for k, v in params.items() if v != ""}  # an empty value counts as absent
        action = params.get("action", "")
        with self.lock:
            self.counts[action] += 1
            self.seen.append(Seen(method=method, action=action, query_keys=tuple(sorted(query)),
                                  body_keys=tuple(sorted(form))))
            fault = next((f for f in self.faults if f.matches(action)), None)
            if fault and fault.count > 0:
                fault.count -= 1
        if fault and fault.hang:
            self.stopping.wait(fault.hang)
            return Reply(drop=True)
        if fault and fault.replaces_answer:
            return fault.canned()
        reply = self._route(action, params)
        if fault and fault.garbage:
            return Reply(body=GARBAGE, content_type="text/html")
        if fault and (fault.drop or fault.stall):
            reply.drop, reply.stall = fault.drop, fault.stall
        return reply

    def _route(self, action: str, params: dict) -> Reply:
        key = params.get("api_key")
        if key is not None and key != self.api_key:
            return Reply(body="BAD_KEY")
        handler = getattr(self, f"_do_{action}", None) if action.isidentifier() else None
        if handler is None or (action in V2_ACTIONS and not self.v2):
            return Reply(body="BAD_ACTION")
        if key is None and action not in CATALOGUE_ACTIONS:
            return Reply(body="NO_KEY")
        with self.lock:
            return handler(params)

    # --- account and catalogue --------------------------------------------------------------------

    def _do_getBalance(self, params: dict) -> Reply:
        return Reply(body=f"ACCESS_BALANCE:{self.balance:.2f}")

    def _do_getCountries(self, params: dict) -> Reply:
        return Reply(body={str(c.id): {"id": c.id, "rus": c.name, "eng": c.name, "chn": c.name, "visible": 1,
                                       "retry": 1, "rent": 0, "multiService": 0} for c in catalogue.COUNTRIES})

    def _do_getServicesList(self, params: dict) -> Reply:
        country = self._country(params.get("country"), default=None)
        if country is False:
            return Reply(body="BAD_COUNTRY")
        codes = {code for (cid, code) in self.offers if country is None or cid == country.id}
        listed = [{"code": code, "name": catalogue.SERVICES.get(code, (code,))[0]} for code in sorted(codes)]
        return Reply(body={"status": "success", "services": listed})

    def _do_getPrices(self, params: dict) -> Reply:
        country = self._country(params.get("country"), default=None)
        if country is False:
            return Reply(body="BAD_COUNTRY")
        service = params.get("service")
        if service is not None and service not in {code for _, code in self.offers}:
            return Reply(body="BAD_SERVICE")
        table: dict[str, dict] = {}
        for (cid, code), (price, stock) in sorted(self.offers.items()):
            if (country is None or cid == country.id) and (service is None or code == service):
                table.setdefault(str(cid), {})[code] = {"cost": price, "count": stock, "physicalCount": stock}
        return Reply(body=table)

    # --- buying -----------------------------------------------------------------------------------

    def _do_getNumber(self, params: dict) -> Reply:
        return self._buy(params, v2=False)

    def _do_getNumberV2(self, params: dict) -> Reply:
        return self._buy(params, v2=True)

    def _buy(self, params: dict, *, v2: bool) -> Reply:
        country = self._country(params.get("country"), default=0)
        if country is False:
            return Reply(body="BAD_COUNTRY")
        service = params.get("service", "")
        offer = self.offers.get((country.id, service))
        if offer is None:
            return Reply(body="BAD_SERVICE")
        kind = params.get("activationType", "0")
        if kind == "1":
            return Reply(body="NO_NUMBERS")
        if kind not in ("0", "2"):
            return Reply(body="ERROR_SQL")
        order_id = params.get("orderId") if self.honour_order_id else None
        if order_id is not None and order_id in self.orders:
            earlier = self.activations[self.orders[order_id]]
            if (earlier.service, earlier.country, earlier.voice) != (service, country.id, kind == "2"):
                return Reply(body="ORDER_ALREADY_EXISTS")
            return self._number_answer(earlier, v2=v2)
        price, stock = offer
        cap = params.get("maxPrice", params.get("max_price"))
        if cap is not None:
            try:
                limit = Decimal(cap)
            except InvalidOperation:
                return Reply(body="ERROR_SQL")
            if not limit.is_finite() or limit < 0:
                return Reply(body="ERROR_SQL")
            if price > limit:
                return Reply(body=f"WRONG_MAX_PRICE:{price:.2f}")
        if stock <= 0:
            return Reply(body="NO_NUMBERS")
        if self.balance < price:
            return Reply(body="NO_BALANCE")
        now = self.clock()
        serial = self._serials[country.id]
        self._serials[country.id] += 1
        activation = Activation(id=next(self._ids), service=service, country=country.id, phone=country.number(serial),
                                cost=price, created_at=now, expires_at=now + self.lifetime, voice=kind == "2",
                                order_id=order_id)
        self.activations[activation.id] = activation
        if order_id is not None:
            self.orders[order_id] = activation.id
        offer[1] -= 1
        self.balance -= price
        return self._number_answer(activation, v2=v2)

    def _number_answer(self, a: Activation, *, v2: bool) -> Reply:
        if not v2:
            return Reply(body=f"ACCESS_NUMBER:{a.id}:{a.phone}")
        country = next(c for c in catalogue.COUNTRIES if c.id == a.country)
        return Reply(body={"activationId": a.id, "phoneNumber": a.phone, "activationCost": a.cost,
                           "currency": CURRENCY_USD, "countryCode": str(a.country),
                           "countryPhoneCode": country.phone_code, "canGetAnotherSms": True,
                           "activationTime": _time(a.created_at), "activationEndTime": _time(a.expires_at),
                           "activationOperator": "any"})

    # --- following an activation ------------------------------------------------------------------

    def _do_getStatus(self, params: dict) -> Reply:
        activation = self._find(params)
        if activation is None:
            return Reply(body="NO_ACTIVATION")
        return Reply(body=self._status_token(activation))

    def _do_getStatusV2(self, params: dict) -> Reply:
        a = self._find(params)
        if a is None:
            return Reply(body="NO_ACTIVATION")
        if a.status == "cancelled":
            return Reply(body="STATUS_CANCEL")
        latest, sms, call = a.latest, None, None
        if latest is not None and a.voice:
            call = {"from": latest.caller or None, "text": latest.text, "code": latest.code,
                    "dateTime": _time(latest.at), "url": latest.url, "parsingCount": 1}
        elif latest is not None:
            sms = {"dateTime": _time(latest.at), "code": latest.code, "text": latest.text}
        return Reply(body={"verificationType": 2 if a.voice else 0, "sms": sms, "call": call})

    def _do_getFullSms(self, params: dict) -> Reply:
        a = self._find(params)
        if a is None:
            return Reply(body="NO_ACTIVATION")
        if a.status == "cancelled":
            return Reply(body="STATUS_CANCEL")
        return Reply(body=f"FULL_SMS:{a.latest.text or ''}" if a.latest else "STATUS_WAIT_CODE")

    def _status_token(self, a: Activation) -> str:
        if a.status == "cancelled":
            return "STATUS_CANCEL"
        if a.latest is None:
            return "STATUS_WAIT_CODE"
        if a.retry_asked_at is not None and a.latest.at <= a.retry_asked_at and a.status == "waiting":
            return f"STATUS_WAIT_RETRY:{a.latest_code()}"
        return f"STATUS_OK:{a.latest_code()}"

    def _do_setStatus(self, params: dict) -> Reply:
        a = self._find(params)
        if a is None:
            return Reply(body="NO_ACTIVATION")
        status, now = params.get("status", ""), self.clock()
        has_code = a.latest is not None
        if status == "1":
            return Reply(body="ACCESS_READY" if a.status == "waiting" else "BAD_STATUS")
        if status == "3":
            if a.status != "waiting" or (has_code and now >= a.expires_at):
                return Reply(body="BAD_STATUS")
            a.retry_asked_at = now
            return Reply(body="ACCESS_RETRY_GET")
        if status == "6":
            if a.status == "cancelled" or not has_code:
                return Reply(body="BAD_STATUS")
            a.status = "finished"
            return Reply(body="ACCESS_ACTIVATION")
        if status in ("8", "-1"):
            if a.status == "cancelled":
                return Reply(body="ACCESS_CANCEL")  # a repeat: nothing moves twice
            if a.status == "finished" or has_code:
                return Reply(body="BAD_STATUS")
            if now < a.created_at + self.early_cancel_window:
                return Reply(body="EARLY_CANCEL_DENIED")
            self._give_back(a)
            return Reply(body="ACCESS_CANCEL")
        return Reply(body="BAD_STATUS")

    def _do_getActiveActivations(self, params: dict) -> Reply:
        try:
            start = max(0, int(params.get("start", 0)))
            limit = min(100, max(1, int(params.get("limit", 100))))
        except ValueError:
            return Reply(body="ERROR_SQL")
        for a in self.activations.values():
            self._settle(a)
        now = self.clock()
        active = sorted((a for a in self.activations.values() if a.status == "waiting" and now < a.expires_at),
                        key=lambda a: (a.created_at, a.id), reverse=True)
        if not active:
            return Reply(body={"status": "error", "error": "NO_ACTIVATIONS"})
        rows = [self._active_row(a) for a in active[start:start + limit]]
        return Reply(body={"status": "success", "activeActivations": rows, "data": rows})

    def _active_row(self, a: Activation) -> dict:
        country = next(c for c in catalogue.COUNTRIES if c.id == a.country)
        return {"activationId": str(a.id), "serviceCode": a.service, "phoneNumber": a.phone,
                "activationCost": a.cost, "currency": CURRENCY_USD,
                "activationStatus": self._status_token(a).partition(":")[0],
                "smsCode": a.latest.code if a.latest else None, "smsText": a.latest.text if a.latest else None,
                "activationTime": _time(a.created_at), "activationEndTime": _time(a.expires_at),
                "discount": "0.00", "repeated": "0", "countryCode": str(a.country), "countryName": country.name,
                "canGetAnotherSms": "1"}

    # --- rules --------------------------------------------------------------------------------------

    def _find(self, params: dict) -> Activation | None:
        try:
            activation = self.activations.get(int(params.get("id", "")))
        except ValueError:
            return None
        if activation is not None:
            self._settle(activation)
        return activation

    def _settle(self, a: Activation) -> None:
        """Time-driven changes: the automatic SMS of development runs, and expiry without a code."""
        now = self.clock()
        if (self.sms_delay is not None and not a.auto_delivered and a.status == "waiting"
                and now >= a.created_at + timedelta(seconds=self.sms_delay) and now < a.expires_at):
            a.auto_delivered = True
            code = str(int(hashlib.sha256(str(a.id).encode()).hexdigest(), 16) % 900000 + 100000)
            name = catalogue.SERVICES.get(a.service, (a.service,))[0]
            at = a.created_at + timedelta(seconds=self.sms_delay)
            if a.voice:
                a.received.append(Received(at=at, text=f"Your {name} code is {' '.join(code)}", code=code,
                                           caller="18005550100", url=f"https://fake-smsactivate.invalid/r/{a.id}.mp3"))
            else:
                a.received.append(Received(at=at, text=f"Your {name} code is {code}. Do not share it.", code=code))
        if a.status == "waiting" and a.latest is None and now >= a.expires_at:
            self._give_back(a)

    def _give_back(self, a: Activation) -> None:
        a.status = "cancelled"
        self.balance += a.cost
        offer = self.offers.get((a.country, a.service))
        if offer is not None:
            offer[1] += 1

    def _country(self, raw: str | None, *, default: int | None):
        """The country for a parameter: default when absent, False when unknown."""
        if raw is None:
            return None if default is None else next(c for c in catalogue.COUNTRIES if c.id == default)
        try:
            number = int(raw)
        except ValueError:
            return False
        return next((c for c in catalogue.COUNTRIES if c.id == number), False)
