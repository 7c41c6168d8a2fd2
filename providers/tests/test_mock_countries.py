"""Simulated countries get fictional numbers of their own: the country's dialling code, its national
shape, and the regulator's drama range where one exists. TextVerified refuses anything but the US."""
import re
from decimal import Decimal

import pytest
import responses
from django.core.cache.backends.locmem import LocMemCache

from providers import simulation
from providers.base import ProviderRejected
from providers.mock import MockProvider, make_reference, parse_reference
from providers.registry import get_provider

# country -> (E.164 pattern, digits after the dialling code)
FORMATS = {
    "US": (r"\+1(201|212|305|312|415|512|617|702|206|303|404|713)55501\d\d", 10),
    "CA": (r"\+1(416|604|514|403|613|780|902|204)55501\d\d", 10),
    "GB": (r"\+447700900\d{3}", 10),  # 07700 900000-900999
    "DE": (r"\+493023125\d{3}", 10),  # (0)30 23125 000-999
    "AU": (r"\+61[2378]5550\d{4}", 9),  # (0x) 5550 xxxx
    "FR": (r"\+3360000\d{4}", 9),
    "NL": (r"\+3160000\d{4}", 9),
    "ES": (r"\+3460000\d{4}", 9),
    "PL": (r"\+4850000\d{4}", 9),
    "IN": (r"\+91900000\d{4}", 10),
    "BR": (r"\+551190000\d{4}", 11),
    "MX": (r"\+52550000\d{4}", 10),
}
DIALLING = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "AU": "61", "FR": "33", "NL": "31", "ES": "34",
            "PL": "48", "IN": "91", "BR": "55", "MX": "52"}


def rent(provider, *, country, key="ver-1", service="discord"):
    return provider.rent(service=service, capability="sms", country=country, max_price=Decimal("1"),
                         idempotency_key=key)


def test_every_country_with_a_plan_is_tested():
    assert set(simulation.NUMBER_PLANS) == set(FORMATS)


@pytest.mark.parametrize("country", sorted(FORMATS))
def test_it_rents_a_fictional_number_in_the_countrys_own_format(country):
    pattern, national_digits = FORMATS[country]
    numbers = {rent(MockProvider(), country=country, key=f"ver-{i}").phone_number for i in range(40)}
    assert len(numbers) > 10, "the numbers should vary from one rental to the next"
    for number in numbers:
        assert re.fullmatch(pattern, number), number
        assert number.startswith("+" + DIALLING[country])
        assert len(number) - 1 - len(DIALLING[country]) == national_digits, number


def test_every_uk_number_is_in_ofcoms_drama_range():
    for i in range(300):
        national = int(rent(MockProvider(), country="GB", key=f"uk-{i}").phone_number.removeprefix("+44"))
        assert 7700900000 <= national <= 7700900999


def test_another_worker_sees_the_same_number_from_the_reference_alone():
    # The country travels in the reference: a worker with an empty cache of its own agrees.
    worker_a = MockProvider(cache=LocMemCache("mock-countries-a", {}))
    worker_b = MockProvider(cache=LocMemCache("mock-countries-b", {}))
    rental = rent(worker_a, country="IN", service="test_pending")
    assert rental.phone_number.startswith("+91")
    assert worker_b.status(rental.reference).phone_number == rental.phone_number
    assert parse_reference(rental.reference).country == "IN"


def test_a_lower_case_country_code_is_the_same_country():
    assert rent(MockProvider(), country="gb").phone_number.startswith("+447700900")


def test_a_reference_from_before_countries_is_a_us_number():
    legacy = "mock-1780315200000-sms-8000-900-0123456789-discord"
    facts = parse_reference(legacy)
    assert facts.country == "US"
    assert re.fullmatch(FORMATS["US"][0], MockProvider().status(legacy).phone_number)


def test_references_round_trip_their_country():
    from datetime import datetime, timezone

    reference = make_reference(service="a-b", capability="voice", country="BR", nonce="abc",
                               created_at=datetime(2026, 6, 1, tzinfo=timezone.utc), sms_delay=8, lifetime=900)
    facts = parse_reference(reference)
    assert (facts.country, facts.service, facts.capability) == ("BR", "a-b", "voice")


def test_it_refuses_a_country_it_has_no_numbers_for_and_rents_nothing(settings):
    mock = MockProvider()
    with pytest.raises(ProviderRejected) as refused:
        rent(mock, country="ZZ", key="zz")
    assert refused.value.code == "unsupported_country"
    assert "ZZ" in refused.value.message
    # Nothing was rented for that key: the same key then buys a number of a country it knows.
    assert rent(mock, country="GB", key="zz").phone_number.startswith("+44")


def test_a_reference_with_an_unknown_country_is_not_ours():
    with pytest.raises(ProviderRejected) as refused:
        parse_reference("mock-1780315200000-sms-8000-900-0123456789.ZZ-discord")
    assert refused.value.code == "not_found"


def test_the_guarded_provider_passes_the_country_through(db):
    assert rent(get_provider("mock"), country="DE").phone_number.startswith("+493023125")


@responses.activate
def test_textverified_refuses_a_country_other_than_the_us_before_any_request(client):
    with pytest.raises(ProviderRejected) as refused:
        client.rent(service="discord", capability="sms", country="GB", max_price=Decimal("1"),
                    idempotency_key="ver-1")
    assert refused.value.code == "unsupported_country"
    assert "US numbers only" in refused.value.message
    assert len(responses.calls) == 0
