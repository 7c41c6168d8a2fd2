"""Reads with rules in them: prices and what a user may see."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.money import money_str
from verifications.models import Capability, Country, Message, PricingSettings, Service, Verification, VoiceCall

Status = Verification.Status


def price(*, service: Service, country: Country | None, capability: str, voice_premium: Decimal | None = None) -> Decimal:
    """What the customer pays: the service's tier price, plus the voice premium for voice.

    The one pricing function: the API quote, the dashboard and the purchase all call it, so the
    price shown is the price charged. (Country does not change the price yet.)
    """
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


def service_catalogue() -> list[dict]:
    """Enabled services with their tier and price per capability (None where not offered)."""
    premium = PricingSettings.current().voice_premium
    rows = []
    for service in Service.objects.filter(enabled=True).select_related("tier").order_by("tier__order", "name"):
        sms = price(service=service, country=None, capability=Capability.SMS)
        rows.append({
            "slug": service.slug, "name": service.name, "tier": service.tier.name,
            "capabilities": [c for c, ok in (("sms", service.supports_sms), ("voice", service.supports_voice)) if ok],
            "prices": {"sms": money_str(sms) if service.supports_sms else None,
                       "voice": money_str(price(service=service, country=None, capability=Capability.VOICE,
                                                voice_premium=premium)) if service.supports_voice else None},
        })
    return rows


def country_catalogue() -> list[dict]:
    """Enabled countries; a country served by the development mock says so (`simulated`)."""
    from providers.base import ProviderUnavailable
    from providers.registry import for_country

    rows = []
    for country in Country.objects.filter(enabled=True):
        try:
            provider = for_country(country).name
            available = True
        except ProviderUnavailable:
            provider, available = country.provider, False
        rows.append({"code": country.code, "name": country.name, "dialling_code": country.dialling_code,
                     "flag": country.flag, "provider": provider, "available": available,
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
