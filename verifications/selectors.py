"""Reads with rules in them: prices and what a user may see."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.money import money_str
from verifications import routing
from verifications.models import Capability, Country, Message, PricingSettings, Service, Verification, VoiceCall

Status = Verification.Status


def price(*, service: Service, country: Country | None, capability: str, voice_premium: Decimal | None = None) -> Decimal:
    """What the customer pays: the service's tier price, plus the voice premium for voice, and in a
    country never less than the serving provider's cost there plus MIN_MARGIN (verifications.routing).

    The one pricing function: the API quote, the dashboard and the purchase all call it (or the plan
    it reads), so the price shown is the price charged. Without a country: the tier price, the
    lowest any country can charge.
    """
    if country is not None:
        return routing.plan_for(service=service, country=country, capability=capability).price
    amount = service.tier.sms_price
    if capability == Capability.VOICE:
        amount += PricingSettings.current().voice_premium if voice_premium is None else voice_premium
    return amount


def verifications_for(*, user, status: str | None = None, service: str | None = None):
    rows = Verification.objects.filter(user=user).select_related("service", "country").order_by("-created_at")
    if status:
        rows = rows.filter(status=status)
    if service:
        rows = rows.filter(service__slug=service)
    return rows


def service_catalogue(*, country: Country | None = None) -> list[dict]:
    """Enabled services with their tier and price per capability (None where not offered). With a
    country: that country's prices, None where no provider sells it there now."""
    premium = PricingSettings.current().voice_premium
    book = routing.Book(country=country) if country is not None else None
    rows = []
    for service in Service.objects.filter(enabled=True).select_related("tier").order_by("tier__order", "name"):
        prices = {}
        for capability in (Capability.SMS, Capability.VOICE):
            if not service.supports(capability):
                prices[capability.value] = None
            elif book is not None:
                plan = book.plan(service=service, country=country, capability=capability)
                prices[capability.value] = money_str(plan.price) if plan.available else None
            else:
                prices[capability.value] = money_str(price(service=service, country=None, capability=capability,
                                                           voice_premium=premium))
        rows.append({
            "slug": service.slug, "name": service.name, "tier": service.tier.name,
            "capabilities": [c for c, ok in (("sms", service.supports_sms), ("voice", service.supports_voice)) if ok],
            "prices": prices,
        })
    return rows


def price_map(*, book: routing.Book | None = None) -> dict[str, dict[str, list]]:
    """{country code: {service slug: [SMS price, voice price]}} for every enabled country, as strings,
    None where it cannot be bought now: the dashboard's per-country prices, one Book for all."""
    book = book or routing.Book()
    services = list(Service.objects.filter(enabled=True).select_related("tier"))
    table: dict[str, dict[str, list]] = {}
    for country in Country.objects.filter(enabled=True):
        row = table.setdefault(country.code, {})
        for service in services:
            cells = []
            for capability in (Capability.SMS, Capability.VOICE):
                plan = book.plan(service=service, country=country, capability=capability) \
                    if service.supports(capability) else None
                cells.append(money_str(plan.price) if plan is not None and plan.available else None)
            if any(cells):
                row[service.slug] = cells
    return table


def country_catalogue(*, book: routing.Book | None = None) -> list[dict]:
    """Enabled countries with the providers that serve them, in order; a country served by the
    development mock says so (`simulated`). `available`: some provider this deployment may use sells
    numbers there (an open circuit pauses purchases, it does not hide the country)."""
    book = book or routing.Book()
    rows = []
    for country in Country.objects.filter(enabled=True):
        names = [name for name in book.order(country) if book.sells(name, country)]
        provider = names[0] if names else country.provider
        rows.append({"code": country.code, "name": country.name, "dialling_code": country.dialling_code,
                     "flag": country.flag, "provider": provider, "providers": names, "available": bool(names),
                     "simulated": provider == "mock"})
    return rows


def latest_code(entries) -> str | None:
    """The code of the latest (received_at, id, code) entry that has one, or None. The one rule for
    "the code" shown by the API, the polling read and the dashboard."""
    coded = [entry for entry in entries if entry[2]]
    return max(coded)[2] if coded else None


def newest_code(items) -> str | None:
    """latest_code() of fetched messages or calls. Works on rows already loaded, so the dashboard
    cards spend no query on it."""
    return latest_code((item.received_at, item.pk, item.code) for item in items)


@dataclass
class StaffActionStep:
    """What a staff bulk action will do to one verification: act or skip (and why), and the refund."""

    verification: Verification
    acts: bool
    refund: Decimal | None
    note: str


def staff_action_plan(*, verifications: list[Verification], action: str) -> list[StaffActionStep]:
    """Predict `refund` (services.staff_refund) or `cancel` (services.staff_cancel) for each row, by
    the rules those services apply; four queries whatever the number of rows. The services decide
    again when they run, so a row that changed meanwhile is reported then, never double-refunded."""
    from accounts.models import LedgerEntry

    pks = [v.pk for v in verifications]
    entries = LedgerEntry.objects.filter(verification_id__in=pks, kind__in=[LedgerEntry.Kind.CHARGE,
                                                                             LedgerEntry.Kind.REFUND])
    charged, refunded = {}, set()
    for verification_id, kind, amount in entries.values_list("verification_id", "kind", "amount"):
        if kind == LedgerEntry.Kind.CHARGE:
            charged[verification_id] = -amount
        else:
            refunded.add(verification_id)
    coded = {*Message.objects.filter(verification_id__in=pks).exclude(code="").values_list("verification_id", flat=True),
             *VoiceCall.objects.filter(verification_id__in=pks).exclude(code="").values_list("verification_id", flat=True)}
    steps = []
    for v in verifications:
        amount = charged.get(v.pk) if v.pk not in refunded else None
        if action == "refund":
            if v.pk in refunded:
                steps.append(StaffActionStep(v, False, None, "already refunded"))
            elif v.pk not in charged:
                steps.append(StaffActionStep(v, False, None, "never charged: nothing to refund"))
            else:
                note = "refunded; pending, so also cancelled and its number given back" if v.status == Status.PENDING \
                    else f"refunded; stays {v.status}"
                steps.append(StaffActionStep(v, True, amount, note))
        elif v.status != Status.PENDING:
            steps.append(StaffActionStep(v, False, None, f"already {v.status}"))
        elif v.pk in coded:
            steps.append(StaffActionStep(v, False, None, "a code has arrived (refund it instead if you must)"))
        elif not v.provider_ref:
            steps.append(StaffActionStep(v, False, None, "the number is still being rented"))
        else:
            note = "cancelled upstream, then refunded" if amount is not None else "cancelled; nothing to refund"
            steps.append(StaffActionStep(v, True, amount, note))
    return steps
