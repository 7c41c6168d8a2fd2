"""The mock backend: deterministic, time-driven, every scenario, several workers' worth of state."""
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone

from providers.base import Provider, ProviderRejected, ProviderUnavailable, RentalState
from providers.mock import MockProvider
from providers import simulation
from providers.simulation import HTML_SMS, SCENARIOS

NOW = "2026-06-01 12:00:00+00:00"
E164_FICTIONAL = re.compile(r"^\+1\d{3}55501\d{2}$")


@pytest.fixture
def mock():
    return MockProvider()


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as t:
        yield t


def rent(mock, service="discord", capability="sms", key="ver-1", max_price="1.00"):
    return mock.rent(service=service, capability=capability, country="US",
                     max_price=Decimal(max_price), idempotency_key=key)


def test_it_implements_the_provider_interface(mock):
    assert isinstance(mock, Provider)


def test_it_rents_a_fictional_number_that_gets_a_code_after_the_sms_delay(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 8
    rental = rent(mock)
    assert E164_FICTIONAL.match(rental.phone_number)
    assert rental.cost == Decimal("0.50")
    assert rental.expires_at == timezone.now() + timedelta(seconds=settings.MOCK_VERIFICATION_LIFETIME)
    assert mock.messages(rental.reference) == []
    assert mock.status(rental.reference).state == RentalState.PENDING
    traveller.shift(8)
    [sms] = mock.messages(rental.reference)
    assert re.fullmatch(r"\d{6}", sms.code) and sms.code in sms.text
    assert sms.received_at == timezone.now()
    status = mock.status(rental.reference)
    assert (status.state, status.raw_state, status.can_cancel, status.can_report) == (
        RentalState.COMPLETED, "verificationCompleted", False, True)
    assert status.phone_number == rental.phone_number


def test_it_is_deterministic_for_one_reference(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 0
    rental = rent(mock)
    assert mock.messages(rental.reference) == MockProvider().messages(rental.reference)
    other = rent(mock, key="ver-2")
    assert other.reference != rental.reference


def test_it_never_rents_twice_for_one_idempotency_key_even_across_workers(mock, traveller):
    first = rent(mock, key="ver-1")
    traveller.shift(3)
    second = MockProvider().rent(service="discord", capability="sms", country="US",
                                 max_price=Decimal("1"), idempotency_key="ver-1")
    assert first == second


def test_a_voice_rental_gets_a_call_with_a_real_recording_and_no_transcript(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 5
    rental = rent(mock, capability="voice", max_price="1.05")
    traveller.shift(5)
    assert mock.messages(rental.reference) == []
    [call] = mock.calls(rental.reference)
    # Like TextVerified: a recording to fetch, and the transcription is ours to make.
    assert (call.transcription, call.code) == ("", None)
    chosen = simulation.recording_for(seed=rental.reference)
    assert call.recording_url == f"mock-recording:{chosen.file}" and call.duration == round(chosen.seconds)
    recording = mock.recording(call.recording_url)
    assert recording.content == chosen.path.read_bytes() and recording.content_type == chosen.content_type
    assert mock.status(rental.reference).state == RentalState.COMPLETED


def test_it_hands_over_no_recording_for_an_unknown_uri(mock):
    for uri in ("mock-recording:../manifest.json", "mock-recording:nope.wav", "https://example.com/call-01.ogg"):
        with pytest.raises(ProviderRejected) as caught:
            mock.recording(uri)
        assert caught.value.code == "not_found"


def test_it_expires_after_the_lifetime_without_a_code(mock, traveller, settings):
    rental = rent(mock, service="test_pending")
    traveller.shift(settings.MOCK_VERIFICATION_LIFETIME - 1)
    assert mock.status(rental.reference).state == RentalState.PENDING
    traveller.shift(1)
    status = mock.status(rental.reference)
    assert (status.state, status.raw_state, status.can_cancel) == (RentalState.EXPIRED, "verificationTimedOut", False)
    assert mock.messages(rental.reference) == []


def test_cancel_works_while_pending_survives_workers_and_stops_the_sms(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 8
    rental = rent(mock)
    mock.cancel(rental.reference)
    other_worker = MockProvider()
    assert other_worker.status(rental.reference).state == RentalState.CANCELLED
    other_worker.cancel(rental.reference)  # repeating is a no-op
    traveller.shift(60)
    assert mock.messages(rental.reference) == []
    assert mock.status(rental.reference).state == RentalState.CANCELLED


def test_cancel_is_refused_once_a_code_arrived(mock, traveller):
    rental = rent(mock, service="test_success")
    with pytest.raises(ProviderRejected) as caught:
        mock.cancel(rental.reference)
    assert caught.value.code == "not_allowed"
    assert "code has already arrived" in caught.value.message


def test_report_is_allowed_after_a_code_and_refused_after_expiry(mock, traveller, settings):
    done = rent(mock, service="test_success", key="a")
    mock.report(done.reference)
    assert mock.status(done.reference).state == RentalState.REPORTED
    expired = rent(mock, service="test_timeout", key="b")
    with pytest.raises(ProviderRejected) as caught:
        mock.report(expired.reference)
    assert caught.value.code == "not_allowed"


def test_test_success_has_code_123456_at_once(mock, traveller):
    rental = rent(mock, service="test_success")
    assert [m.code for m in mock.messages(rental.reference)] == ["123456"]


def test_test_delayed_success_arrives_after_30_seconds(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 0
    rental = rent(mock, service="test_delayed_success")
    traveller.shift(29)
    assert mock.messages(rental.reference) == []
    traveller.shift(1)
    assert len(mock.messages(rental.reference)) == 1


def test_test_pending_never_gets_an_sms(mock, traveller, settings):
    rental = rent(mock, service="test_pending")
    traveller.shift(settings.MOCK_VERIFICATION_LIFETIME * 2)
    assert mock.messages(rental.reference) == []


def test_test_timeout_is_already_expired(mock, traveller):
    rental = rent(mock, service="test_timeout")
    assert rental.expires_at == timezone.now()
    assert mock.status(rental.reference).state == RentalState.EXPIRED


@pytest.mark.parametrize("service, code", [
    ("test_no_numbers", "no_numbers"),
    ("test_insufficient_balance", "insufficient_upstream_balance"),
    ("test_too_many_unfinished_verifications", "too_many_unfinished"),
])
def test_refusal_scenarios_raise_provider_rejected(mock, service, code):
    with pytest.raises(ProviderRejected) as caught:
        rent(mock, service=service)
    assert caught.value.code == code


def test_test_unavailable_raises_provider_unavailable(mock):
    with pytest.raises(ProviderUnavailable):
        rent(mock, service="test_unavailable")


def test_test_html_sms_delivers_hostile_html_verbatim(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 0
    [sms] = mock.messages(rent(mock, service="test_html_sms").reference)
    assert sms.text == HTML_SMS
    assert sms.code == "424242"


def test_test_two_codes_delivers_two_different_codes(mock, traveller, settings):
    settings.MOCK_SMS_DELAY = 0
    rental = rent(mock, service="test_two_codes")
    traveller.shift(20)
    first, second = mock.messages(rental.reference)
    assert first.code != second.code and first.received_at < second.received_at


def test_it_refuses_to_pay_more_than_max_price(mock):
    with pytest.raises(ProviderRejected) as caught:
        rent(mock, service="whatsapp", max_price="1.49")
    assert caught.value.code == "price_above_cap"
    assert rent(mock, service="whatsapp", max_price="1.50").cost == Decimal("1.50")


def test_it_refuses_sms_for_a_voice_only_service(mock):
    with pytest.raises(ProviderRejected) as caught:
        rent(mock, service="facebook", capability="sms")
    assert caught.value.code == "unknown_service"


def test_it_answers_not_found_for_a_foreign_reference(mock):
    for reference in ("lr_01ABC", "mock-x-sms-0-900-abc-discord", ""):
        with pytest.raises(ProviderRejected) as caught:
            mock.status(reference)
        assert caught.value.code == "not_found"


def test_failure_injection_is_deterministic_per_key(mock, settings):
    settings.MOCK_FAILURE_RATE = 0.5
    outcomes = {}
    for i in range(40):
        try:
            rent(mock, key=f"k{i}")
            outcomes[i] = "ok"
        except ProviderUnavailable as exc:
            assert exc.code == "mock_failure"
            outcomes[i] = "fail"
    assert 5 < list(outcomes.values()).count("fail") < 35
    failing = next(i for i, o in outcomes.items() if o == "fail")
    with pytest.raises(ProviderUnavailable):
        rent(mock, key=f"k{failing}")
    settings.MOCK_FAILURE_RATE = 0
    reference = rent(mock, key="reads").reference
    settings.MOCK_FAILURE_RATE = 1
    with pytest.raises(ProviderUnavailable):
        mock.status(reference)


def test_it_works_with_a_separate_cache_instance_per_worker():
    name = f"mock-workers-{uuid.uuid4().hex}"
    worker_a, worker_b = MockProvider(cache=LocMemCache(name, {})), MockProvider(cache=LocMemCache(name, {}))
    rental = worker_a.rent(service="test_pending", capability="sms", country="US",
                           max_price=Decimal("1"), idempotency_key="w")
    worker_b.cancel(rental.reference)
    assert worker_a.status(rental.reference).state == RentalState.CANCELLED


def test_its_catalogue_lists_real_names_and_hides_test_scenarios(mock):
    offers = mock.services()
    names = {o.name for o in offers}
    assert {"whatsapp", "discord"} <= names and not names & set(SCENARIOS)
    assert ("facebook", "sms") not in {(o.name, o.capability) for o in offers}
    assert mock.quote(service="discord", capability="voice") == Decimal("1.00")
    assert mock.balance() > 0 and mock.health().ok
