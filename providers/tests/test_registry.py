"""Which provider serves a country, and the guard every call goes through."""
from decimal import Decimal

import pytest

from providers.base import Provider, ProviderRejected, ProviderUnavailable
from providers.breaker import OPEN, breaker_state
from providers.health import cached
from providers.mock import MockProvider
from providers import routing
from providers.registry import Guarded, get_provider
from providers.textverified import TextVerifiedClient


def test_get_provider_returns_guarded_providers_cached_per_process():
    mock = get_provider("mock")
    assert isinstance(mock, Guarded) and isinstance(mock.inner, MockProvider) and isinstance(mock, Provider)
    assert get_provider("mock") is mock
    textverified = get_provider("textverified")
    assert isinstance(textverified.inner, TextVerifiedClient)
    assert get_provider("textverified") is textverified


def test_get_provider_builds_a_new_client_when_its_settings_change(settings):
    before = get_provider("textverified")
    settings.TEXTVERIFIED_BASE_URL = "https://elsewhere.test"
    after = get_provider("textverified")
    assert after is not before and after.inner.base_url == "https://elsewhere.test"


def test_get_provider_refuses_unknown_names():
    with pytest.raises(ValueError):
        get_provider("twilio")


def sells_nothing(name: str) -> bool:
    return False


def test_with_provider_mock_every_country_gets_the_mock(settings):
    settings.PROVIDER = "mock"
    settings.DEBUG = False  # a demo: the mock is the configured primary
    assert routing.default_order("US", sells=sells_nothing, simulated=False) == ["mock"]
    assert routing.default_order("GB", sells=sells_nothing, simulated=True) == ["mock"]


def test_with_textverified_the_mock_stands_in_for_simulated_countries_in_development(settings):
    settings.PROVIDER = "textverified"
    settings.DEBUG = True
    assert routing.default_order("US", sells=sells_nothing, simulated=False) == ["textverified"]
    assert routing.default_order("GB", sells=sells_nothing, simulated=True) == ["mock"]
    assert routing.default_order("GB", sells=sells_nothing, simulated=False) == []


def test_in_production_a_mock_country_never_gets_fake_numbers(settings):
    settings.PROVIDER = "textverified"
    settings.DEBUG = False
    assert routing.default_order("US", sells=sells_nothing, simulated=False) == ["textverified"]
    assert routing.default_order("GB", sells=sells_nothing, simulated=True) == []
    assert routing.only_allowed(["mock", "textverified", "unknown"]) == ["textverified"]


def test_the_second_provider_serves_what_it_sells_and_backs_up_the_us(settings):
    settings.PROVIDER, settings.DEBUG = "textverified", True
    settings.SMSACTIVATE_BASE_URL = "https://smsa.test"
    sells = {"smsactivate"}.__contains__
    assert routing.default_order("US", sells=sells, simulated=False) == ["textverified", "smsactivate"]
    assert routing.default_order("GB", sells=sells, simulated=True) == ["smsactivate"]  # never the mock behind it
    assert routing.default_order("US", sells=sells_nothing, simulated=False) == ["textverified"]


@pytest.mark.parametrize("error, passes", [
    (ProviderRejected("no", code="no_numbers"), True),
    (ProviderRejected("dear", code="price_above_cap"), True),
    (ProviderRejected("where", code="unsupported_country"), True),
    (ProviderRejected("state", code="not_allowed"), False),
    (ProviderUnavailable("open", code="circuit_open"), True),
    (ProviderUnavailable("lost", code="lost_answer"), False),  # it may have sold the number
    (ProviderUnavailable("slow", code="timeout"), False),
    (ProviderUnavailable("5xx", code="upstream_error"), False),
])
def test_only_failures_that_prove_nothing_was_sold_pass_a_purchase_on(error, passes):
    assert routing.passes_on(error) is passes


def test_guarded_calls_record_health_and_feed_the_breaker(settings):
    settings.BREAKER_FAILURE_THRESHOLD = 2
    mock = get_provider("mock")
    mock.quote(service="discord", capability="sms")
    assert cached("mock").ok is True
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            mock.rent(service="test_unavailable", capability="sms", country="US",
                      max_price=Decimal("1"), idempotency_key="x")
    assert cached("mock").ok is False and cached("mock").detail == "upstream_error"
    assert breaker_state("mock").state == OPEN
    with pytest.raises(ProviderUnavailable) as caught:
        mock.balance()
    assert caught.value.code == "circuit_open"


def test_a_business_no_through_the_guard_counts_as_healthy():
    mock = get_provider("mock")
    with pytest.raises(ProviderRejected):
        mock.rent(service="test_no_numbers", capability="sms", country="US",
                  max_price=Decimal("1"), idempotency_key="x")
    assert cached("mock").ok is True
    assert breaker_state("mock").failures == 0
