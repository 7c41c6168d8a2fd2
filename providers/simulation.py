"""The simulated upstream's rules, shared by the mock backend and the fake TextVerified server.

Everything here is pure and deterministic: given a rental's facts (service, capability, creation
time, SMS delay, lifetime, when it was cancelled or reported) and "now", it says which state the
rental is in and which messages have arrived. The mock backend keeps those facts in the reference
and the Django cache; the fake server keeps them in memory. One set of rules keeps them in step.

Scenarios by service name (TextVerified's test mode, plus our own):
  test_success            code 123456 at once
  test_delayed_success    a code after 30 s
  test_pending            never receives anything
  test_timeout            already expired
  test_html_sms           an SMS whose text is hostile HTML (code 424242)
  test_two_codes          two SMS with different codes, the second 20 s after the first
  test_no_numbers, test_insufficient_balance, test_too_many_unfinished_verifications
                          refused at purchase (ProviderRejected / HTTP 400)
  test_unavailable        the upstream is down at purchase (ProviderUnavailable / HTTP 503)
Any other service gets a code `sms_delay` seconds after purchase.

Numbers are fictional and in the rental's country's own format (NUMBER_PLANS); the fake TextVerified
server, like TextVerified, sells US numbers only.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from providers.base import RentalState

TEST_PRICE = Decimal("0.75")  # TextVerified's test mode price: a lower maxPrice gets PricingFailure
DEFAULT_SMS_PRICE = Decimal("0.50")
# Real TextVerified charges about 2.50 for voice, and so does the fake TextVerified (its own
# voice_price). The mock backend charges less so that development purchases of voice numbers
# succeed under our cheapest voice price.
VOICE_PRICE = Decimal("1.00")
DELAYED_SUCCESS_AFTER = 30
SECOND_CODE_AFTER = 20
HTML_SMS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> Your code is 424242'

# serviceName -> (display name, SMS price, or None where the upstream sells voice only). Prices from
# TextVerified's public catalogue (see /work/shared/textverified-api.md §12), 0.50 where unknown.
CATALOGUE: dict[str, tuple[str, Decimal | None]] = {
    name: (display, None if price is None else Decimal(price))
    for name, display, price in [
        ("whatsapp", "WhatsApp", "1.50"), ("googlevoice", "Google Voice", "1.00"), ("icloud", "iCloud", "1.00"),
        ("apple", "Apple", "0.50"), ("spotify", "Spotify", "1.00"), ("coinbase", "Coinbase", "0.50"),
        ("cashapp", "Cash App", "0.50"), ("paypal", "PayPal", None), ("venmo", "Venmo", None),
        ("google", "Google", "0.75"), ("gmail", "Gmail", "0.75"), ("youtube", "YouTube", "0.75"),
        ("telegram", "Telegram", "0.75"), ("tiktok", "TikTok", "0.75"), ("amazon", "Amazon", "0.75"),
        ("netflix", "Netflix", "0.75"), ("microsoft", "Microsoft", "0.60"), ("hotmail", "Hotmail", "0.60"),
        ("skype", "Skype", "0.60"), ("facebook", "Facebook", None), ("snapchat", "Snapchat", None),
        ("discord", "Discord", "0.50"), ("instagram", "Instagram", "0.50"), ("yahoo", "Yahoo", "0.50"),
        ("tinder", "Tinder", "0.50"), ("uber", "Uber", "0.50"), ("linkedin", "LinkedIn", "0.50"),
        ("twitter", "Twitter", "0.50"), ("x", "X", "0.50"), ("ebay", "eBay", "0.50"),
        ("doordash", "DoorDash", "0.35"), ("openai", "OpenAI", "0.25"), ("claude", "Claude", "0.25"),
        ("airbnb", "Airbnb", "0.25"), ("craigslist", "Craigslist", "0.25"), ("roblox", "Roblox", "0.25"),
        ("viber", "Viber", "0.25"), ("hinge", "Hinge", "0.25"), ("kakaotalk", "KakaoTalk", "0.20"),
        ("grindr", "Grindr", "0.15"), ("signal", "Signal", "0.50"), ("lyft", "Lyft", "0.50"),
        ("bumble", "Bumble", "0.50"), ("reddit", "Reddit", "0.50"), ("steam", "Steam", "0.50"),
        ("twitch", "Twitch", "0.50"), ("servicenotlisted", "Service not listed", "0.50"),
    ]
}

# serviceName -> (our ProviderRejected code, TextVerified errorCode, message)
REFUSALS = {
    "test_no_numbers": ("no_numbers", "Unavailable", "No numbers are available for this service right now."),
    "test_insufficient_balance": ("insufficient_upstream_balance", "InsufficientBalance",
                                  "The upstream account balance is too low."),
    "test_too_many_unfinished_verifications": ("too_many_unfinished", "TooManyUnfinishedVerifications",
                                               "Too many unfinished verifications."),
}
OUTAGES = {"test_unavailable"}
SUCCESS_SCENARIOS = {"test_success", "test_delayed_success", "test_pending", "test_timeout", "test_html_sms",
                     "test_two_codes"}
SCENARIOS = tuple(sorted(SUCCESS_SCENARIOS | set(REFUSALS) | OUTAGES))
CAPABILITIES = ("sms", "voice")

UPSTREAM_STATES = {
    RentalState.PENDING: "verificationPending",
    RentalState.COMPLETED: "verificationCompleted",
    RentalState.CANCELLED: "verificationCanceled",
    RentalState.EXPIRED: "verificationTimedOut",
    RentalState.REPORTED: "verificationReported",
}

_AREA_CODES = ("201", "212", "305", "312", "415", "512", "617", "702", "206", "303", "404", "713")
_CANADIAN_AREA_CODES = ("416", "604", "514", "403", "613", "780", "902", "204")


@dataclass(frozen=True)
class NumberPlan:
    """Fictional numbers of one country: +<dialling code><one of the prefixes><`digits` from the seed>."""

    dialling_code: str
    prefixes: tuple[str, ...]
    digits: int


# Ranges the regulators keep out of service for films and books where one exists; elsewhere a
# correctly shaped mobile number (prefix, national length) whose run of zeros marks it as made up.
# Nothing is ever sent to these numbers: they are only shown.
NUMBER_PLANS = {
    "US": NumberPlan("1", tuple(f"{area}55501" for area in _AREA_CODES), 2),  # 555-0100..0199 (NANPA)
    "CA": NumberPlan("1", tuple(f"{area}55501" for area in _CANADIAN_AREA_CODES), 2),  # the same in Canada
    "GB": NumberPlan("44", ("7700900",), 3),  # Ofcom's drama range for mobiles, 07700 900000-900999
    "DE": NumberPlan("49", ("3023125",), 3),  # Bundesnetzagentur drama numbers, Berlin (0)30 23125 000-999
    "AU": NumberPlan("61", ("25550", "35550", "75550", "85550"), 4),  # ACMA's fictitious (0x) 5550 xxxx
    "FR": NumberPlan("33", ("60000",), 4),  # 06 00 00 xx xx
    "NL": NumberPlan("31", ("60000",), 4),  # 06-0000 xxxx
    "ES": NumberPlan("34", ("60000",), 4),  # 600 00x xxx
    "PL": NumberPlan("48", ("50000",), 4),  # 500 00x xxx
    "IN": NumberPlan("91", ("900000",), 4),  # 90000 0xxxx
    "BR": NumberPlan("55", ("1190000",), 4),  # (11) 90000-xxxx
    "MX": NumberPlan("52", ("550000",), 4),  # 55 0000 xxxx
}
_TEMPLATES = (
    "{name}: your verification code is {code}. Don't share it with anyone.",
    "Your {name} code is {code}. It expires in 10 minutes.",
    "{code} is your {name} verification code.",
)


class Refused(Exception):
    """The simulated upstream says no; `code` is ours, `upstream_code` TextVerified's errorCode."""

    def __init__(self, message: str, *, code: str, upstream_code: str | None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.upstream_code = upstream_code


def number_plan(country: str) -> NumberPlan:
    """The fictional numbering of an ISO country code; Refused(unsupported_country) for one we have none for."""
    plan = NUMBER_PLANS.get((country or "").upper())
    if plan is None:
        raise Refused(f"The simulation has no numbers for the country {country!r}.", code="unsupported_country",
                      upstream_code=None)
    return plan


class Outage(Exception):
    """The simulated upstream is down."""


@dataclass(frozen=True)
class Message:
    """An SMS, or for voice rentals a call: then `text` is empty (upstreams send a recording and no
    transcript), `recording` names the file it says the code in, and `code` is what that file says."""

    id: str
    sender: str
    text: str
    code: str | None
    at: datetime
    recording: str = ""


# Real recordings of IVR calls saying a code (made by bench/voice/make_mock_recordings.py with a
# Debian TTS voice, through the telephone band): the mock and the fake TextVerified hand these over,
# so a simulated call goes through the same download, storage and transcription as a real one.
RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "voice" / "mock_recordings"


@dataclass(frozen=True)
class RecordingFile:
    file: str
    code: str
    content_type: str
    seconds: float

    @property
    def path(self) -> Path:
        return RECORDINGS_DIR / self.file


@lru_cache(maxsize=1)
def recordings() -> tuple[RecordingFile, ...]:
    manifest = json.loads((RECORDINGS_DIR / "manifest.json").read_text())
    return tuple(RecordingFile(file=r["file"], code=r["code"], content_type=r["content_type"],
                                       seconds=float(r["seconds"]))
                 for r in manifest["recordings"])


def recording_for(*, seed: str, index: int = 0) -> RecordingFile:
    files = recordings()
    return files[digest("recording", seed, index) % len(files)]


def recording_named(name: str) -> RecordingFile | None:
    return next((r for r in recordings() if r.file == name), None)


@dataclass(frozen=True)
class Facts:
    reference: str
    service: str
    capability: str
    created_at: datetime
    sms_delay: float | None  # None: only messages delivered by hand ever arrive
    lifetime: float
    cancelled_at: datetime | None = None
    reported_at: datetime | None = None
    delivered: tuple[Message, ...] = ()
    country: str = "US"  # the fake TextVerified, like the real one, sells US numbers only

    @property
    def ends_at(self) -> datetime:
        if self.service == "test_timeout":
            return self.created_at
        return self.created_at + timedelta(seconds=self.lifetime)

    @property
    def number(self) -> str:
        return phone_number(seed=self.reference, country=self.country)


@dataclass(frozen=True)
class View:
    state: str  # a RentalState value
    upstream_state: str  # TextVerified's spelling
    sms: tuple[Message, ...]
    calls: tuple[Message, ...]
    can_cancel: bool
    can_report: bool
    ends_at: datetime


def digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) for the given parts (failure injection, sampling)."""
    return digest(*parts) / 2**64


def code(*, seed: str, index: int = 0) -> str:
    return str(100000 + digest("code", seed, index) % 900000)


def phone_number(*, seed: str, country: str = "US") -> str:
    """A fictional number of the country (NUMBER_PLANS), in E.164. Raises Refused for a country without a plan."""
    plan = number_plan(country)
    value = digest("number", seed)
    rest = value // 97 % 10**plan.digits
    return f"+{plan.dialling_code}{plan.prefixes[value % len(plan.prefixes)]}{rest:0{plan.digits}d}"


def display_name(service: str) -> str:
    known = CATALOGUE.get(service)
    return known[0] if known else service.replace("_", " ").title()


def sms_text(*, service: str, code: str) -> str:
    if service in ("google", "gmail", "youtube"):
        return f"G-{code} is your Google verification code."
    template = _TEMPLATES[digest("template", service) % len(_TEMPLATES)]
    return template.format(name=display_name(service), code=code)


def price(*, service: str, capability: str, strict: bool, voice_price: Decimal = VOICE_PRICE) -> Decimal:
    """What the simulated upstream charges (voice: `voice_price`; the fake TextVerified charges the
    real upstream's). Raises Refused for unsupported combinations (and, when strict, for service
    names it does not know)."""
    if capability not in CAPABILITIES:
        raise Refused(f"Unsupported capability {capability!r}.", code="invalid_request", upstream_code=None)
    if service in SCENARIOS:
        return TEST_PRICE
    known = CATALOGUE.get(service)
    if known is None:
        if strict:
            raise Refused(f"Unknown service {service!r}.", code="unknown_service", upstream_code=None)
        return voice_price if capability == "voice" else DEFAULT_SMS_PRICE
    if capability == "voice":
        return voice_price
    if known[1] is None:
        raise Refused(f"{known[0]} is not offered with SMS.", code="unknown_service", upstream_code=None)
    return known[1]


def check_purchase(*, service: str, capability: str, max_price: Decimal | None, strict: bool,
                   voice_price: Decimal = VOICE_PRICE) -> Decimal:
    """The price a purchase will cost; raises Outage or Refused like the upstream would."""
    if service in OUTAGES:
        raise Outage("The upstream is unavailable.")
    if service in REFUSALS:
        ours, upstream, message = REFUSALS[service]
        raise Refused(message, code=ours, upstream_code=upstream)
    cost = price(service=service, capability=capability, strict=strict, voice_price=voice_price)
    if max_price is not None and cost > max_price:
        raise Refused(f"The current price {cost} is above the maximum price {max_price}.",
                      code="price_above_cap", upstream_code="PricingFailure")
    return cost


def offers() -> list[tuple[str, str, str]]:
    """(serviceName, capability, display name) for every listed service; test names are unlisted."""
    rows = []
    for name, (display, sms_price) in CATALOGUE.items():
        if sms_price is not None:
            rows.append((name, "sms", display))
        rows.append((name, "voice", display))
    return rows


def scheduled(facts: Facts) -> list[Message]:
    """The messages the scenario will deliver, whether or not their time has come."""
    service, ref = facts.service, facts.reference
    if service in ("test_pending", "test_timeout"):
        return []
    if service == "test_success":
        plan = [(0.0, "123456")]
    elif service == "test_delayed_success":
        plan = [(float(DELAYED_SUCCESS_AFTER), code(seed=ref))]
    elif facts.sms_delay is None:
        return []
    elif service == "test_html_sms":
        plan = [(facts.sms_delay, "424242")]
    elif service == "test_two_codes":
        plan = [(facts.sms_delay, code(seed=ref)), (facts.sms_delay + SECOND_CODE_AFTER, code(seed=ref, index=1))]
    else:
        plan = [(facts.sms_delay, code(seed=ref))]
    voice = facts.capability == "voice"
    messages = []
    for index, (offset, value) in enumerate(plan):
        recording = ""
        if voice:
            # A call says the code of the recording it comes with.
            chosen = recording_for(seed=ref, index=index)
            text, value, recording = "", chosen.code, chosen.file
            sender = phone_number(seed=f"caller|{service}")
        elif service == "test_html_sms":
            text, sender = HTML_SMS, "22395"
        else:
            text, sender = sms_text(service=service, code=value), str(20000 + digest("sender", service) % 80000)
        at = facts.created_at + timedelta(seconds=offset)
        messages.append(Message(id=f"{ref}.{index}", sender=sender, text=text, code=value, at=at, recording=recording))
    return messages


def view(facts: Facts, *, now: datetime) -> View:
    """The rental as the upstream sees it at `now`."""
    ends_at = facts.ends_at
    # Nothing arrives once the number is given back (cancelled, reported or expired).
    cutoff = min(t for t in (facts.cancelled_at, facts.reported_at, ends_at) if t is not None)
    arrived = tuple(sorted(
        (m for m in [*scheduled(facts), *facts.delivered] if m.at <= now and m.at < cutoff),
        key=lambda m: (m.at, m.id),
    ))
    if facts.cancelled_at is not None and facts.cancelled_at <= now:
        state = RentalState.CANCELLED
    elif facts.reported_at is not None and facts.reported_at <= now:
        state = RentalState.REPORTED
    elif arrived:
        state = RentalState.COMPLETED
    elif now >= ends_at:
        state = RentalState.EXPIRED
    else:
        state = RentalState.PENDING
    voice = facts.capability == "voice"
    return View(
        state=state,
        upstream_state=UPSTREAM_STATES[state],
        sms=() if voice else arrived,
        calls=arrived if voice else (),
        can_cancel=state == RentalState.PENDING,
        can_report=state in (RentalState.PENDING, RentalState.COMPLETED) and now < ends_at,
        ends_at=ends_at,
    )
