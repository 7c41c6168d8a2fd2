"""The fake Stripe's state and its answers: Checkout Sessions, their payments, refunds, disputes,
and the signed events Stripe would send about them. Thread-safe (one lock); no Namaskah imports."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class SignedEvent:
    """An event as Stripe would POST it: the raw body and its Stripe-Signature header."""

    type: str
    payload: bytes
    signature: str

    @property
    def data(self) -> dict:
        return json.loads(self.payload)


@dataclass
class Reply:
    status: int
    body: dict | str
    headers: dict = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
           headers: dict | None = None) -> Reply:
    body = {"error": {"type": type_, "message": message, **({"code": code} if code else {})}}
    return Reply(status, body, headers or {})


def nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`line_items[0][price_data][currency]=usd`) back into nested dicts;
    list indexes stay string keys ("0", "1")."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


class FakeStripe:
    def __init__(self, *, secret_key: str, webhook_secret: str):
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.lock = threading.Lock()
        self.sessions: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}  # by charge id
        self.refunds: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.intent_metadata: dict[str, dict] = {}  # by session id: payment_intent_data[metadata]
        self.idempotency: dict[str, str] = {}  # Idempotency-Key → session id
        self.events: list[SignedEvent] = []  # every event produced, newest last
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API request
        self.down = False  # every API request answers 503 (and tells the library not to retry)
        self.clock = time.time

    # --- the HTTP API ----------------------------------------------------------------------------

    def handle(self, *, method: str, path: str, query: str, headers, body: bytes, base_url: str) -> Reply:
        if path.startswith("/c/pay/"):
            return Reply(200, "<!doctype html><title>Fake Stripe Checkout</title><p>Fake Stripe Checkout</p>")
        with self.lock:
            self.requests.append((method, path))
        if self.down:
            return _error(503, "The fake Stripe is down.", type_="api_error", headers={"Stripe-Should-Retry": "false"})
        if headers.get("Authorization") != f"Bearer {self.secret_key}":
            return _error(401, "Invalid API Key provided.")
        params = nest(parse_qsl(body.decode() if method == "POST" else query, keep_blank_values=True))
        parts = [p for p in path.split("/") if p]
        with self.lock:
            if parts == ["v1", "checkout", "sessions"] and method == "POST":
                return self._create_session(params, headers.get("Idempotency-Key"), base_url)
            if parts == ["v1", "checkout", "sessions"] and method == "GET":
                return self._list(self._sessions_matching(params), params, "/v1/checkout/sessions")
            if len(parts) == 4 and parts[:3] == ["v1", "checkout", "sessions"] and method == "GET":
                return self._found(self.sessions.get(parts[3]), "checkout.session", parts[3])
            if len(parts) == 5 and parts[:3] == ["v1", "checkout", "sessions"] and parts[4] == "expire" \
                    and method == "POST":
                return self._expire(parts[3])
            if len(parts) == 3 and parts[:2] == ["v1", "payment_intents"] and method == "GET":
                return self._found(self.payment_intents.get(parts[2]), "payment_intent", parts[2])
            if parts == ["v1", "refunds"] and method == "GET":
                rows = [r for r in self.refunds.values() if not params.get("charge") or r["charge"] == params["charge"]]
                return self._list(rows, params, "/v1/refunds")
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    def _create_session(self, params: dict, idempotency_key: str | None, base_url: str) -> Reply:
        if idempotency_key and idempotency_key in self.idempotency:
            return Reply(200, copy.deepcopy(self.sessions[self.idempotency[idempotency_key]]))
        for name in ("mode", "success_url"):
            if not params.get(name):
                return _error(400, f"Missing required param: {name}.", code="parameter_missing")
        items = params.get("line_items") or {}
        try:
            amount = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
                         for item in items.values())
            currency = {item["price_data"]["currency"] for item in items.values()}.pop()
        except (KeyError, ValueError, TypeError):
            return _error(400, "line_items need price_data[currency], price_data[unit_amount] and quantity.")
        session_id = _id("cs_test")
        session = {
            "id": session_id, "object": "checkout.session", "mode": params["mode"], "livemode": False,
            "amount_subtotal": amount, "amount_total": amount, "currency": currency,
            "client_reference_id": params.get("client_reference_id"), "metadata": params.get("metadata", {}),
            "customer_email": params.get("customer_email"), "payment_intent": None, "payment_status": "unpaid",
            "status": "open", "success_url": params["success_url"], "cancel_url": params.get("cancel_url"),
            "url": f"{base_url}/c/pay/{session_id}", "created": int(self.clock()),
            "expires_at": int(self.clock()) + 24 * 3600,
        }
        self.sessions[session_id] = session
        intent_data = params.get("payment_intent_data")
        self.intent_metadata[session_id] = (intent_data.get("metadata") or {}) if isinstance(intent_data, dict) else {}
        if idempotency_key:
            self.idempotency[idempotency_key] = session_id
        return Reply(200, copy.deepcopy(session))

    def _sessions_matching(self, params: dict) -> list[dict]:
        rows = list(self.sessions.values())
        if params.get("status"):
            rows = [s for s in rows if s["status"] == params["status"]]
        created = params.get("created") or {}
        if isinstance(created, dict) and created.get("gte"):
            rows = [s for s in rows if s["created"] >= int(created["gte"])]
        return rows

    def _list(self, rows: list[dict], params: dict, url: str) -> Reply:
        # Newest first (within one second: the later created first), cursor after `starting_after`.
        rows = sorted(reversed(rows), key=lambda r: r["created"], reverse=True)
        after = params.get("starting_after")
        if after:
            ids = [r["id"] for r in rows]
            if after not in ids:
                return _error(400, f"No such object: '{after}'", code="resource_missing")
            rows = rows[ids.index(after) + 1:]
        limit = max(1, min(100, int(params.get("limit") or 10)))
        return Reply(200, {"object": "list", "url": url, "has_more": len(rows) > limit,
                           "data": copy.deepcopy(rows[:limit])})

    def _found(self, row: dict | None, kind: str, object_id: str) -> Reply:
        if row is None:
            return _error(404, f"No such {kind}: '{object_id}'", code="resource_missing")
        return Reply(200, copy.deepcopy(row))

    def _expire(self, session_id: str) -> Reply:
        session = self.sessions.get(session_id)
        if session is None:
            return self._found(None, "checkout.session", session_id)
        if session["status"] != "open":
            return _error(400, "Only Checkout Sessions with a status in [open] can be expired.")
        session["status"] = "expired"
        session["url"] = None
        self._event("checkout.session.expired", session)
        return Reply(200, copy.deepcopy(session))

    # --- test hooks: what happens at Stripe ------------------------------------------------------

    def add_session(self, *, amount_total: int, currency: str = "usd", client_reference_id: str | None = None,
                    metadata: dict | None = None) -> str:
        """A session someone else opened on the same Stripe account (another product)."""
        with self.lock:
            reply = self._create_session({
                "mode": "payment", "success_url": "https://elsewhere.example/ok",
                "client_reference_id": client_reference_id, "metadata": metadata or {},
                "line_items": {"0": {"quantity": "1", "price_data": {"currency": currency,
                                                                     "unit_amount": str(amount_total)}}},
            }, None, "https://checkout.stripe.example")
        return reply.body["id"]

    def pay(self, session_id: str, *, delayed: bool = False) -> SignedEvent:
        """The customer pays: checkout.session.completed, paid (or unpaid for a delayed method)."""
        with self.lock:
            session = self.sessions[session_id]
            assert session["status"] == "open", f"{session_id} is {session['status']}"
            payment_intent = _id("pi")
            charge_id = _id("ch")
            session.update(status="complete", payment_status="unpaid" if delayed else "paid",
                           payment_intent=payment_intent, url=None)
            self.payment_intents[payment_intent] = {
                "id": payment_intent, "object": "payment_intent", "amount": session["amount_total"],
                "currency": session["currency"], "metadata": copy.deepcopy(self.intent_metadata.get(session_id, {})),
                "status": "processing" if delayed else "succeeded", "created": int(self.clock()),
            }
            self.charges[charge_id] = {
                "id": charge_id, "object": "charge", "amount": session["amount_total"], "amount_refunded": 0,
                "currency": session["currency"], "payment_intent": payment_intent, "refunded": False,
                "paid": True, "status": "pending" if delayed else "succeeded", "created": int(self.clock()),
            }
            return self._event("checkout.session.completed", session)

    def settle(self, session_id: str, *, succeeded: bool = True) -> SignedEvent:
        """The bank answers a delayed payment."""
        with self.lock:
            session = self.sessions[session_id]
            assert session["payment_status"] == "unpaid" and session["status"] == "complete"
            if succeeded:
                session["payment_status"] = "paid"
            charge = self._charge_of(session_id)
            charge["status"] = "succeeded" if succeeded else "failed"
            name = "async_payment_succeeded" if succeeded else "async_payment_failed"
            return self._event(f"checkout.session.{name}", session)

    def refund(self, session_id: str, *, amount: int | None = None) -> SignedEvent:
        """A refund (all that is left, or `amount` cents): charge.refunded, without the refunds
        list (current API versions leave it out of the charge)."""
        with self.lock:
            charge = self._charge_of(session_id)
            amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
            assert 0 < amount <= charge["amount"] - charge["amount_refunded"], "more than is left to refund"
            refund_id = _id("re")
            self.refunds[refund_id] = {
                "id": refund_id, "object": "refund", "amount": amount, "currency": charge["currency"],
                "charge": charge["id"], "payment_intent": charge["payment_intent"], "status": "succeeded",
                "created": int(self.clock()),
            }
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            return self._event("charge.refunded", charge)

    def dispute(self, session_id: str, *, amount: int | None = None) -> SignedEvent:
        """The customer disputes the payment with their bank: charge.dispute.created."""
        with self.lock:
            charge = self._charge_of(session_id)
            dispute = {
                "id": _id("du"), "object": "dispute", "amount": charge["amount"] if amount is None else amount,
                "currency": charge["currency"], "charge": charge["id"], "payment_intent": charge["payment_intent"],
                "reason": "fraudulent", "status": "needs_response", "created": int(self.clock()),
            }
            self.disputes[dispute["id"]] = dispute
            return self._event("charge.dispute.created", dispute)

    def close_dispute(self, dispute_id: str, *, status: str = "won") -> SignedEvent:
        """The bank decides: charge.dispute.closed with status won, lost or warning_closed (an
        inquiry that never became a chargeback)."""
        assert status in ("won", "lost", "warning_closed"), status
        with self.lock:
            dispute = self.disputes[dispute_id]
            assert dispute["status"] not in ("won", "lost", "warning_closed"), f"{dispute_id} is closed"
            dispute["status"] = status
            return self._event("charge.dispute.closed", dispute)

    def update_refund(self, refund_id: str, *, status: str = "failed") -> SignedEvent:
        """A refund changes status: charge.refund.updated. A failed or cancelled one gives its amount
        back to the charge (the customer never got it)."""
        with self.lock:
            refund = self.refunds[refund_id]
            if status in ("failed", "canceled") and refund["status"] not in ("failed", "canceled"):
                charge = self.charges[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            refund["status"] = status
            return self._event("charge.refund.updated", refund)

    def refund_ids(self, session_id: str) -> list[str]:
        """The ids of a session's refunds, oldest first."""
        with self.lock:
            charge = self._charge_of(session_id)
            return [r["id"] for r in self.refunds.values() if r["charge"] == charge["id"]]

    def session(self, session_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.sessions[session_id])

    def event(self, event_type: str, obj: dict, *, timestamp: int | None = None,
              secret: str | None = None) -> SignedEvent:
        """Any event, signed at `timestamp` (default now) with `secret` (default the fake's)."""
        with self.lock:
            return self._event(event_type, obj, timestamp=timestamp, secret=secret)

    def sign(self, payload: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
        stamp = int(self.clock()) if timestamp is None else timestamp
        digest = hmac.new((secret or self.webhook_secret).encode(), f"{stamp}.".encode() + payload,
                          hashlib.sha256).hexdigest()
        return f"t={stamp},v1={digest}"

    def _charge_of(self, session_id: str) -> dict:
        payment_intent = self.sessions[session_id]["payment_intent"]
        return next(c for c in self.charges.values() if c["payment_intent"] == payment_intent)

    def _event(self, event_type: str, obj: dict, *, timestamp: int | None = None,
               secret: str | None = None) -> SignedEvent:
        payload = json.dumps({
            "id": _id("evt"), "object": "event", "api_version": API_VERSION, "created": int(self.clock()),
            "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
            "type": event_type, "data": {"object": copy.deepcopy(obj)},
        }).encode()
        event = SignedEvent(event_type, payload, self.sign(payload, timestamp=timestamp, secret=secret))
        self.events.append(event)
        return event
