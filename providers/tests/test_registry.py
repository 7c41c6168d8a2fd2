"""Which provider serves a country, and the guard every call goes through."""
from decimal import Decimal

import pytest

from providers.base import Provider, ProviderRejected, ProviderUnavailable
from providers.breaker import OPEN, breaker_state
from providers.health import cached
from providers.mock import MockProvider
from providers.registry import Guarded, for_country, get_provider
from providers.textverified import TextVerifiedClient
from verifications.models import Country


def country(provider: str) -> Country:
    # Unsaved: the registry only reads the field.
    return Country(code="GB", name="United Kingdom", dialling_code="+44", provider=provider)


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


def test_with_provider_mock_every_country_gets_the_mock(settings):
    settings.PROVIDER = "mock"
    settings.DEBUG = False
    assert for_country(country("textverified")).name == "mock"
    assert for_country(country("mock")).name == "mock"


def test_with_textverified_each_country_uses_its_own_provider_in_development(settings):
    settings.PROVIDER = "textverified"
    settings.DEBUG = True
    assert for_country(country("textverified")).name == "textverified"
    assert for_country(country("mock")).name == "mock"


def test_in_production_a_mock_country_never_gets_fake_numbers(settings):
    settings.PROVIDER = "textverified"
    settings.DEBUG = False
    assert for_country(country("textverified")).name == "textverified"
    for provider in ("mock", "unknown"):
        with pytest.raises(ProviderUnavailable) as caught:
            for_country(country(provider))
        assert caught.value.code == "no_provider_for_country"


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
