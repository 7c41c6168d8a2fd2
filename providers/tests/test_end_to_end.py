"""The real client, through the registry's guard, against the fake TextVerified over real HTTP."""
from decimal import Decimal

import pytest

from providers.base import ProviderRejected, ProviderUnavailable, RentalState
from providers.breaker import CLOSED, OPEN, breaker_state
from fakes.textverified import Fault
from providers.health import provider_health
from providers.registry import get_provider
from providers.tests.support import API_KEY, USERNAME


@pytest.fixture
def textverified(fake_server, settings):
    settings.TEXTVERIFIED_BASE_URL = fake_server.base_url
    settings.TEXTVERIFIED_API_KEY = API_KEY
    settings.TEXTVERIFIED_EMAIL = USERNAME
    settings.TEXTVERIFIED_READ_TIMEOUT = 2
    settings.BREAKER_FAILURE_THRESHOLD = 2
    settings.TEXTVERIFIED_BACKOFF_FACTOR = 0  # retry at once: tests never wait
    settings.TEXTVERIFIED_BACKOFF_JITTER = 0
    return get_provider("textverified")


def test_it_rents_receives_an_sms_and_reads_the_code(textverified, fake_server):
    fake_server.fake.sms_delay = None  # the SMS comes when the test says so
    rental = textverified.rent(service="discord", capability="sms", country="US", max_price=Decimal("0.75"),
                               idempotency_key="7f9c0a1e-verification-id")
    assert rental.phone_number.startswith("+1") and len(rental.phone_number) == 12
    assert rental.cost == Decimal("0.50")
    assert textverified.status(rental.reference).state == RentalState.PENDING
    assert textverified.messages(rental.reference) == []

    fake_server.fake.deliver_sms(rental.reference, text="Your Discord verification code is 293701", code=None)
    [sms] = textverified.messages(rental.reference)
    assert sms.code == "293701"  # parsedCode was null: found by the regex fallback
    status = textverified.status(rental.reference)
    assert (status.state, status.can_cancel, status.phone_number) == (RentalState.COMPLETED, False, rental.phone_number)
    with pytest.raises(ProviderRejected) as caught:
        textverified.cancel(rental.reference)
    assert caught.value.code == "not_allowed"
    assert provider_health("textverified").ok


def test_it_runs_the_test_mode_scenarios_end_to_end(textverified):
    rental = textverified.rent(service="test_success", capability="sms", country="US",
                               max_price=Decimal("1"), idempotency_key="a")
    assert [m.code for m in textverified.messages(rental.reference)] == ["123456"]
    html = textverified.rent(service="test_html_sms", capability="sms", country="US",
                             max_price=Decimal("1"), idempotency_key="b")
    [sms] = textverified.messages(html.reference)
    assert sms.code == "424242" and sms.text.startswith("<script>")
    pending = textverified.rent(service="test_pending", capability="sms", country="US",
                                max_price=Decimal("1"), idempotency_key="c")
    textverified.cancel(pending.reference)
    assert textverified.status(pending.reference).state == RentalState.CANCELLED
    with pytest.raises(ProviderRejected) as caught:
        textverified.rent(service="test_no_numbers", capability="sms", country="US",
                          max_price=Decimal("1"), idempotency_key="d")
    assert caught.value.code == "no_numbers"


def test_a_voice_rental_costs_what_the_upstream_charges_and_lists_its_call(textverified):
    with pytest.raises(ProviderRejected) as caught:
        textverified.rent(service="discord", capability="voice", country="US", max_price=Decimal("2.49"),
                          idempotency_key="cheap")
    assert caught.value.code == "price_above_cap"
    rental = textverified.rent(service="discord", capability="voice", country="US",
                               max_price=Decimal("2.75"), idempotency_key="v")
    assert rental.cost == Decimal("2.50")
    [call] = textverified.calls(rental.reference)
    assert call.recording_url.endswith(f"/api/pub/v2/recordings/{call.id}") and not call.code
    recording = textverified.recording(call.recording_url)
    assert recording.format in ("mp3", "wav", "ogg") and len(recording.content) > 10_000


def test_messages_follow_pagination_over_http(textverified, fake_server):
    fake_server.fake.page_size = 1
    rental = textverified.rent(service="test_two_codes", capability="sms", country="US",
                               max_price=Decimal("1"), idempotency_key="p")
    fake_server.fake.deliver_sms(rental.reference, text="Your code is 555123", code="555123")
    fake_server.fake.deliver_sms(rental.reference, text="Your code is 555124", code="555124")
    codes = [m.code for m in textverified.messages(rental.reference)]
    assert codes[-2:] == ["555123", "555124"] and len(codes) == 3
    assert fake_server.fake.count("GET", "/api/pub/v2/sms") == 3


def test_an_expired_token_is_replaced_once_transparently(textverified, fake_server):
    textverified.balance()
    fake_server.fake.expire_tokens()
    assert textverified.balance() == Decimal("100.00")
    assert fake_server.fake.count("POST", "/api/pub/v2/auth") == 2


def test_retries_absorb_a_transient_5xx_on_reads(textverified, fake_server):
    fake_server.fake.add_fault(Fault(status=503, path="/api/pub/v2/account/me", count=2))
    assert textverified.balance() == Decimal("100.00")
    assert fake_server.fake.count("GET", "/api/pub/v2/account/me") == 3


def test_an_upstream_outage_opens_the_circuit_and_reports_unhealthy(textverified, fake_server):
    fake_server.fake.add_fault(Fault(status=503, retry_after="9999", path="/api/pub/v2/account/me", count=-1))
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            textverified.balance()
        assert caught.value.retry_after == 9999
    assert breaker_state("textverified").state == OPEN
    before = fake_server.fake.count("GET", "/api/pub/v2/account/me")
    with pytest.raises(ProviderUnavailable) as caught:
        textverified.balance()
    assert caught.value.code == "circuit_open"
    assert fake_server.fake.count("GET", "/api/pub/v2/account/me") == before
    health = provider_health("textverified")
    assert (health.ok, health.breaker_state) == (False, OPEN)
    assert breaker_state("textverified").state != CLOSED
