"""A voice verification end to end through the real TextVerified client against the fake over HTTP:
purchase above the upstream's cost, a call with a recording, the download with our bearer token,
the transcription, the confident code, the completed sale (cancel 409, expiry refunds nothing);
and the failures: a recording that 404s, one that is too large, the speech packages absent."""
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import time_machine
from django.utils import timezone

from accounts.models import LedgerEntry
from fakes.textverified import Fault
from providers import simulation
from verifications import services
from verifications.models import PricingSettings, Service, Verification, VoiceCall
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop
from voice.tests.conftest import needs_speech, speech_installed
from voice.weights import REQUIRED, default_directory

CONFIDENT_RECORDING = "call-01.ogg"  # says 381504 twice; transcribed confidently (voice/tests)
PRICE = Decimal("3.00")  # Standard $1.00 + a $2.00 voice premium: above the fake's $2.50 voice cost


@pytest.fixture
def shop(db):
    shop = make_shop()
    PricingSettings.objects.update_or_create(pk=1, defaults={"voice_premium": Decimal("2.00")})
    return shop


@pytest.fixture
def fake(settings):
    settings.TEXTVERIFIED_BACKOFF_FACTOR = settings.TEXTVERIFIED_BACKOFF_JITTER = 0
    with fake_textverified(settings, sms_delay=None) as server:  # calls come when the test says so
        yield server


@pytest.fixture
def bought(shop, alice, fake):
    fund(alice, "5.00")
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "voice"},
                                   format="json")
    assert response.status_code == 201, response.content
    assert response.json()["price"] == str(PRICE)
    return Verification.objects.get(pk=response.json()["id"])


def poll(api, verification, capture) -> dict:
    # The download and transcription run as tasks after the poll's commit (eager in tests).
    with capture(execute=True):
        answer = api.get(f"/verify/{verification.pk}/voice?refresh=1")
    assert answer.status_code == 200, answer.content
    return api.get(f"/verify/{verification.pk}/voice").json()


def recording_requests(fake) -> int:
    return sum(n for key, n in fake.fake.requests.items() if key.startswith("GET /api/pub/v2/recordings/"))


@needs_speech
def test_a_call_is_downloaded_transcribed_and_completes_the_sale(bought, alice, fake, settings,
                                                                 django_capture_on_commit_callbacks):
    api = api_for(alice)
    assert api.get(f"/verify/{bought.pk}/voice").json() == {"status": "pending", "code": None, "calls": []}
    call_id = fake.fake.deliver_call(bought.provider_ref, recording=CONFIDENT_RECORDING)
    # The fake serves recordings only with a bearer token: without one, 401.
    uri = fake.fake.recording_uri(call_id, fake.base_url)
    assert requests.get(uri if uri.startswith("http") else fake.base_url + uri, timeout=5).status_code == 401

    body = poll(api, bought, django_capture_on_commit_callbacks)
    [call] = body["calls"]
    stored = VoiceCall.objects.get(pk=call["id"])
    assert body["status"] == "completed" and body["code"] == "381504"
    assert (call["recording_status"], call["transcription_status"], call["code"], call["code_confidence"]) == (
        "available", "done", "381504", "confident")
    assert "3 8 1 5 0 4" in call["transcription"] or "381504" in call["transcription"].replace(" ", "")
    assert call["transcribed_at"] and call["transcribe_again_left"] == 3
    assert call["recording_url"] == f"/verify/{bought.pk}/calls/{stored.pk}/recording"
    original = (simulation.RECORDINGS_DIR / CONFIDENT_RECORDING).read_bytes()
    served = api.get(call["recording_url"])
    assert served.status_code == 200 and served["Content-Type"] == "audio/ogg"
    assert b"".join(served) == original and recording_requests(fake) == 2  # ours refused, the client's
    assert stored.delivered_at is not None and stored.recording_size == len(original)

    # Delivered: the charge stands whatever happens next.
    cancel = api.delete(f"/verify/{bought.pk}")
    assert cancel.status_code == 409 and cancel.json()["error"]["code"] == "wrong_state"  # it is completed
    with time_machine.travel(bought.expires_at + timedelta(minutes=1)):
        services.expire_due()
    bought.refresh_from_db()
    assert bought.status == Verification.Status.COMPLETED and bought.refunded_at is None
    assert balance(alice) == Decimal("5.00") - PRICE
    assert not LedgerEntry.objects.filter(verification=bought, kind=LedgerEntry.Kind.REFUND).exists()


@needs_speech
def test_a_code_of_another_length_than_the_services_is_only_a_guess_and_still_completes_the_sale(
        bought, alice, fake, django_capture_on_commit_callbacks):
    # The recording says 381504 twice; a service whose codes have 8 digits cannot have sent it.
    Service.objects.filter(pk=bought.service_id).update(voice_code_length=8)
    fake.fake.deliver_call(bought.provider_ref, recording=CONFIDENT_RECORDING)
    body = poll(api_for(alice), bought, django_capture_on_commit_callbacks)
    [call] = body["calls"]
    assert body["status"] == "completed" and body["code"] is None
    assert (call["transcription_status"], call["code"], call["code_confidence"]) == ("done", "381504", "uncertain")


@needs_speech
def test_with_no_length_set_the_services_recent_codes_give_it(bought, alice, fake, django_capture_on_commit_callbacks):
    # Five completed verifications of this service whose SMS codes all have 8 digits: 381504 cannot be its code.
    from django.utils import timezone

    from verifications.models import Message

    for i in range(5):
        done = Verification.objects.create(user=alice, service=bought.service, country=bought.country,
                                           capability="sms", provider=bought.provider, price=Decimal("1.00"),
                                           status=Verification.Status.COMPLETED)
        Message.objects.create(verification=done, provider=bought.provider, provider_message_id=f"earlier-{i}",
                               text=f"Your code is 1234567{i}", code=f"1234567{i}", received_at=timezone.now())
    fake.fake.deliver_call(bought.provider_ref, recording=CONFIDENT_RECORDING)
    body = poll(api_for(alice), bought, django_capture_on_commit_callbacks)
    [call] = body["calls"]
    assert body["status"] == "completed" and body["code"] is None
    assert (call["code"], call["code_confidence"]) == ("381504", "uncertain")


def test_a_recording_that_404s_is_not_available_yet_and_does_not_complete_until_fetched(
        bought, alice, fake, django_capture_on_commit_callbacks, settings):
    settings.VOICE_MODEL_DIR = "/nonexistent-model"  # transcription is not what this test is about
    api = api_for(alice)
    fake.fake.add_fault(Fault(status=404, path="/api/pub/v2/recordings/", count=2))
    fake.fake.deliver_call(bought.provider_ref, recording=CONFIDENT_RECORDING)
    body = poll(api, bought, django_capture_on_commit_callbacks)
    [call] = body["calls"]
    assert body["status"] == "pending" and call["recording_status"] == "pending" and call["recording_url"] is None
    stored = VoiceCall.objects.get(pk=call["id"])
    assert stored.recording_attempts == 1 and stored.recording_next_attempt_at > timezone.now()
    # A call arrived, so the upstream refuses a cancel; we never refund a number it bills.
    assert api.delete(f"/verify/{bought.pk}").status_code == 409

    # The sweep retries once the backoff is over; the second 404, then the recording.
    with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services_fetch_due() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services_fetch_due() == 1
    body = api.get(f"/verify/{bought.pk}/voice").json()
    assert body["status"] == "completed" and body["calls"][0]["recording_status"] == "available"
    assert body["calls"][0]["transcription_status"] == "unavailable"  # the model is not there: still completed
    assert recording_requests(fake) == 3


def services_fetch_due() -> int:
    from verifications.voice_tasks import fetch_due_recordings

    return fetch_due_recordings.delay().get()


def test_a_recording_still_missing_at_expiry_refunds_the_verification(bought, alice, fake,
                                                                      django_capture_on_commit_callbacks):
    api = api_for(alice)
    fake.fake.add_fault(Fault(status=404, path="/api/pub/v2/recordings/", count=-1))
    fake.fake.deliver_call(bought.provider_ref)
    poll(api, bought, django_capture_on_commit_callbacks)
    with time_machine.travel(bought.expires_at + timedelta(seconds=1)):
        services.expire_due()
    bought.refresh_from_db()
    call = VoiceCall.objects.get(verification=bought)
    assert bought.status == Verification.Status.EXPIRED and bought.refunded_at is not None
    assert call.recording_state == VoiceCall.Recording.UNAVAILABLE and call.delivered_at is None
    assert recording_requests(fake) == 2  # the first try, and the last one before refunding
    assert balance(alice) == Decimal("5.00")


def test_a_recording_above_the_limit_is_unavailable_at_once(bought, alice, fake, settings,
                                                            django_capture_on_commit_callbacks):
    settings.RECORDING_MAX_BYTES = 4096
    api = api_for(alice)
    fake.fake.deliver_call(bought.provider_ref, recording=CONFIDENT_RECORDING)
    body = poll(api, bought, django_capture_on_commit_callbacks)
    [call] = body["calls"]
    assert (body["status"], call["recording_status"], call["recording_url"]) == ("pending", "unavailable", None)
    assert "RECORDING_MAX_BYTES" in VoiceCall.objects.get(pk=call["id"]).recording_error
    assert recording_requests(fake) == 1
    assert api.get(f"/verify/{bought.pk}/calls/{call['id']}/recording").status_code == 404


@needs_speech
def test_without_the_speech_packages_the_call_shows_with_its_recording(bought, alice, fake, settings, monkeypatch,
                                                                      tmp_path, django_capture_on_commit_callbacks,
                                                                      client):
    # A model directory of its own (the loaded weights are cached per directory) and faster_whisper
    # unimportable, as on a host where it is not installed.
    for name in REQUIRED:
        (tmp_path / name).symlink_to(default_directory() / name)
    settings.VOICE_MODEL_DIR = str(tmp_path)
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    api = api_for(alice)
    fake.fake.deliver_call(bought.provider_ref, recording=CONFIDENT_RECORDING)
    body = poll(api, bought, django_capture_on_commit_callbacks)
    [call] = body["calls"]
    assert body["status"] == "completed" and body["code"] is None
    assert (call["recording_status"], call["transcription_status"], call["code"]) == ("available", "unavailable", None)
    assert api.get(call["recording_url"]).status_code == 200
    client.force_login(alice)
    page = client.get("/dashboard")
    assert page.status_code == 200 and b"unavailable" in page.content
    # Once the packages are back, "Transcribe again" reads the recording.
    monkeypatch.delitem(sys.modules, "faster_whisper")
    settings.VOICE_MODEL_DIR = None
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"/verify/{bought.pk}/calls/{call['id']}/transcribe")
    assert again.status_code == 202 and again.json()["transcribe_again_left"] == 2
    body = api.get(f"/verify/{bought.pk}/voice").json()
    assert body["calls"][0]["transcription_status"] == "done" and body["calls"][0]["code"]


def test_speech_being_absent_or_present_never_loses_the_call(bought, alice, fake, settings,
                                                             django_capture_on_commit_callbacks):
    # Runs where the speech packages are missing too (then it is the real case, no patching).
    settings.VOICE_MODEL_DIR = None if speech_installed else "/nonexistent-model"
    fake.fake.deliver_call(bought.provider_ref)
    body = poll(api_for(alice), bought, django_capture_on_commit_callbacks)
    assert body["status"] == "completed" and body["calls"][0]["recording_status"] == "available"
    assert body["calls"][0]["transcription_status"] in ("done", "unavailable")


def test_with_the_fakes_voice_cost_a_voice_purchase_is_priced_at_cost_plus_margin_or_more(db, alice, fake, settings):
    # The default voice premium ($0.30 on a $1.00 tier) is below the upstream's $2.50: the synced
    # cost raises the price to cost + MIN_MARGIN, shown before purchase and charged, never a loss.
    from verifications.catalogue import sync_costs
    from providers.registry import get_provider

    make_shop()
    sync_costs(provider=get_provider("textverified"))
    fund(alice, "5.00")
    api = api_for(alice)
    quote = api.get("/pricing/quote", {"service": "telegram", "country": "US", "capability": "voice"}).json()
    assert Decimal(quote["price"]) >= Decimal("2.75")
    response = api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "voice"},
                        format="json")
    assert response.status_code == 201, response.content
    assert response.json()["price"] == quote["price"]
    assert balance(alice) == Decimal("5.00") - Decimal(quote["price"])
