"""A client for a provider that speaks the SMS-Activate protocol (sms-activate-protocol.md §13).

It implements providers.base.Provider, plus what only this protocol has: many countries
(`countries()`, `prices()`, `rent(country=...)`), `finish()` (setStatus 6), and
`recover_lost_purchase()` for purchases whose answer never came. Every call has (connect, read)
timeouts; reads and setStatus 6/8 are retried, purchases never (transport.py); every answer is
read tolerantly (parsing.py) and mapped to our errors in one place (errors.py). The API key goes in
a POST form body and is scrubbed from every log line and message.

Choices the protocol leaves open:
* report(): the protocol has no "report"; giving the number back (setStatus 8) is the closest it
  has, so report() does that, with cancel()'s outcomes. The provider returns our money only while
  no code has arrived, exactly when our report refunds the customer.
* messages()/calls(): the protocol shows only the latest SMS or call. Each gets an id derived from
  the rental and its content, so polls store every distinct code once, in the order we saw them.
* quote(): getPrices prices SMS numbers; a voice quote is refused (unknown_service), while a voice
  purchase (activationType 2) is left to the provider to accept or refuse.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Callable, Iterable

from django.conf import settings
from django.utils import timezone

from providers.base import (
    Call, CountryInfo, CountryPrice, Health, ProviderError, ProviderRejected, Rental, RentalState, RentalStatus,
    ServiceOffer, Sms,
)
from providers.smsactivate import codes, errors, parsing
from providers.smsactivate.parsing import Answer, Number
from providers.smsactivate.transport import Transport

logger = logging.getLogger(__name__)

# The protocol's activations last about 15-20 minutes; when the answer does not say (getNumber's
# text form), polling sees STATUS_CANCEL if the provider ends it sooner.
DEFAULT_LIFETIME = timedelta(minutes=20)
RECOVERY_SLACK = timedelta(minutes=2)  # clocks differ: look this much either side of the window
ACTIVE_PAGE = 100  # getActiveActivations' largest page
MAX_ACTIVE_PAGES = 20
VOICE_ACTIVATION = 2
CANCELLED = frozenset({"ACCESS_CANCEL", "STATUS_CANCEL", "ACCESS_CANCEL_ALREADY"})
WAITING = {"STATUS_WAIT_CODE": RentalState.PENDING, "STATUS_WAIT_RESEND": RentalState.PENDING}
ENDED = {"STATUS_CANCEL": RentalState.CANCELLED, "STATUS_REVOKE": RentalState.REFUNDED}
WITH_CODE = frozenset({"STATUS_OK", "STATUS_WAIT_RETRY"})


@dataclass(frozen=True)
class Poll:
    state: str
    raw_state: str
    sms: Sms | None = None
    call: Call | None = None


@dataclass(frozen=True)
class Recovery:
    """What recover_lost_purchase() found: the number (None: nothing was bought), how, and whether
    it was given back upstream."""

    rental: Rental | None
    found_by: str = ""  # "order_id" | "active_activations" | ""
    given_back: bool = False


class SmsActivateClient:
    name = "smsactivate"

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, display_name: str | None = None,
                 connect_timeout: float | None = None, read_timeout: float | None = None,
                 max_retries: int | None = None, backoff_factor: float | None = None,
                 retry_after_cap: float | None = None, pool_size: int | None = None, send_order_id: bool | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], datetime] = timezone.now):
        def pick(value, setting, default=None):
            return value if value is not None else getattr(settings, setting, default)

        base_url = pick(base_url, "SMSACTIVATE_BASE_URL")
        if not base_url:
            raise ValueError("SMSACTIVATE_BASE_URL is not set")
        self.base_url = str(base_url).rstrip("/")
        self.display_name = str(pick(display_name, "SMSACTIVATE_NAME", "SMS-Activate"))
        self._send_order_id = bool(pick(send_order_id, "SMSACTIVATE_ORDER_ID", True))
        self._clock = clock
        self._transport = Transport(
            base_url=self.base_url, api_key=pick(api_key, "SMSACTIVATE_API_KEY"), provider=self.display_name,
            timeout=(float(pick(connect_timeout, "SMSACTIVATE_CONNECT_TIMEOUT", 5.0)),
                     float(pick(read_timeout, "SMSACTIVATE_READ_TIMEOUT", 30.0))),
            max_retries=int(pick(max_retries, "SMSACTIVATE_MAX_RETRIES", 3)),
            backoff_factor=float(pick(backoff_factor, "SMSACTIVATE_BACKOFF_FACTOR", 0.5)),
            retry_after_cap=float(pick(retry_after_cap, "SMSACTIVATE_RETRY_AFTER_CAP", 5.0)),
            pool_size=int(pick(pool_size, "SMSACTIVATE_POOL_SIZE", 32)), sleep=sleep,
        )
        # Learned from BAD_ACTION: a provider without the V2 actions is asked V1 from then on.
        self.v2_number = True
        self.v2_status = True

    # --- catalogue, account ---------------------------------------------------------------------

    def countries(self) -> list[CountryInfo]:
        """The countries the provider sells that are in §3.3's table (other ids are left out)."""
        answer = self._read("getCountries")
        if not isinstance(answer.data, (dict, list)) or answer.token:
            raise self._error(answer, "getCountries")
        return parsing.countries(answer.data)

    def prices(self, *, country: str | None = None, service: str | None = None) -> list[CountryPrice]:
        """Cost and stock per country and service, optionally narrowed to one country or service."""
        params = {}
        if country is not None:
            params["country"] = self._country_id(country)
        if service is not None:
            params["service"] = self._service_code(service)
        answer = self._read("getPrices", params)
        if not isinstance(answer.data, dict) or answer.token:
            raise self._error(answer, "getPrices")
        return parsing.prices(answer.data)

    def services(self) -> list[ServiceOffer]:
        """SMS services on sale in any country: the cheapest cost among countries with stock, and
        the stock summed over them. Named from getServicesList (our table when it is missing)."""
        names: dict[str, str] = {}
        listed = self._read("getServicesList")
        if isinstance(listed.data, (dict, list)) and not listed.token:
            names = parsing.services_list(listed.data)
        elif listed.token != "BAD_ACTION":
            raise self._error(listed, "getServicesList")
        by_code: dict[str, list[CountryPrice]] = {}
        for row in self.prices():
            by_code.setdefault(row.upstream_code, []).append(row)
        meanings = {code: meaning for code, meaning, _ in codes.SERVICES}
        offers = []
        for code in sorted(set(by_code) | set(names)):
            rows = by_code.get(code, [])
            stocked = [r for r in rows if r.count > 0] or rows
            offers.append(ServiceOffer(name=codes.slug_for(code), capability="sms",
                                       description=names.get(code) or meanings.get(code, code),
                                       cost=min((r.cost for r in stocked), default=None),
                                       stock=sum(r.count for r in rows)))
        return offers

    def quote(self, *, service: str, capability: str, country: str | None = None) -> Decimal:
        """The cost of one SMS number: in `country`, or the cheapest country with stock. Raises
        ProviderRejected(unknown_service) when it is not sold (or for voice, which has no price table)."""
        if capability != "sms":
            raise ProviderRejected(f"{self.display_name} publishes prices for SMS numbers only.",
                                   code="unknown_service")
        rows = self.prices(country=country, service=service)
        if country is not None:
            rows = [r for r in rows if r.country == country.strip().upper()]
        if not rows:
            raise ProviderRejected(f"{self.display_name} does not sell {service} there.", code="unknown_service")
        stocked = [r for r in rows if r.count > 0] or rows
        return min(r.cost for r in stocked)

    def balance(self) -> Decimal:
        """Our balance at the provider, in its currency."""
        answer = self._read("getBalance")
        amount = None
        if answer.token in ("ACCESS_BALANCE", "ACCESS_BALANCE_AND_CASHBACK"):
            amount = parsing.decimal(answer.values(2)[0] if answer.rest else None)
        elif answer.token is None and isinstance(answer.data, dict):
            amount = parsing.decimal(parsing.ci(answer.data, "balance"))
        if amount is None:
            raise self._error(answer, "getBalance")
        return amount

    def health(self) -> Health:
        """One cheap probe (getBalance); never raises."""
        started = time.perf_counter()
        try:
            self.balance()
        except ProviderError as exc:
            return Health(ok=False, latency_ms=_ms(started), checked_at=timezone.now(), detail=exc.code)
        return Health(ok=True, latency_ms=_ms(started), checked_at=timezone.now())

    # --- purchase ---------------------------------------------------------------------------------

    def rent(self, *, service: str, capability: str, max_price: Decimal, idempotency_key: str,
             country: str) -> Rental:
        """Buy a number in `country` (ISO alpha-2) for at most max_price, with orderId = the key.

        Raises ProviderRejected (nothing was bought), or ProviderUnavailable: code "lost_answer"
        when the purchase may have happened without us hearing of it (timeout, broken connection,
        5xx, ERROR_SQL, an unreadable answer) — then recover_lost_purchase() finds it.
        """
        return self._rental(self._buy(**self._purchase(service=service, capability=capability, max_price=max_price,
                                                       idempotency_key=idempotency_key, country=country)))

    def _purchase(self, *, service: str, capability: str, max_price: Decimal, idempotency_key: str,
                  country: str) -> dict:
        key = (idempotency_key or "").strip()
        if not 1 <= len(key) <= 255:
            raise ValueError("rent() needs an idempotency key of 1-255 characters")
        if capability not in ("sms", "voice"):
            raise ProviderRejected(f"{self.display_name} sells SMS and voice numbers only.", code="unknown_service")
        if max_price is None or Decimal(max_price) < 0:
            raise ValueError("rent() needs a max_price of 0 or more")
        params = {"service": self._service_code(service), "country": self._country_id(country),
                  # Rounded down: the provider must never charge more than our cap.
                  "maxPrice": format(Decimal(max_price).quantize(Decimal("0.01"), rounding=ROUND_DOWN), "f")}
        if self._send_order_id:
            params["orderId"] = key
        if capability == "voice":
            params["activationType"] = VOICE_ACTIVATION
        return params

    def _buy(self, **params) -> Number:
        if self.v2_number:
            answer = self._send("getNumberV2", params, safe=False, purchase=True)
            if answer.token != "BAD_ACTION":
                return self._bought(answer, "getNumberV2")
            # BAD_ACTION: the action is unknown there and nothing was bought; V1 from now on.
            logger.info("%s has no getNumberV2: using getNumber", self.display_name)
            self.v2_number = False
        return self._bought(self._send("getNumber", params, safe=False, purchase=True), "getNumber")

    def _bought(self, answer: Answer, operation: str) -> Number:
        number = parsing.number(answer) if answer.status < 400 else None
        if number is None:
            raise self._error(answer, operation, purchase=True)
        return number

    def _rental(self, number: Number) -> Rental:
        return Rental(reference=number.reference, phone_number=number.phone_number,
                      expires_at=number.expires_at or self._clock() + DEFAULT_LIFETIME, cost=number.cost)

    # --- reads --------------------------------------------------------------------------------------

    def status(self, reference: str) -> RentalStatus:
        poll = self._poll(reference)
        pending = poll.state == RentalState.PENDING
        # The protocol does not say when a cancel becomes allowed: cancel() reports a refusal.
        return RentalStatus(reference=reference, state=poll.state, raw_state=poll.raw_state, can_cancel=pending,
                            can_report=pending, expires_at=None)

    def messages(self, reference: str) -> list[Sms]:
        """The latest SMS of this activation (the only one the protocol shows), or none."""
        sms = self._poll(reference).sms
        return [sms] if sms else []

    def calls(self, reference: str) -> list[Call]:
        """The latest call of this voice activation, or none."""
        call = self._poll(reference, voice=True).call
        return [call] if call else []

    def _poll(self, reference: str, *, voice: bool = False) -> Poll:
        params = {"id": reference}
        if self.v2_status:
            answer = self._read("getStatusV2", params)
            if answer.token != "BAD_ACTION":
                if answer.token is None:
                    return self._poll_v2(reference, answer)
                return self._poll_v1(reference, answer, voice, operation="getStatusV2")
            logger.info("%s has no getStatusV2: using getStatus", self.display_name)
            self.v2_status = False
        return self._poll_v1(reference, self._read("getStatus", params), voice, operation="getStatus")

    def _poll_v2(self, reference: str, answer: Answer) -> Poll:
        data = answer.data
        if not isinstance(data, dict) or not {"sms", "call", "verificationtype"} & {str(k).lower() for k in data}:
            raise self._error(answer, "getStatusV2")
        seen = self._clock()
        sms = parsing.sms_v2(reference, parsing.ci(data, "sms"), seen_at=seen)
        call = parsing.call_v2(reference, parsing.ci(data, "call"), seen_at=seen)
        if sms or call:
            return Poll(state=RentalState.COMPLETED, raw_state="STATUS_OK", sms=sms, call=call)
        return Poll(state=RentalState.PENDING, raw_state="STATUS_WAIT_CODE")

    def _poll_v1(self, reference: str, answer: Answer, voice: bool, *, operation: str) -> Poll:
        token = answer.token or ""
        if token in WAITING:
            return Poll(state=WAITING[token], raw_state=token)
        if token in ENDED:
            return Poll(state=ENDED[token], raw_state=token)
        if token in WITH_CODE:
            seen = self._clock()
            if voice:
                return Poll(state=RentalState.COMPLETED, raw_state=token,
                            call=parsing.call_v1(reference, answer.rest, seen_at=seen))
            return Poll(state=RentalState.COMPLETED, raw_state=token,
                        sms=parsing.sms_v1(reference, answer.rest, seen_at=seen))
        raise self._error(answer, operation)

    # --- actions -------------------------------------------------------------------------------------

    def cancel(self, reference: str) -> None:
        """Give the number back (setStatus 8). A repeat is a no-op. Raises ProviderRejected(not_allowed)
        when the provider refuses: too early (EARLY_CANCEL_DENIED), or a code has arrived."""
        answer = self._send("setStatus", {"id": reference, "status": 8}, safe=True)
        if answer.token in CANCELLED:
            return
        if answer.token == "EARLY_CANCEL_DENIED":
            raise ProviderRejected(f"{self.display_name} does not allow a cancel in the first minutes after the "
                                   "purchase; try again in about 2 minutes.", code="not_allowed")
        if answer.token in ("BAD_STATUS", "ACCESS_READY", "ACCESS_ACTIVATION", "OTP_RECEIVED"):
            raise ProviderRejected(f"{self.display_name} refused the cancel ({answer.token}): a code has arrived or "
                                   "the activation is closed.", code="not_allowed")
        raise self._error(answer, "setStatus")

    def report(self, reference: str) -> None:
        """The protocol has no report: the number is given back as by cancel(), with its outcomes."""
        self.cancel(reference)

    def finish(self, reference: str) -> None:
        """Close the activation once we have its code (setStatus 6), so it stops counting against our
        open limit there. A repeat is a no-op. Raises ProviderRejected(not_allowed) if nothing arrived."""
        answer = self._send("setStatus", {"id": reference, "status": 6}, safe=True)
        if answer.token == "ACCESS_ACTIVATION":
            return
        if answer.token == "BAD_STATUS":
            raise ProviderRejected(f"{self.display_name} refused to finish: no code has arrived, or the activation "
                                   "was given back.", code="not_allowed")
        raise self._error(answer, "setStatus")

    # --- lost answers ---------------------------------------------------------------------------------

    def active_activations(self) -> list[Number]:
        """Every activation open at the provider, newest first as it lists them (all pages)."""
        found: list[Number] = []
        for page in range(MAX_ACTIVE_PAGES):
            answer = self._read("getActiveActivations", {"start": page * ACTIVE_PAGE, "limit": ACTIVE_PAGE})
            if answer.token == "NO_ACTIVATIONS":
                return found
            if answer.token or not isinstance(answer.data, (dict, list)):
                raise self._error(answer, "getActiveActivations")
            rows = parsing.active_activations(answer.data)
            found.extend(rows)
            if len(rows) < ACTIVE_PAGE:
                return found
        logger.warning("%s getActiveActivations: stopped after %s pages", self.display_name, MAX_ACTIVE_PAGES)
        return found

    def recover_lost_purchase(self, *, idempotency_key: str, service: str, country: str, since: datetime,
                              max_price: Decimal, capability: str = "sms", until: datetime | None = None,
                              exclude: Iterable[str] = (), give_back: bool = False) -> Recovery:
        """Find the number a purchase with a lost answer may have bought (§13, "Lost answers").

        With orderId: the purchase is repeated with the same orderId, which gives back the same
        activation (or ORDER_ALREADY_EXISTS). Then, or without orderId, getActiveActivations is
        searched for an activation of that service and country bought between `since` and `until`
        that is not in `exclude` (the references our verifications hold). With give_back the number
        found is given back at once (setStatus 8); else it is returned for adoption.

        Raises ProviderUnavailable when the provider cannot tell now (try again later), and
        ProviderRejected(not_allowed) when giving back is refused for now (EARLY_CANCEL_DENIED).
        """
        params = self._purchase(service=service, capability=capability, max_price=max_price,
                                idempotency_key=idempotency_key, country=country)
        rental, found_by = None, ""
        if self._send_order_id:
            try:
                rental, found_by = self._rental(self._buy(**params)), "order_id"
            except ProviderRejected as exc:
                # ORDER_ALREADY_EXISTS: bought under this orderId, but not answered again; any other
                # "no" (no numbers now...): nothing known under it. Either way, look at the list.
                logger.info("%s: repeating orderId %s answered %s", self.display_name, idempotency_key, exc.code)
        if rental is None:
            rental = self._find_active(service=params["service"], country=params["country"], since=since,
                                       until=until or self._clock(), exclude=set(exclude))
            found_by = "active_activations" if rental else ""
        if rental is not None and give_back:
            self.cancel(rental.reference)
            return Recovery(rental=rental, found_by=found_by, given_back=True)
        return Recovery(rental=rental, found_by=found_by)

    def _find_active(self, *, service: str, country: int, since: datetime, until: datetime,
                     exclude: set[str]) -> Rental | None:
        lo, hi = since - RECOVERY_SLACK, until + RECOVERY_SLACK
        matches = [
            n for n in self.active_activations()
            if n.reference not in exclude and n.service == service and n.country in ("", str(country))
            and n.bought_at is not None and lo <= n.bought_at <= hi
        ]
        if not matches:
            return None
        # The earliest in the window: a later one is likelier to be another purchase of ours.
        return self._rental(min(matches, key=lambda n: (n.bought_at, n.reference)))

    # --- plumbing -------------------------------------------------------------------------------------

    def _read(self, action: str, params: dict | None = None) -> Answer:
        return self._send(action, params, safe=True)

    def _send(self, action: str, params: dict | None, *, safe: bool, purchase: bool = False) -> Answer:
        answer, _ = self._transport.call(action, params, safe=safe, purchase=purchase)
        return answer

    def _error(self, answer: Answer, operation: str, *, purchase: bool = False) -> ProviderError:
        return errors.for_answer(answer, provider=self.display_name, operation=operation,
                                 redact=self._transport.redact, purchase=purchase)

    def _country_id(self, country: str) -> int:
        number = codes.country_id(country)
        if number is None:
            raise ProviderRejected(f"{self.display_name}: no protocol id is known for country {country!r}.",
                                   code="unknown_country")
        return number

    def _service_code(self, service: str) -> str:
        code = codes.upstream_code(service)
        if code is None:
            raise ProviderRejected(f"{self.display_name}: no protocol code is known for service {service!r}.",
                                   code="unknown_service")
        return code


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
