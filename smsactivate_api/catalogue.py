"""The catalogue actions (a key is optional, contract §2) and the resolution of the protocol's ids:
countries by their numeric id (§3.3), services by short code then slug (§3.4), operators (§3.5)."""
from __future__ import annotations

from django.db.models import Q

from smsactivate_api.answers import Answer, Refusal, json_answer
from verifications import routing, selectors
from verifications.models import Capability, Country, Service

# What getPrices and getNumbersStatus say is in stock: the serving provider's figure capped at the
# protocol's 100 (§5), 100 where it gives none, and 0 while nobody can sell it (circuits open, sold out).
STOCK = 100


# --- resolving the protocol's ids -----------------------------------------------------------------

def sellable_countries() -> list[Country]:
    """The countries offered here, in catalogue order: enabled, with a protocol id, and buyable now
    (the same `available` as GET /countries: with DEBUG off, only those a real provider serves)."""
    available = {row["code"] for row in selectors.country_catalogue() if row["available"]}
    return [country for country in Country.objects.filter(enabled=True, protocol_id__isnull=False)
            if country.code in available]


def resolve_country(raw: str | None, countries: list[Country]) -> Country:
    """`country` absent or `any`: the first sellable country; else the one with that protocol id."""
    if raw is None or raw.strip().lower() == "any":
        if not countries:
            raise Refusal("BAD_COUNTRY")
        return countries[0]
    try:
        number = int(raw.strip())
    except ValueError:
        raise Refusal("BAD_COUNTRY") from None
    for country in countries:
        if country.protocol_id == number:
            return country
    raise Refusal("BAD_COUNTRY")


def resolve_service(raw: str | None) -> Service:
    """By protocol code first, then by slug, so `wa` and `whatsapp` both work. Raises BAD_SERVICE."""
    name = (raw or "").strip().lower()
    if not name:
        raise Refusal("BAD_SERVICE")
    matches = list(Service.objects.select_related("tier").filter(Q(protocol_code=name) | Q(slug=name))[:2])
    matches.sort(key=lambda service: service.protocol_code != name)  # a code beats another service's slug
    if not matches or not matches[0].enabled:
        raise Refusal("BAD_SERVICE")
    return matches[0]


def check_operator(raw: str | None) -> None:
    # We do not choose carriers: selling another carrier's number to someone who asked for one is wrong.
    if raw is not None and raw.strip().lower() not in ("", "any"):
        raise Refusal("WRONG_OPERATOR")


def service_code(service: Service) -> str:
    return service.protocol_code or service.slug


def _on_sale() -> list[Service]:
    return list(Service.objects.filter(enabled=True).select_related("tier").order_by("tier__order", "name"))


def _stock(plan: routing.Plan) -> int:
    if not plan.available:
        return 0
    return STOCK if plan.stock is None else min(STOCK, plan.stock)


def _narrowed(params: dict) -> tuple[list[Country], list[Service]]:
    countries = sellable_countries()
    if params.get("country") is not None:
        countries = [resolve_country(params["country"], countries)]
    offered = [resolve_service(params["service"])] if params.get("service") is not None else _on_sale()
    return countries, [service for service in offered if service.supports_sms]


# --- actions ---------------------------------------------------------------------------------------

def get_prices(*, params: dict, **_) -> Answer:
    """{country id: {service code: {cost, count, physicalCount}}}: SMS prices as /pricing/quote gives them."""
    countries, offered = _narrowed(params)
    book = routing.Book()
    table = {}
    for country in countries:
        row = table[str(country.protocol_id)] = {}
        for service in offered:
            plan = book.plan(service=service, country=country, capability=Capability.SMS)
            row[service_code(service)] = {"cost": plan.price, "count": _stock(plan), "physicalCount": _stock(plan)}
    return json_answer(table)


def get_countries(**_) -> Answer:
    return json_answer({
        str(country.protocol_id): {"id": country.protocol_id, "rus": country.name, "eng": country.name,
                                   "chn": country.name, "visible": 1, "retry": 1, "rent": 0, "multiService": 0}
        for country in sellable_countries()
    })


def get_services_list(*, params: dict, **_) -> Answer:
    countries = sellable_countries()
    offered = _on_sale()
    if params.get("country") is not None:
        country = resolve_country(params["country"], countries)
        book = routing.Book(country=country)
        offered = [s for s in offered if any(book.plan(service=s, country=country, capability=c).available
                                             for c in (Capability.SMS, Capability.VOICE) if s.supports(c))]
    return json_answer({"status": "success",
                        "services": [{"code": service_code(s), "name": s.name} for s in offered]})


def get_numbers_status(*, params: dict, **_) -> Answer:
    check_operator(params.get("operator"))
    country = resolve_country(params.get("country"), sellable_countries())
    book = routing.Book(country=country)
    return json_answer({f"{service_code(s)}_0": _stock(book.plan(service=s, country=country, capability=Capability.SMS))
                        for s in _on_sale() if s.supports_sms})


def get_operators(*, params: dict, **_) -> Answer:
    countries = sellable_countries()
    if params.get("country") is not None:
        countries = [resolve_country(params["country"], countries)]
    return json_answer({"status": "success",
                        "countryOperators": {str(country.protocol_id): ["any"] for country in countries}})
