"""GET /verify/{id}/calls/{call_id}/recording: the owner only (session, JWT or API key), another
user 404, anonymous 401; the right Content-Type, Range requests, never cached outside the owner's
browser; and the retention task that deletes recordings."""
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import create_api_key
from providers import simulation
from verifications.models import Verification, VoiceCall
from verifications.tests.lifecycle import fund, make_shop
from verifications.voice_tasks import delete_old_recordings

AUDIO = (simulation.RECORDINGS_DIR / "call-05.mp3").read_bytes()


@pytest.fixture
def call(db, alice):
    from verifications import services

    shop = make_shop()
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["telegram"], country=shop["us"], capability="voice")
    name = default_storage.save(f"recordings/{verification.pk}/1.mp3", ContentFile(AUDIO))
    return VoiceCall.objects.create(
        verification=verification, provider="mock", provider_call_id="c1", caller="+18005550100",
        recording_uri="mock-recording:call-05.mp3", recording_state=VoiceCall.Recording.STORED, recording=name,
        recording_content_type="audio/mpeg", recording_size=len(AUDIO), delivered_at=timezone.now(),
        received_at=timezone.now())


def url(call) -> str:
    return f"/verify/{call.verification_id}/calls/{call.pk}/recording"


def body(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


def test_the_owner_gets_it_whole_by_session(client, alice, call):
    client.force_login(alice)
    response = client.get(url(call))
    assert response.status_code == 200 and body(response) == AUDIO
    assert response["Content-Type"] == "audio/mpeg" and response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, no-store" and int(response["Content-Length"]) == len(AUDIO)


def test_the_owner_gets_byte_ranges_as_a_player_seeks(client, alice, call):
    client.force_login(alice)
    first = client.get(url(call), HTTP_RANGE="bytes=0-99")
    assert first.status_code == 206 and body(first) == AUDIO[:100]
    assert first["Content-Range"] == f"bytes 0-99/{len(AUDIO)}" and first["Content-Length"] == "100"
    rest = client.get(url(call), HTTP_RANGE="bytes=1000-")
    assert rest.status_code == 206 and body(rest) == AUDIO[1000:]
    tail = client.get(url(call), HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and body(tail) == AUDIO[-10:]
    past = client.get(url(call), HTTP_RANGE=f"bytes={len(AUDIO)}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{len(AUDIO)}"
    several = client.get(url(call), HTTP_RANGE="bytes=0-1,5-6")  # several ranges: the whole file
    assert several.status_code == 200 and body(several) == AUDIO


def test_the_owner_gets_it_with_a_jwt_or_an_api_key(alice, call):
    jwt = APIClient().post("/auth/token", {"email": "alice@example.com", "password": "correct-horse-battery"},
                           format="json").json()["access"]
    by_jwt = APIClient().get(url(call), HTTP_AUTHORIZATION=f"Bearer {jwt}", HTTP_RANGE="bytes=10-19")
    assert by_jwt.status_code == 206 and body(by_jwt) == AUDIO[10:20]
    _, key = create_api_key(user=alice, name="tool")
    by_key = APIClient().get(url(call), HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert by_key.status_code == 200 and body(by_key) == AUDIO


def test_another_user_gets_404_and_anonymous_401(client, bob, call):
    anonymous = client.get(url(call))
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    client.force_login(bob)
    theirs = client.get(url(call))
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "not_found"
    assert b"ID3" not in theirs.content


def test_a_call_whose_recording_we_do_not_hold_is_404(client, alice, call):
    client.force_login(alice)
    assert client.get(f"/verify/{call.verification_id}/calls/{call.pk + 1}/recording").status_code == 404
    VoiceCall.objects.filter(pk=call.pk).update(recording_state=VoiceCall.Recording.WAITING)
    assert client.get(url(call)).status_code == 404


def test_recordings_are_deleted_after_the_retention_period(client, alice, call, settings):
    settings.RECORDING_RETENTION_DAYS = 30
    assert delete_old_recordings.delay().get() == 0  # a fresh one stays
    VoiceCall.objects.filter(pk=call.pk).update(received_at=timezone.now() - timedelta(days=31))
    version = Verification.objects.get(pk=call.verification_id).version
    assert delete_old_recordings.delay().get() == 1
    call.refresh_from_db()
    assert call.recording_state == VoiceCall.Recording.DELETED and not call.recording
    assert not default_storage.exists(f"recordings/{call.verification_id}/1.mp3")
    assert Verification.objects.get(pk=call.verification_id).version == version + 1  # polls show it
    client.force_login(alice)
    assert client.get(url(call)).status_code == 404
    assert delete_old_recordings.delay().get() == 0  # safe to run twice


def test_a_lost_transcription_is_queued_again_by_the_sweep(call, settings, django_capture_on_commit_callbacks):
    from verifications.voice_tasks import fetch_due_recordings

    settings.VOICE_MODEL_DIR = "/nonexistent-model"  # the task's outcome is enough here: it ran
    VoiceCall.objects.filter(pk=call.pk).update(transcription_queued_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        fetch_due_recordings.delay()
    call.refresh_from_db()
    assert call.transcription_state == VoiceCall.Transcription.PENDING  # queued a minute ago: still in its lease
    VoiceCall.objects.filter(pk=call.pk).update(transcription_queued_at=timezone.now() - timedelta(minutes=4))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        fetch_due_recordings.delay()
    call.refresh_from_db()
    assert call.transcription_state == VoiceCall.Transcription.UNAVAILABLE and len(queued) >= 1
