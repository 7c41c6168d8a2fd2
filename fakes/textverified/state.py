"""The fake TextVerified's data and rules: tokens, verifications, idempotency, faults.

`FakeTextVerified.handle()` takes a parsed request and returns a `Reply`; the HTTP layer in
server.py only moves bytes. Rental behaviour (scenarios, codes, states) comes from
providers/simulation.py, the same rules the mock backend uses.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from typing import Callable
from urllib.parse import parse_qs, urlencode

from django.utils import timezone

from providers import simulation
from fakes.textverified.webhooks import WebhookSender
from providers.base import RentalState
from fakes.textverified.replies import Fault, Reply, error, json_body, param

API = "/api/pub/v2"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CAPABILITIES = {"sms": "sms", "voice": "voice", "smsandvoicecombo": "sms"}
_DETAILS = re.compile(rf"^{API}/verifications/([^/]+)$")
_ACTION = re.compile(rf"^{API}/verifications/([^/]+)/(cancel|report)$")
_RECORDING = re.compile(rf"^{API}/recordings/([^/]+)$")
# What the real upstream charges for a voice verification (contract §12: $2.50 for almost everything).
VOICE_PRICE = Decimal("2.50")


@dataclass
class Record:
    facts: simulation.Facts
    price: Decimal
    test: bool
    refunded: bool = False


class FakeTextVerified:
    def __init__(self, *, api_key: str | None = None, username: str | None = None, latency: float = 0.0,
                 sms_delay: float | None = 8.0, lifetime: float = 900, token_lifetime: float = 900,
                 balance: Decimal = Decimal("100.00"), page_size: int = 10, max_pending: int = 100,
                 clock: Callable[[], datetime] = timezone.now, sleep: Callable[[float], None] = time.sleep,
                 webhook_url: str | None = None, webhook_secret: str | None = None,
                 voice_price: Decimal = VOICE_PRICE):
        self.api_key, self.username = api_key, username
        self.voice_price = voice_price
        self.latency, self.sms_delay, self.lifetime = latency, sms_delay, lifetime
        self.token_lifetime, self.balance = token_lifetime, balance
        self.page_size, self.max_pending = page_size, max_pending
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()
        # Signed v2.sms.received POSTs when each SMS arrives, like the real service (optional).
        self.webhooks = WebhookSender(self, url=webhook_url, secret=webhook_secret or "") if webhook_url else None

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, datetime] = {}
            self.records: dict[str, Record] = {}
            self.idempotency: dict[str, Reply | None] = {}
            self.faults: list[Fault] = []
            self.requests: Counter = Counter()
            # (monotonic time, reservation id) of every read of one reservation's SMS or calls: tests
            # of the background checks see when each number was asked about.
            self.reads: list[tuple[float, str]] = []

    # --- test hooks (also reachable over HTTP under /_fake/) -------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def expire_tokens(self) -> None:
        with self.lock:
            past = self.clock() - timedelta(seconds=1)
            self.tokens = {token: past for token in self.tokens}

    def deliver_sms(self, reservation_id: str, *, text: str, code: str | None = None, sender: str = "22000") -> str:
        """Deliver an SMS now. KeyError for an unknown id, ValueError once the number was given back or expired."""
        now = self.clock()
        with self.lock:
            record = self.records[reservation_id]
            # Like the real number: it receives texts until it is given back or expires.
            if simulation.view(record.facts, now=now).state not in (RentalState.PENDING, RentalState.COMPLETED):
                raise ValueError("the verification no longer receives messages")
            message = simulation.Message(id=f"{reservation_id}.hook{len(record.facts.delivered)}", sender=sender,
                                         text=text, code=code, at=now)
            record.facts = replace(record.facts, delivered=record.facts.delivered + (message,))
        if self.webhooks:
            self.webhooks.schedule(reservation_id, message)
        return message.id

    def deliver_call(self, reservation_id: str, *, recording: str | None = None, sender: str = "18005550100") -> str:
        """A call arrives now, with one of the committed recordings (by file name; None: one chosen
        by the id). KeyError for an unknown id, ValueError once the number was given back or expired."""
        now = self.clock()
        with self.lock:
            record = self.records[reservation_id]
            if simulation.view(record.facts, now=now).state not in (RentalState.PENDING, RentalState.COMPLETED):
                raise ValueError("the verification no longer receives calls")
            index = len(record.facts.delivered)
            chosen = (simulation.recording_named(recording) if recording
                      else simulation.recording_for(seed=reservation_id, index=100 + index))
            if chosen is None:
                raise KeyError(recording)
            message = simulation.Message(id=f"{reservation_id}.call{index}", sender=sender, text="", code=chosen.code,
                                         at=now, recording=chosen.file)
            record.facts = replace(record.facts, delivered=record.facts.delivered + (message,))
        return message.id

    def recording_uri(self, call_id: str, base: str) -> str:
        """Where a call's recording is: an absolute URL for some calls, a path relative to the base
        URL for others (the contract allows both), always behind the bearer token."""
        path = f"{API}/recordings/{call_id}"
        return f"{base}{path}" if simulation.digest("uri-form", call_id) % 2 else path

    def webhook_data(self, reference: str, message_id: str) -> dict | None:
        """The `data` of a v2.sms.received event, or None if that SMS has not (or never) arrived."""
        now = self.clock()
        with self.lock:
            record = self.records.get(reference)
        if record is None:
            return None
        message = next((m for m in simulation.view(record.facts, now=now).sms if m.id == message_id), None)
        if message is None:
            return None
        code = None if record.facts.service == "test_html_sms" else message.code
        return {"reservationId": reference, "from": message.sender, "to": _national(record.facts.number),
                "createdAt": _ts(message.at, message.id), "smsContent": message.text, "parsedCode": code,
                "encrypted": False}

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return self.requests[f"{method} {path}"]

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(self, *, method: str, path: str, query: str, headers, body: bytes, base_url: str) -> Reply:
        with self.lock:
            self.requests[f"{method} {path}"] += 1
        if path.startswith("/_fake/"):
            return self._hook(method, path, body)
        fault = self._take_fault(method, path)
        if fault and fault.delay:
            self.sleep(fault.delay)
        if fault and fault.status:
            headers_out = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            body_out = {"errorCode": fault.error_code, "errorDescription": "Injected fault."} if fault.error_code else None
            return Reply(fault.status, body_out, headers_out)
        is_create = method == "POST" and path == f"{API}/verifications"
        if self.latency and not is_create:  # a purchase sleeps while its key is in flight, below
            self.sleep(self.latency)
        reply = self._route(method, path, parse_qs(query), headers, body, base_url)
        if fault and fault.stall:
            return replace(reply, stall=fault.stall)  # a copy: the stored idempotent reply must not stall
        return reply

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count != 0 and fault.matches(method, path):
                    if fault.count > 0:
                        fault.count -= 1
                    return fault
        return None

    def _route(self, method, path, query, headers, body, base) -> Reply:
        if method == "POST" and path == f"{API}/auth":
            return self._auth(headers)
        if not self._authorised(headers):
            return Reply(401)
        if method == "GET" and path == f"{API}/account/me":
            return Reply(200, {"username": self.username or "fake@example.com", "currentBalance": self.balance})
        if method == "GET" and path == f"{API}/services":
            return Reply(200, [{"serviceName": n, "capability": c, "description": d} for n, c, d in simulation.offers()])
        if method == "POST" and path == f"{API}/pricing/verifications":
            return self._pricing(body)
        if method == "POST" and path == f"{API}/verifications":
            return self._create(headers, body, base)
        if method == "GET" and path == f"{API}/verifications":
            return self._list_verifications(query, base)
        if method == "GET" and path in (f"{API}/sms", f"{API}/calls"):
            return self._messages(path.rsplit("/", 1)[1], query, base)
        if method == "GET" and (match := _RECORDING.match(path)):
            return self._recording(match.group(1))
        if method == "GET" and (match := _DETAILS.match(path)):
            return self._details(match.group(1), base)
        if method == "POST" and (match := _ACTION.match(path)):
            return self._action(match.group(1), match.group(2))
        return Reply(404)

    # --- auth ---------------------------------------------------------------------------------------

    def _auth(self, headers) -> Reply:
        key, user = headers.get("X-API-KEY") or "", headers.get("X-API-USERNAME") or ""
        if not key or not user or (self.api_key and key != self.api_key) or (self.username and user != self.username):
            return Reply(401)
        token = "eyJ" + secrets.token_urlsafe(32)
        expires = self.clock() + timedelta(seconds=self.token_lifetime)
        with self.lock:
            self.tokens[token] = expires
        return Reply(200, {"token": token, "expiresIn": self.token_lifetime, "expiresAt": _ts(expires, token)})

    def _authorised(self, headers) -> bool:
        value = headers.get("Authorization") or ""
        if not value.startswith("Bearer "):
            return False
        with self.lock:
            expires = self.tokens.get(value[7:].strip())
        return expires is not None and expires > self.clock()

    # --- catalogue and purchase -----------------------------------------------------------------------

    def _pricing(self, body: bytes) -> Reply:
        data = json_body(body)
        service, capability = data.get("serviceName"), _CAPABILITIES.get(str(data.get("capability", "")).lower())
        if not service or not capability:
            return error(400, None, "serviceName and capability are required.")
        try:
            price = simulation.price(service=service, capability=capability, strict=True,
                                     voice_price=self.voice_price)
        except simulation.Refused as exc:
            return error(400, exc.upstream_code, exc.message)
        return Reply(200, {"serviceName": service, "price": price}, _mock_header(service))

    def _create(self, headers, body: bytes, base: str) -> Reply:
        key = headers.get("Idempotency-Key")
        if key is not None:
            key = key.strip()
            if not 1 <= len(key) <= 256:
                return error(400, None, "Idempotency-Key must be 1-256 characters.")
            with self.lock:
                if key in self.idempotency:
                    done = self.idempotency[key]
                    if done is None:
                        return error(409, "IdempotencyConflict", "A request with this key is still being processed.")
                    return replace(done, headers=dict(done.headers), stall=0.0)
                self.idempotency[key] = None  # in flight
        reply = None
        try:
            if self.latency:
                self.sleep(self.latency)
            reply = self._purchase(body, base)
            return reply
        finally:
            if key is not None:
                with self.lock:
                    if reply is not None and reply.status == 201:
                        self.idempotency[key] = reply
                    else:
                        self.idempotency.pop(key, None)

    def _purchase(self, body: bytes, base: str) -> Reply:
        data = json_body(body)
        service = data.get("serviceName")
        capability = _CAPABILITIES.get(str(data.get("capability", "")).lower())
        if not service or not capability:
            return error(400, None, "serviceName and capability are required.")
        max_price = None if data.get("maxPrice") is None else Decimal(str(data["maxPrice"]))
        try:
            price = simulation.check_purchase(service=service, capability=capability, max_price=max_price, strict=True,
                                              voice_price=self.voice_price)
        except simulation.Outage as exc:
            return error(503, None, str(exc))
        except simulation.Refused as exc:
            return error(400, exc.upstream_code, exc.message)
        test = service in simulation.SCENARIOS
        now = self.clock()
        with self.lock:
            if not test:
                if self.balance < price:
                    return error(400, "InsufficientBalance", "Not enough credits.")
                # Pending rentals are a subset of all rentals: only scan (O(n)) when the limit is in reach.
                pending = 0 if len(self.records) < self.max_pending else sum(
                    1 for r in self.records.values()
                    if not r.test and simulation.view(r.facts, now=now).state == RentalState.PENDING)
                if pending >= self.max_pending:
                    return error(400, "TooManyUnfinishedVerifications", "Too many unfinished verifications.")
                self.balance -= price
            vid = "lr_" + "".join(secrets.choice(_CROCKFORD) for _ in range(26))
            facts = simulation.Facts(reference=vid, service=service, capability=capability, created_at=now,
                                     sms_delay=self.sms_delay, lifetime=self.lifetime)
            self.records[vid] = Record(facts=facts, price=price, test=test)
        if self.webhooks:
            for message in simulation.scheduled(facts):
                self.webhooks.schedule(vid, message)
        href = f"{base}{API}/verifications/{vid}"
        return Reply(201, {"method": "GET", "href": href}, {"Location": href, **_mock_header(service)})

    # --- reads ------------------------------------------------------------------------------------------

    def _details(self, vid: str, base: str) -> Reply:
        record, seen = self._look(vid)
        if record is None:
            return Reply(404)
        f = record.facts
        url = f"{base}{API}/verifications/{vid}"
        body = {
            "id": vid,
            "number": _national(f.number),
            "serviceName": f.service,
            "state": seen.upstream_state,
            "totalCost": record.price,
            "createdAt": _ts(f.created_at, vid),
            "endsAt": _ts(seen.ends_at, vid + "end"),
            "sms": {"method": "GET", "href": f"{base}{API}/sms?{urlencode({'ReservationId': vid})}"},
            "calls": {"method": "GET", "href": f"{base}{API}/calls?{urlencode({'ReservationId': vid})}"},
            "sale": {"method": "GET", "href": f"{base}{API}/sales/mock_sale_{vid}"},
            "cancel": {"canCancel": seen.can_cancel, "link": {"method": "POST", "href": f"{url}/cancel"}},
            "report": {"canReport": seen.can_report, "link": {"method": "POST", "href": f"{url}/report"}},
            "reuse": {"reusableUntil": None, "link": {"method": None, "href": None}},
            "reactivate": {"canReactivate": False, "link": {"method": None, "href": None}},
        }
        return Reply(200, body, _mock_header(f.service))

    def _list_verifications(self, query: dict, base: str) -> Reply:
        with self.lock:
            records = list(self.records.values())
        now = self.clock()
        items = [{"id": r.facts.reference, "number": _national(r.facts.number), "serviceName": r.facts.service,
                  "state": simulation.view(r.facts, now=now).upstream_state, "totalCost": r.price,
                  "createdAt": _ts(r.facts.created_at, r.facts.reference),
                  "link": {"method": "GET", "href": f"{base}{API}/verifications/{r.facts.reference}"}}
                 for r in sorted(records, key=lambda r: r.facts.created_at, reverse=True)]
        return self._page(items, query, f"{base}{API}/verifications")

    def _messages(self, kind: str, query: dict, base: str) -> Reply:
        wanted = param(query, "reservationId")
        to = re.sub(r"\D", "", param(query, "to") or "")[-10:]
        now = self.clock()
        with self.lock:
            if wanted:
                self.reads.append((time.monotonic(), wanted))
            if wanted:  # records are keyed by reservation id: one number's read costs the same however many are rented
                records = [r for r in (self.records.get(wanted),) if r is not None and r.facts.reference == wanted]
            else:
                records = list(self.records.values())
        items = []
        for record in records:
            number = _national(record.facts.number)
            if to and number != to:
                continue
            seen = simulation.view(record.facts, now=now)
            for m in (seen.sms if kind == "sms" else seen.calls):
                item = {"id": m.id, "from": m.sender, "to": number, "createdAt": _ts(m.at, m.id)}
                if kind == "sms":
                    # The HTML scenario leaves parsedCode empty, so clients must find the code themselves.
                    code = None if record.facts.service == "test_html_sms" else m.code
                    item.update({"smsContent": m.text, "parsedCode": code, "encrypted": False})
                else:
                    item["recordingUri"] = self.recording_uri(m.id, base) if m.recording else None
                items.append((m.at, m.id, item))
        items.sort(key=lambda entry: entry[:2])
        return self._page([item for _, _, item in items], query, f"{base}{API}/{kind}")

    def _page(self, items: list, query: dict, url: str) -> Reply:
        page = max(1, int(param(query, "page") or 1))
        size = max(1, self.page_size)
        chunk = items[(page - 1) * size: page * size]
        has_next = page * size < len(items)
        params = {k: v[0] for k, v in query.items() if k.lower() != "page"}

        def link(number: int | None) -> dict:
            if number is None:
                return {"method": None, "href": None}
            return {"method": "GET", "href": f"{url}?{urlencode({**params, 'page': number})}"}

        return Reply(200, {"data": chunk, "hasNext": has_next, "hasPrevious": page > 1, "count": len(chunk),
                           "links": {"current": link(page), "previous": link(page - 1 if page > 1 else None),
                                     "next": link(page + 1 if has_next else None)}})

    def _recording(self, call_id: str) -> Reply:
        vid = call_id.rsplit(".", 1)[0]
        record, seen = self._look(vid)
        call = next((m for m in seen.calls if m.id == call_id), None) if record else None
        chosen = simulation.recording_named(call.recording) if call else None
        if chosen is None:
            return Reply(404)
        return Reply(200, chosen.path.read_bytes(), {"Content-Type": chosen.content_type})

    def _action(self, vid: str, action: str) -> Reply:
        now = self.clock()
        with self.lock:
            record = self.records.get(vid)
            if record is None:
                return Reply(404)
            seen = simulation.view(record.facts, now=now)
            allowed = seen.can_cancel if action == "cancel" else seen.can_report
            if not allowed:
                return error(400, None, f"Verification cannot be {'canceled' if action == 'cancel' else 'reported'}.")
            flag = "cancelled_at" if action == "cancel" else "reported_at"
            record.facts = replace(record.facts, **{flag: now})
            self._refund(record)
        return Reply(200)

    def _look(self, vid: str) -> tuple[Record | None, simulation.View | None]:
        now = self.clock()
        with self.lock:
            record = self.records.get(vid)
            if record is None:
                return None, None
            seen = simulation.view(record.facts, now=now)
            if seen.state == RentalState.EXPIRED:
                self._refund(record)  # timed out without a code: nothing is charged
            return record, seen

    def _refund(self, record: Record) -> None:
        if not record.test and not record.refunded:
            record.refunded = True
            self.balance += record.price

    # --- hooks -----------------------------------------------------------------------------------------

    def _hook(self, method: str, path: str, body: bytes) -> Reply:
        data = json_body(body)
        if method == "POST" and path == "/_fake/sms":
            try:
                message_id = self.deliver_sms(str(data.get("reservationId")), text=str(data.get("text", "")),
                                              code=data.get("code"), sender=str(data.get("from", "22000")))
            except KeyError:
                return Reply(404)
            except ValueError as exc:
                return error(409, None, str(exc))
            return Reply(200, {"id": message_id})
        if method == "POST" and path == "/_fake/call":
            try:
                message_id = self.deliver_call(str(data.get("reservationId")), recording=data.get("recording"))
            except KeyError:
                return Reply(404)
            except ValueError as exc:
                return error(409, None, str(exc))
            return Reply(200, {"id": message_id})
        if method == "POST" and path == "/_fake/faults":
            return self._set_faults(data)
        if method == "POST" and path == "/_fake/reset":
            self.reset()
            return Reply(200, {"reset": True})
        if method == "GET" and path == "/_fake/state":
            with self.lock:
                return Reply(200, {"verifications": len(self.records), "balance": self.balance,
                                   "tokens": len(self.tokens), "faults": len([f for f in self.faults if f.count]),
                                   "requests": dict(self.requests),
                                   "webhooks": dict(self.webhooks.counts) if self.webhooks else None})
        return Reply(404)

    def _set_faults(self, data: dict) -> Reply:
        if data.get("clear"):
            with self.lock:
                self.faults = []
        for item in data.get("add", []):
            self.add_fault(Fault.from_json(item))
        if data.get("expireTokens"):
            self.expire_tokens()
        for name, attr, cast in (("latency", "latency", float), ("tokenLifetime", "token_lifetime", float),
                                 ("pageSize", "page_size", int), ("maxPending", "max_pending", int),
                                 ("balance", "balance", lambda v: Decimal(str(v)))):
            if name in data:
                setattr(self, attr, cast(data[name]))
        if "smsDelay" in data:
            self.sms_delay = None if data["smsDelay"] is None else float(data["smsDelay"])
        return Reply(200, {"faults": len(self.faults)})


def _mock_header(service: str) -> dict:
    return {"X-Phoneblur-Mock": "true"} if service in simulation.SCENARIOS else {}


def _national(number: str) -> str:
    return number[2:] if number.startswith("+1") else number


def _ts(moment: datetime, seed: str) -> str:
    """ISO-8601 with offset; for about half the values with .NET's 7 fractional digits."""
    moment = moment.astimezone(dt_timezone.utc)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if simulation.digest("ts", seed) % 2:
        return f"{base}.{moment.microsecond:06d}{simulation.digest('tick', seed) % 10}+00:00"
    return f"{base}.{moment.microsecond:06d}+00:00"
