"""Events fired by real flows on the mock provider: purchase → SMS → completed, cancel, report,
expiry and a failed purchase → refunded; each only to the owner's endpoints, in each one's format."""
from datetime import timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks import Webhook

from hooks import services
from hooks.models import Delivery
from verifications.models import Country, Message, Service, Verification
from verifications.tests.lifecycle import api_for, fund, make_shop, run_checks

ABOUT = {"verification_id", "activation_id", "service", "country", "capability", "phone_number"}


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def hooked(alice, bob, receiver, bobs_receiver, allow_private):
    """alice and bob each with an endpoint taking every event; alice funded."""
    fund(alice, "5.00")
    fund(bob, "5.00")
    return (services.create_endpoint(owner=alice, url=receiver.url()),
            services.create_endpoint(owner=bob, url=bobs_receiver.url()))


def events(receiver, endpoint) -> list[dict]:
    """What the receiver got, each verified with the endpoint's secret as an integrator would."""
    return [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.requests]


def buy(api, service="telegram", capability="sms"):
    response = api.post("/verify/create", {"service": service, "country": "US", "capability": capability},
                        format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_purchase_whose_sms_arrives_sends_code_received_then_completed(shop, alice, hooked, receiver, bobs_receiver,
                                                                         settings, django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 0
    mine, _ = hooked
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        body = buy(api)
        run_checks()  # the workers' check brings the SMS
        api.get(f"/verify/{body['id']}/messages")
    verification = Verification.objects.get(pk=body["id"])
    message = Message.objects.get(verification=verification)
    received, completed = events(receiver, mine)
    assert received["type"] == "verification.code_received"
    assert received["data"] == {
        "verification_id": body["id"], "activation_id": body["activation_id"], "service": "telegram", "country": "US",
        "capability": "sms", "phone_number": body["phone_number"], "kind": "sms", "code": message.code,
        "text": message.text, "received_at": message.received_at.isoformat().replace("+00:00", "Z"),
    }
    assert completed["type"] == "verification.completed"
    assert set(completed["data"]) == ABOUT | {"status", "code", "completed_at"}
    assert (completed["data"]["status"], completed["data"]["code"]) == ("completed", message.code)
    assert completed["data"]["completed_at"] == verification.completed_at.isoformat().replace("+00:00", "Z")
    assert bobs_receiver.requests == []
    assert Delivery.objects.filter(endpoint=mine, status="delivered").count() == 2

    # Polling again brings nothing new: nothing is sent again; finishing sends nothing either.
    with django_capture_on_commit_callbacks(execute=True):
        run_checks()
        api.get(f"/verify/{body['id']}/messages?refresh=1")
    assert len(receiver.requests) == 2


def test_every_later_sms_is_pushed_but_completed_only_once(shop, alice, hooked, receiver, settings,
                                                            django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 0
    mine, _ = hooked
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        body = buy(api, service="test-two-codes")
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        with django_capture_on_commit_callbacks(execute=True):
            run_checks()
        got = events(receiver, mine)
    kinds = [e["type"] for e in got]
    assert kinds.count("verification.completed") == 1
    codes = [e["data"]["code"] for e in got if e["type"] == "verification.code_received"]
    stored = list(Message.objects.filter(verification_id=body["id"]).order_by("received_at").values_list("code", flat=True))
    assert sorted(codes) == sorted(stored) and len(set(codes)) == 2


def test_a_cancel_sends_refunded_with_the_amount(shop, alice, hooked, receiver, bobs_receiver, settings,
                                                  django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 600
    mine, _ = hooked
    api = api_for(alice)
    body = buy(api)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/verify/{body['id']}").status_code == 200
        assert api.delete(f"/verify/{body['id']}").status_code == 409  # no second refund, no second event
    [refunded] = events(receiver, mine)
    verification = Verification.objects.get(pk=body["id"])
    assert refunded["type"] == "verification.refunded"
    assert refunded["data"] == {
        "verification_id": body["id"], "activation_id": body["activation_id"], "service": "telegram", "country": "US",
        "capability": "sms", "phone_number": body["phone_number"], "reason": "cancelled", "amount": "1.00",
        "currency": "USD", "refunded_at": verification.refunded_at.isoformat().replace("+00:00", "Z"),
    }
    assert bobs_receiver.requests == []


def test_a_report_and_an_expiry_send_refunded_with_their_reason(shop, alice, hooked, receiver, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 100000
    mine, _ = hooked
    api = api_for(alice)
    reported, expiring = buy(api, service="whatsapp"), buy(api, service="test-pending")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/verify/{reported['id']}/report").status_code == 200
    got = {e["data"]["verification_id"]: e["data"] for e in events(receiver, mine)}
    receiver.requests.clear()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        with django_capture_on_commit_callbacks(execute=True):
            run_checks()
        assert api.get(f"/verify/{expiring['id']}").json()["status"] == "expired"
        got.update({e["data"]["verification_id"]: e["data"] for e in events(receiver, mine)})
    assert (got[reported["id"]]["reason"], got[reported["id"]]["amount"]) == ("reported", "1.50")
    assert (got[expiring["id"]]["reason"], got[expiring["id"]]["amount"]) == ("expired", "1.00")


def test_a_failed_purchase_sends_refunded(shop, alice, hooked, receiver, django_capture_on_commit_callbacks):
    mine, _ = hooked
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/verify/create", {"service": "test-no-numbers", "country": "US", "capability": "sms"},
                            format="json")
    assert response.status_code == 503
    [refunded] = events(receiver, mine)
    assert (refunded["type"], refunded["data"]["reason"], refunded["data"]["amount"]) == (
        "verification.refunded", "purchase_failed", "1.00")
    assert refunded["data"]["phone_number"] == ""  # no number was ever rented


def test_an_sms_activate_endpoint_gets_the_protocols_body_signed(shop, alice, receiver, allow_private, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 0
    Service.objects.filter(slug="telegram").update(protocol_code="tg")
    Country.objects.filter(code="US").update(protocol_id=187)
    fund(alice, "5.00")
    endpoint = services.create_endpoint(owner=alice, url=receiver.url(), format="sms-activate")
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        body = buy(api)
        run_checks()  # the workers' check brings the SMS
        api.get(f"/verify/{body['id']}/messages")
    [request] = receiver.requests  # code_received only: no completed in this format
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    message = Message.objects.get(verification_id=body["id"])
    assert payload == {"activationId": body["activation_id"], "service": "tg", "text": message.text,
                       "code": message.code, "country": 187,
                       "receivedAt": message.received_at.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S")}
    assert isinstance(payload["activationId"], int) and isinstance(payload["country"], int)


def test_a_voice_call_with_a_code_is_pushed_with_its_transcription(shop, alice, hooked, receiver, settings,
                                                                    django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 0
    mine, _ = hooked
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        body = buy(api, capability="voice")
        run_checks()
    voice = api.get(f"/verify/{body['id']}/voice").json()  # after the transcription committed
    received = [e for e in events(receiver, mine) if e["type"] == "verification.code_received"]
    call = voice["calls"][0]
    assert [(e["data"]["kind"], e["data"]["code"], e["data"]["text"]) for e in received] == [
        ("call", call["code"], call["transcription"])]
    assert received[0]["data"]["capability"] == "voice"


def test_an_endpoint_that_asked_for_refunds_only_gets_nothing_else(shop, alice, receiver, allow_private, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    services.create_endpoint(owner=alice, url=receiver.url(), events=["verification.refunded"])
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        body = buy(api)
        run_checks()  # the workers' check brings the SMS
        api.get(f"/verify/{body['id']}/messages")
    assert receiver.requests == [] and not Delivery.objects.exists()
    assert Decimal(api.get("/account").json()["balance"]) == Decimal("4.00")


def test_a_voice_call_sends_completed_when_its_recording_is_ours_then_code_received_once_transcribed(
        shop, alice, hooked, receiver, settings, django_capture_on_commit_callbacks):
    settings.MOCK_SMS_DELAY = 0
    mine, _ = hooked
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        body = buy(api, capability="voice")
        run_checks()  # the call arrives; its recording is fetched, stored and transcribed (eager tasks)
    kinds = [e["type"] for e in events(receiver, mine)]
    assert kinds == ["verification.completed", "verification.code_received"], kinds
    completed, received = events(receiver, mine)
    voice = api.get(f"/verify/{body['id']}/voice").json()
    call = voice["calls"][0]
    assert call["code_confidence"] == "confident" and received["data"]["code"] == call["code"] == voice["code"]
    assert received["data"]["kind"] == "call" and received["data"]["text"] == call["transcription"]
