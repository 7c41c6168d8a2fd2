"""The polling read (verifications/snapshot.py): one SQL statement while the background poller runs,
the same JSON as the serializers, the same ownership rule, and expiry still settled on read."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from verifications import selectors
from verifications.tasks import expire_due
from verifications.api import CallOut, MessageOut
from verifications.models import Message, Verification, VoiceCall
from verifications.tests.lifecycle import api_for, balance, fund, make_shop, rewrite


@pytest.fixture
def shop(db):
    return make_shop()


def buy(api, capability="sms", service="telegram") -> Verification:
    response = api.post("/verify/create", {"service": service, "country": "US", "capability": capability}, format="json")
    assert response.status_code == 201, response.content
    return Verification.objects.get(pk=response.json()["id"])


def add_messages(verification):
    now = timezone.now()
    # Out of order, one without a code, two with the same timestamp: ordering and "latest code" rules.
    for i, (seconds, code) in enumerate([(5, "222222"), (1, ""), (5, "333333"), (3, "111111")]):
        Message.objects.create(verification=verification, provider="mock", provider_message_id=f"m{verification.pk}{i}",
                               sender="22000", text=f"<b>text {i}</b> ✓", code=code, received_at=now + timedelta(seconds=seconds))


def test_the_poll_body_matches_the_serializers_for_messages(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    add_messages(verification)
    messages = list(verification.messages.all())
    expected = {"status": "pending", "code": selectors.newest_code(messages),
                "expires_at": verification.expires_at.isoformat().replace("+00:00", "Z"),
                "messages": MessageOut(messages, many=True).data}
    body = api.get(f"/verify/{verification.pk}/messages").json()
    assert body == expected and body["code"] == "333333"
    assert [m["code"] for m in body["messages"]] == [None, "111111", "222222", "333333"]


def test_the_poll_body_matches_the_serializers_for_calls(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api, capability="voice")
    now = timezone.now()
    VoiceCall.objects.create(verification=verification, provider="mock", provider_call_id="c1", caller="+15550001",
                             duration=None, recording_uri="https://example.com/r.mp3", transcription="",
                             code="", received_at=now)
    VoiceCall.objects.create(verification=verification, provider="mock", provider_call_id="c2", caller="+15550002",
                             duration=31, recording_uri="r2", recording_state="available", recording="recordings/r2.ogg",
                             transcription="Your code is 9 8 7 6", code="9876", code_confidence="confident",
                             transcription_state="done", transcribed_at=now, received_at=now + timedelta(seconds=2))
    # An uncertain guess, later: it stays on its call, the verification's code is the confident one.
    VoiceCall.objects.create(verification=verification, provider="mock", provider_call_id="c3", caller="+15550003",
                             duration=12, recording_uri="r3", recording_state="available", recording="recordings/r3.ogg",
                             transcription="Your code is 5 5 5 1", code="5551", code_confidence="uncertain",
                             transcription_state="done", transcribed_at=now, transcription_requests=1,
                             received_at=now + timedelta(seconds=4))
    calls = list(verification.calls.all())
    body = api.get(f"/verify/{verification.pk}/voice").json()
    assert body == {"status": "pending", "code": "9876", "calls": CallOut(calls, many=True).data}
    first, second, third = body["calls"]
    assert (first["recording_url"], first["recording_status"], first["code_confidence"]) == (None, "pending", None)
    assert second["recording_url"] == f"/verify/{verification.pk}/calls/{calls[1].pk}/recording"
    assert (third["code"], third["code_confidence"], third["transcribe_again_left"]) == ("5551", "uncertain", 2)


def test_with_the_poller_running_a_first_poll_reads_once_and_checks_the_version_once(
        shop, alice, django_assert_num_queries):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api)
    add_messages(verification)
    # The read, then the version check after caching its answer (verifications/polling.py).
    with django_assert_num_queries(2):
        assert len(api.get(f"/verify/{verification.pk}/messages").json()["messages"]) == 4


def test_another_users_verification_is_not_found_on_the_fast_path(shop, alice, bob):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    for path in ("messages", "voice"):
        response = api_for(bob).get(f"/verify/{verification.pk}/{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_voice_endpoint_refuses_an_sms_verification_on_the_fast_path(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    response = api.get(f"/verify/{buy(api).pk}/voice")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_voice"


def test_a_poll_past_expiry_reads_and_the_schedule_settles_and_refunds(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    verification = buy(api, service="test-pending")
    rewrite(verification, expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"/verify/{verification.pk}/messages").json()["status"] == "pending"
    assert expire_due() == 1
    body = api.get(f"/verify/{verification.pk}/messages").json()
    assert body["status"] == "expired" and body["code"] is None
    assert balance(alice) == Decimal("5.00")
