"""The SMS-Activate-protocol provider by name in the registry: guarded by its own breaker, off
until configured, and counted in by routing only then."""
import pytest

from fakes.smsactivate import Fault
from providers.base import ProviderUnavailable
from providers.breaker import OPEN, breaker_state
from providers import routing
from providers.registry import get_provider
from providers.smsactivate import SmsActivateClient
from providers.tests.smsactivate_support import SMSA_KEY


@pytest.fixture
def configured(settings, smsa_server):
    settings.SMSACTIVATE_BASE_URL = smsa_server.base_url
    settings.SMSACTIVATE_API_KEY = SMSA_KEY
    settings.SMSACTIVATE_NAME = "Acme Numbers"
    settings.SMSACTIVATE_MAX_RETRIES = 0
    settings.SMSACTIVATE_BACKOFF_FACTOR = 0
    return smsa_server


def test_it_is_off_until_its_base_url_is_set(settings):
    settings.SMSACTIVATE_BASE_URL = None
    with pytest.raises(ProviderUnavailable) as caught:
        get_provider("smsactivate")
    assert caught.value.code == "not_configured"


def test_it_is_built_from_settings_and_rebuilt_when_they_change(configured, settings):
    provider = get_provider("smsactivate")
    assert isinstance(provider.inner, SmsActivateClient) and provider.inner.display_name == "Acme Numbers"
    assert get_provider("smsactivate") is provider
    settings.SMSACTIVATE_API_KEY = "another-key"
    assert get_provider("smsactivate") is not provider


def test_its_failures_open_its_own_circuit_only(configured, settings):
    settings.BREAKER_FAILURE_THRESHOLD = 2
    configured.fake.add_fault(Fault(action="getBalance", status=500, count=-1))
    provider = get_provider("smsactivate")
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            provider.balance()
    assert breaker_state("smsactivate").state == OPEN
    assert breaker_state("textverified").state != OPEN
    with pytest.raises(ProviderUnavailable) as caught:
        provider.balance()
    assert caught.value.code == "circuit_open"
    assert configured.fake.count("getBalance") == 2  # the open circuit sent nothing


def test_finish_goes_through_the_guard_and_is_a_no_op_for_providers_without_it(configured):
    client = get_provider("smsactivate")
    rental = client.inner.rent(service="whatsapp", capability="sms", max_price=5, idempotency_key="v-1",
                               country="GB")
    configured.fake.deliver_sms(int(rental.reference), text="Your code is 123456")
    client.finish(rental.reference)
    assert configured.fake.activation(int(rental.reference)).status == "finished"
    assert get_provider("mock").finish("anything") is None


def test_routing_counts_it_in_only_when_configured(configured, settings):
    settings.PROVIDER, settings.DEBUG = "textverified", False
    assert routing.configured() == ["textverified", "smsactivate"]
    settings.SMSACTIVATE_BASE_URL = None
    assert routing.configured() == ["textverified"] and not routing.allowed("smsactivate")
