"""The catalogue read from a protocol provider: countries by our ISO codes, prices and stock per
country and service, services and quotes, balance — from the fake, and odd shapes at the wire."""
from decimal import Decimal

import pytest

from providers.base import CountryInfo, ProviderRejected
from providers.smsactivate import codes
from providers.tests.smsactivate_support import answer, calls_of, query, sent

OUR_TABLE = {"US", "GB", "CA", "DE", "FR", "MX", "NL", "ES", "PL", "IN", "BR", "AU", "ID"}


def test_it_lists_the_countries_of_our_table_and_leaves_other_ids_out(smsa):
    countries = smsa.countries()
    assert {c.code for c in countries} == OUR_TABLE  # the fake also sells Russia (0)
    assert CountryInfo(code="GB", name="United Kingdom", upstream_id="16") in countries
    assert CountryInfo(code="US", name="United States", upstream_id="187") in countries


def test_it_reads_cost_and_stock_per_country_and_service(smsa, smsa_server):
    rows = smsa.prices()
    uk_whatsapp = next(r for r in rows if (r.country, r.upstream_code) == ("GB", "wa"))
    price, stock = smsa_server.fake.offers[(16, "wa")]
    assert (uk_whatsapp.service, uk_whatsapp.cost, uk_whatsapp.count) == ("whatsapp", price, stock)
    assert next(r for r in rows if (r.country, r.upstream_code) == ("DE", "fb")).count == 0
    viber = next(r for r in rows if r.upstream_code == "vi")
    assert viber.service == "vi"  # a code outside our table keeps the provider's code
    assert not {r.country for r in rows} - OUR_TABLE


def test_it_narrows_prices_to_one_country_and_service(smsa, smsa_server):
    [row] = smsa.prices(country="IN", service="telegram")
    assert (row.country, row.upstream_code, row.cost) == ("IN", "tg", smsa_server.fake.offers[(22, "tg")][0])


def test_services_have_the_cheapest_stocked_cost_and_the_total_stock(smsa, smsa_server):
    offers = {o.name: o for o in smsa.services()}
    whatsapp = offers["whatsapp"]
    rows = [(p, s) for (cid, code), (p, s) in smsa_server.fake.offers.items() if code == "wa"
            and codes.country_iso(cid)]
    assert whatsapp.capability == "sms" and whatsapp.description == "WhatsApp"
    assert whatsapp.cost == min(p for p, s in rows if s > 0)
    assert whatsapp.stock == sum(s for _, s in rows)


def test_a_quote_is_per_country_or_the_cheapest_country(smsa, smsa_server):
    fake = smsa_server.fake.offers
    assert smsa.quote(service="whatsapp", capability="sms", country="GB") == fake[(16, "wa")][0]
    assert smsa.quote(service="whatsapp", capability="sms") == fake[(22, "wa")][0]  # India is cheapest
    with pytest.raises(ProviderRejected) as caught:
        smsa.quote(service="whatsapp", capability="voice")
    assert caught.value.code == "unknown_service"


def test_the_balance_is_a_decimal_and_health_probes_it(smsa, smsa_server):
    assert smsa.balance() == Decimal("100.00")
    health = smsa.health()
    assert health.ok and health.latency_ms is not None
    assert smsa_server.fake.count("getBalance") == 2


def test_health_reports_a_failure_without_raising(smsa, smsa_server):
    from fakes.smsactivate import Fault

    smsa_server.fake.add_fault(Fault(action="getBalance", body="BAD_KEY"))
    health = smsa.health()
    assert (health.ok, health.detail) == (False, "upstream_auth_failed")


def test_it_reads_odd_but_valid_shapes(smsa_wire, rsps):
    answer(rsps, "getCountries", [
        {"id": "16", "eng": "United Kingdom", "visible": "1"},
        {"ID": 22, "eng": "India"},
        {"id": 43, "eng": "Germany", "visible": 0},  # hidden: not on sale
        {"id": "not-a-number", "eng": "?"}, "garbage",
    ], content_type="text/html")  # any content type: the body decides
    assert [(c.code, c.upstream_id) for c in smsa_wire.countries()] == [("GB", "16"), ("IN", "22")]

    answer(rsps, "getPrices", {"16": {"wa": {"cost": "1.5", "count": "12"}, "tg": {"cost": None},
                                      "go": {"cost": 0.35, "count": None}}, "999": {"wa": {"cost": 1, "count": 1}},
                               "22": "garbage"})
    rows = smsa_wire.prices()
    assert [(r.upstream_code, r.cost, r.count) for r in rows] == [("go", Decimal("0.35"), 0),
                                                                   ("wa", Decimal("1.5"), 12)]

    answer(rsps, "getServicesList", {"wa": {"name": "WhatsApp"}, "tg": "Telegram"})
    answer(rsps, "getBalance", {"balance": "7.25"}, content_type="text/plain")
    assert smsa_wire.balance() == Decimal("7.25")
    names = {o.name: o.description for o in smsa_wire.services()}
    assert names["whatsapp"] == "WhatsApp" and names["telegram"] == "Telegram"


def test_a_provider_without_getserviceslist_still_lists_services(smsa_wire, rsps):
    answer(rsps, "getServicesList", "BAD_ACTION")
    answer(rsps, "getPrices", {"16": {"wa": {"cost": 1, "count": 3}}})
    [offer] = smsa_wire.services()
    assert (offer.name, offer.description, offer.stock) == ("whatsapp", "WhatsApp", 3)


def test_the_catalogue_asks_with_protocol_ids_and_codes(smsa_wire, rsps):
    call = answer(rsps, "getPrices", {"187": {"go": {"cost": 0.5, "count": 1}}})
    smsa_wire.prices(country="US", service="gmail")  # gmail is sold under Google's code
    assert sent(call.calls[0])["country"] == "187" and sent(call.calls[0])["service"] == "go"
    assert query(calls_of(rsps, "getPrices")[0]) == {"action": "getPrices"}


def test_the_code_tables_agree_with_the_protocol_contract():
    assert codes.country_id("us") == 187 and codes.country_iso("16") == "GB" and codes.country_iso(12) is None
    assert codes.upstream_code("whatsapp") == "wa" and codes.upstream_code("wa") == "wa"
    assert codes.upstream_code("hotmail") == "mm" and codes.upstream_code("netflix") == "netflix"
    assert codes.upstream_code("not a code!") is None
    assert len(codes.SLUGS_BY_CODE) == len(codes.SERVICES) == len(codes.CODES_BY_SLUG)  # one code, one service


def test_text_answers_wrapped_in_json_are_read_too(smsa_wire, rsps):
    answer(rsps, "getStatusV2", "BAD_ACTION")
    answer(rsps, "getStatus", {"status": "STATUS_OK", "code": "482913"})
    [sms] = smsa_wire.messages("100042")
    assert sms.code == "482913"
    answer(rsps, "setStatus", {"status": "ACCESS_CANCEL"})
    smsa_wire.cancel("100042")
    answer(rsps, "getActiveActivations", {"status": "success", "activeActivations": []})
    assert smsa_wire.active_activations() == []
