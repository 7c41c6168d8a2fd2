"""The whole lifecycle through the API, on the real mock provider."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.models import LedgerEntry
from providers import simulation
from verifications.models import Message, Verification, VoiceCall
from verifications.tests.lifecycle import api_for, balance, fund, make_shop, run_checks
from voice.tests.conftest import speech_installed


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def instant_sms(settings):
    settings.MOCK_SMS_DELAY = 0


def create(client, service="telegram", country="US", capability="sms", **headers):
    return client.post("/verify/create", {"service": service, "country": country, "capability": capability},
                       format="json", headers=headers)


def test_it_sells_an_sms_number_and_shows_the_code(shop, alice, instant_sms):
    fund(alice, "5.00")
    api = api_for(alice)
    response = create(api)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {"id", "service", "country", "capability", "phone_number", "status", "price", "created_at", "expires_at"}
    assert (body["service"], body["country"], body["capability"], body["status"], body["price"]) == (
        "telegram", "US", "sms", "pending", "1.00")
    assert body["phone_number"].startswith("+1") and len(body["phone_number"]) == 12
    assert balance(alice) == Decimal("4.00")

    run_checks()  # the workers' check brings the SMS; the poll reads it
    messages = api.get(f"/verify/{body['id']}/messages").json()
    assert messages["status"] == "completed"
    assert messages["code"] and messages["code"].isdigit() and len(messages["code"]) == 6
    assert len(messages["messages"]) == 1
    assert set(messages["messages"][0]) == {"id", "sender", "text", "code", "received_at"}
    assert messages["code"] in messages["messages"][0]["text"]
    verification = Verification.objects.get(pk=body["id"])
    assert verification.completed_at is not None
    assert balance(alice) == Decimal("4.00")  # a code arrived: the charge stands


def test_it_sells_a_voice_number_with_the_voice_premium_and_shows_the_call(shop, alice, instant_sms,
                                                                          django_capture_on_commit_callbacks):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, capability="voice").json()
    assert (body["capability"], body["price"]) == ("voice", "1.30")
    assert balance(alice) == Decimal("3.70")
    with django_capture_on_commit_callbacks(execute=True):  # the check, the download and the transcription
        run_checks()
    voice = api.get(f"/verify/{body['id']}/voice").json()
    assert voice["status"] == "completed"  # the mock's recording is ours: the sale is complete
    call = voice["calls"][0]
    stored = VoiceCall.objects.get(pk=call["id"])
    assert call["recording_url"] == f"/verify/{body['id']}/calls/{stored.pk}/recording"
    assert call["recording_status"] == "available" and stored.recording_size > 1000
    said = simulation.recording_for(seed=Verification.objects.get(pk=body["id"]).provider_ref).code
    if speech_installed:
        assert call["transcription_status"] == "done" and call["transcription"] and call["code"] == said
        assert voice["code"] == (said if call["code_confidence"] == "confident" else None)
    else:
        assert call["transcription_status"] == "unavailable" and voice["code"] is None
    assert balance(alice) == Decimal("3.70")


def test_the_code_does_not_show_before_the_sms_arrives(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 8
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    early = api.get(f"/verify/{body['id']}/messages").json()
    assert (early["status"], early["code"], early["messages"]) == ("pending", None, [])
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        late = api.get(f"/verify/{body['id']}/messages?refresh=1").json()
    assert late["status"] == "completed" and late["code"]


def test_later_sms_are_kept_and_the_latest_code_is_shown(shop, alice, instant_sms):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, service="test-two-codes").json()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        messages = api.get(f"/verify/{body['id']}/messages?refresh=1").json()
    codes = [m["code"] for m in messages["messages"]]
    assert len(codes) == 2 and codes[0] != codes[1]
    assert messages["code"] == codes[-1]


def test_polling_twice_stores_each_sms_once(shop, alice, instant_sms):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    api.get(f"/verify/{body['id']}/messages")
    api.get(f"/verify/{body['id']}/messages?refresh=1")
    assert Message.objects.filter(verification_id=body["id"]).count() == 1


def test_cancel_refunds_exactly_once(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    first = api.delete(f"/verify/{body['id']}")
    assert first.status_code == 200, first.json()
    assert first.json() == {"id": body["id"], "status": "cancelled", "refunded": "1.00", "balance": "5.00"}
    second = api.delete(f"/verify/{body['id']}")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "wrong_state"
    assert balance(alice) == Decimal("5.00")
    assert LedgerEntry.objects.filter(verification_id=body["id"], kind="refund").count() == 1


def test_cancel_after_a_code_is_refused_and_refunds_nothing(shop, alice, instant_sms):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    run_checks()
    assert api.get(f"/verify/{body['id']}/messages").json()["code"]
    response = api.delete(f"/verify/{body['id']}")
    assert response.status_code == 409
    assert balance(alice) == Decimal("4.00")
    assert not LedgerEntry.objects.filter(verification_id=body["id"], kind="refund").exists()


def test_cancel_when_a_code_arrived_unseen_is_refused(shop, alice, settings):
    # The code arrived upstream but nobody polled yet: cancel looks first, so no refund is given for it.
    settings.MOCK_SMS_DELAY = 5
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        response = api.delete(f"/verify/{body['id']}")
    assert response.status_code == 409
    assert balance(alice) == Decimal("4.00")


def test_report_refunds_a_number_that_did_not_work(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    response = api.post(f"/verify/{body['id']}/report")
    assert response.status_code == 200
    assert response.json()["refunded"] == "1.00" and response.json()["status"] == "failed"
    assert balance(alice) == Decimal("5.00")
    assert api.post(f"/verify/{body['id']}/report").status_code == 409


def test_expiry_refunds_on_schedule_not_on_reads(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 100000
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, service="test-pending").json()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert api.get(f"/verify/{body['id']}").json()["status"] == "pending"
        run_checks()
        detail = api.get(f"/verify/{body['id']}").json()
    assert detail["status"] == "expired" and detail["refunded"] is True
    assert balance(alice) == Decimal("5.00")


def test_expiry_refunds_by_command_for_verifications_nobody_reads(shop, alice, settings, capsys):
    fund(alice, "5.00")
    api = api_for(alice)
    ids = [create(api, service="test-pending").json()["id"] for _ in range(2)]
    assert balance(alice) == Decimal("3.00")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        call_command("expire_verifications")
        call_command("expire_verifications")  # safe to run twice
    out = capsys.readouterr().out
    assert "expire_verifications: 2 expired and refunded" in out
    assert "expire_verifications: 0 expired" in out
    assert set(Verification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"expired"}
    assert balance(alice) == Decimal("5.00")


def test_a_provider_failure_after_charging_refunds_the_customer(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    for service in ("test-no-numbers", "test-unavailable", "test-insufficient-balance"):
        response = create(api, service=service)
        assert response.status_code == 503, response.json()
        assert response.headers["Retry-After"].isdigit()
    assert balance(alice) == Decimal("5.00")
    failed = Verification.objects.filter(user=alice)
    assert failed.count() == 3 and set(failed.values_list("status", flat=True)) == {"failed"}
    for verification in failed:
        kinds = sorted(LedgerEntry.objects.filter(verification=verification).values_list("kind", flat=True))
        assert kinds == ["charge", "refund"]


def test_idempotent_create_buys_once(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    first = create(api, **{"Idempotency-Key": "order-42"})
    again = create(api, **{"Idempotency-Key": "order-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert balance(alice) == Decimal("4.00")
    other_body = create(api, service="whatsapp", **{"Idempotency-Key": "order-42"})
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"
    assert Verification.objects.filter(user=alice).count() == 1


def test_idempotency_keys_are_scoped_per_user(shop, alice, bob):
    fund(alice, "5.00")
    fund(bob, "5.00")
    a = create(api_for(alice), **{"Idempotency-Key": "same"}).json()
    b = create(api_for(bob), **{"Idempotency-Key": "same"})
    assert b.status_code == 201 and b.json()["id"] != a["id"]


def test_an_idempotency_key_is_free_again_after_24_hours(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    api = api_for(alice)
    first = create(api, **{"Idempotency-Key": "daily"}).json()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        later = create(api, **{"Idempotency-Key": "daily"})
    assert later.status_code == 201 and later.json()["id"] != first["id"]


def test_request_bodies_cannot_set_money_or_state_fields(shop, alice):
    fund(alice, "5.00")
    api = api_for(alice)
    response = api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms",
                                           "price": "0.01", "status": "completed", "balance": "999",
                                           "user": 999, "provider": "x", "provider_ref": "x", "phone_number": "+1"},
                        format="json")
    assert response.status_code == 201
    verification = Verification.objects.get(pk=response.json()["id"])
    assert (verification.price, verification.status, verification.user) == (Decimal("1.00"), "pending", alice)
    assert verification.provider == "mock" and verification.provider_ref != "x"
    assert balance(alice) == Decimal("4.00")


def test_list_is_paginated_filtered_and_free_of_n_plus_one(shop, alice, settings, django_assert_max_num_queries):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "50.00")
    api = api_for(alice)
    for _ in range(5):
        create(api)
    create(api, service="whatsapp")
    with django_assert_max_num_queries(6):
        page = api.get("/verify?page_size=4").json()
    assert page["count"] == 6 and len(page["results"]) == 4 and page["next"]
    assert api.get("/verify?service=whatsapp").json()["count"] == 1
    assert api.get("/verify?status=cancelled").json()["count"] == 0


def test_messages_endpoint_query_count_does_not_grow_with_messages(shop, alice, instant_sms, django_assert_max_num_queries):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, service="test-two-codes").json()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        api.get(f"/verify/{body['id']}/messages?refresh=1")
    with django_assert_max_num_queries(8):
        response = api.get(f"/verify/{body['id']}/messages")
    assert len(response.json()["messages"]) == 2


def test_catalogue_endpoints_show_prices_and_countries(shop, client, django_assert_max_num_queries):
    client.get("/services")  # the first call creates the pricing settings row
    with django_assert_max_num_queries(2):
        services = client.get("/services").json()
    telegram = next(s for s in services if s["slug"] == "telegram")
    assert telegram["prices"] == {"sms": "1.00", "voice": "1.30"} and telegram["tier"] == "Standard"
    paypal = next(s for s in services if s["slug"] == "paypal")
    assert paypal["prices"]["sms"] is None and paypal["capabilities"] == ["voice"]
    countries = client.get("/countries").json()
    assert [c["code"] for c in countries] == ["US", "GB"]
    gb = countries[1]
    assert gb["simulated"] is True and gb["flag"] == "🇬🇧"
    quote = client.get("/pricing/quote?service=whatsapp&country=us&capability=voice").json()
    assert quote == {"service": "whatsapp", "country": "US", "capability": "voice", "currency": "USD", "price": "1.80"}


def test_account_and_transactions_show_the_ledger(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api).json()
    api.delete(f"/verify/{body['id']}")
    assert api.get("/account").json() == {"email": "alice@example.com", "balance": "5.00"}
    rows = api.get("/account/transactions").json()["results"]
    assert [(r["kind"], r["amount"]) for r in rows] == [("refund", "1.00"), ("charge", "-1.00"), ("topup", "5.00")]
    assert rows[0]["verification"] == body["id"]


def test_a_staff_refund_of_a_pending_verification_cancels_it_and_expiry_never_refunds_again(shop, alice, staff, settings):
    from verifications import services

    settings.MOCK_SMS_DELAY = 100000
    fund(alice, "5.00")
    body = create(api_for(alice), service="test-pending").json()
    verification = Verification.objects.get(pk=body["id"])
    entry = services.staff_refund(verification=verification, staff=staff)
    assert entry.created_by == staff and verification.status == "cancelled"
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        call_command("expire_verifications")
    assert LedgerEntry.objects.filter(verification=verification, kind="refund").count() == 1
    assert balance(alice) == Decimal("5.00")
