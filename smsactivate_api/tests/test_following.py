"""Following an activation (contract §4 and §5): setStatus, getStatus, getStatusV2, getFullSms,
getActiveActivations, getHistory, on the JSON API's services and its latest-code rule."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import LedgerEntry
from providers.base import Call
from smsactivate_api.tests.conftest import sms
from verifications import services
from verifications.models import ActivationNumber, Verification
from verifications.tests.lifecycle import api_for, balance, fund


@pytest.fixture
def bought(shop, alice, proto):
    """buy(**params) -> the Verification behind an ACCESS_NUMBER answer."""

    def buy(**params):
        body, _ = proto(action="getNumber", **({"service": "tg"} | params))
        assert body.startswith("ACCESS_NUMBER:"), body
        return Verification.objects.get(activation_id=int(body.split(":")[1]))

    fund(alice, "20.00")
    return buy


def refunds(verification) -> int:
    return LedgerEntry.objects.filter(verification=verification, kind=LedgerEntry.Kind.REFUND).count()


def status(proto, verification, action="getStatus"):
    return proto(action=action, id=str(verification.activation_id))[0]


def set_status(proto, verification, value):
    return proto(action="setStatus", id=str(verification.activation_id), status=str(value))[0]


def test_the_whole_lifecycle_wait_code_finish(shop, alice, proto, bought):
    verification = bought()
    assert status(proto, verification) == "STATUS_WAIT_CODE"
    assert set_status(proto, verification, 1) == "ACCESS_READY"
    sms(verification, text="Your Telegram code is 48-29-13", code="482913")
    assert status(proto, verification) == "STATUS_OK:482913"
    assert set_status(proto, verification, 6) == "ACCESS_ACTIVATION"
    assert set_status(proto, verification, 6) == "ACCESS_ACTIVATION"  # a repeat changes nothing
    verification.refresh_from_db()
    assert verification.status == "completed" and verification.finished_at is not None
    assert status(proto, verification) == "STATUS_OK:482913"
    assert balance(alice) == Decimal("19.00") and refunds(verification) == 0


def test_cancel_refunds_once_and_a_repeat_answers_success(shop, alice, proto, bought):
    verification = bought()
    assert set_status(proto, verification, 8) == "ACCESS_CANCEL"
    assert set_status(proto, verification, 8) == "ACCESS_CANCEL"
    assert set_status(proto, verification, -1) == "ACCESS_CANCEL"
    verification.refresh_from_db()
    assert verification.status == "cancelled" and refunds(verification) == 1
    assert balance(alice) == Decimal("20.00")
    assert status(proto, verification) == "STATUS_CANCEL"
    assert status(proto, verification, "getStatusV2") == "STATUS_CANCEL"
    assert status(proto, verification, "getFullSms") == "STATUS_CANCEL"


def test_legacy_minus_one_cancels(shop, alice, proto, bought):
    verification = bought()
    assert set_status(proto, verification, -1) == "ACCESS_CANCEL"
    verification.refresh_from_db()
    assert verification.status == "cancelled" and balance(alice) == Decimal("20.00")


def test_after_a_code_cancel_is_bad_status_and_the_charge_stands(shop, alice, proto, bought):
    verification = bought()
    sms(verification, text="code 111222", code="111222")
    assert set_status(proto, verification, 8) == "BAD_STATUS"
    finished = bought()
    sms(finished, text="code 333444", code="333444")
    set_status(proto, finished, 6)
    assert set_status(proto, finished, 8) == "BAD_STATUS"
    assert refunds(verification) == refunds(finished) == 0 and balance(alice) == Decimal("18.00")


def test_the_set_status_table(shop, alice, proto, bought):
    pending = bought()
    coded = bought()
    sms(coded, text="code 1", code="100001")
    finished = bought()
    sms(finished, text="code 2", code="200002")
    services.finish(verification=finished)
    cancelled = bought()
    set_status(proto, cancelled, 8)
    table = {
        # status: (pending, code received, finished, cancelled)
        "1": ("ACCESS_READY", "ACCESS_READY", "BAD_STATUS", "BAD_STATUS"),
        "3": ("ACCESS_RETRY_GET", "ACCESS_RETRY_GET", "BAD_STATUS", "BAD_STATUS"),
        "6": ("BAD_STATUS", "ACCESS_ACTIVATION", "ACCESS_ACTIVATION", "BAD_STATUS"),
        "2": ("BAD_STATUS",) * 4, "4": ("BAD_STATUS",) * 4, "0": ("BAD_STATUS",) * 4, "x": ("BAD_STATUS",) * 4,
    }
    for value, expected in table.items():
        answers = tuple(proto(action="setStatus", id=str(v.activation_id), status=value)[0]
                        for v in (pending, coded, finished, cancelled))
        assert answers == expected, value
    assert proto(action="setStatus", id=str(pending.activation_id))[0] == "BAD_STATUS"  # no status
    # 6 on "code received" finished it above; "3" came first, so it still waits for a retry... until finished.
    assert status(proto, coded) == "STATUS_OK:100001"


def test_another_code_waits_for_a_newer_sms_then_shows_it(shop, alice, proto, bought):
    verification = bought()
    assert set_status(proto, verification, 3) == "ACCESS_RETRY_GET"  # nothing to do yet
    assert status(proto, verification) == "STATUS_WAIT_CODE"
    sms(verification, text="first 111111", code="111111", seconds_after=1)
    assert status(proto, verification) == "STATUS_OK:111111"
    assert set_status(proto, verification, 3) == "ACCESS_RETRY_GET"
    assert status(proto, verification) == "STATUS_WAIT_RETRY:111111"
    listed = json.loads(proto(action="getActiveActivations")[0])["activeActivations"]
    assert listed[0]["activationStatus"] == "STATUS_WAIT_RETRY"
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        sms(verification, text="second 222222", code="222222", seconds_after=30)
        assert status(proto, verification) == "STATUS_OK:222222"
        assert set_status(proto, verification, 3) == "ACCESS_RETRY_GET"  # asking again moves the mark
        assert status(proto, verification) == "STATUS_WAIT_RETRY:222222"
    assert balance(alice) == Decimal("19.00")


def test_another_code_after_expiry_is_bad_status(shop, alice, proto, bought):
    verification = bought()
    sms(verification, text="code 5", code="555555")
    with time_machine.travel(verification.expires_at + timedelta(seconds=1)):
        assert set_status(proto, verification, 3) == "BAD_STATUS"
        assert status(proto, verification) == "STATUS_OK:555555"  # a coded activation is not refunded


def test_every_sms_is_kept_and_the_code_is_the_latest(shop, alice, proto, bought):
    verification = bought()
    sms(verification, text="one 111111", code="111111", seconds_after=1)
    sms(verification, text="two 222222", code="222222", seconds_after=20)
    sms(verification, text="no code here", code=None, seconds_after=30)
    assert status(proto, verification) == "STATUS_OK:222222"  # the JSON API's `code`: the latest code
    assert status(proto, verification, "getFullSms") == "FULL_SMS:no code here"  # the latest text
    messages = api_for(alice).get(f"/verify/{verification.pk}/messages").json()
    assert messages["code"] == "222222" and len(messages["messages"]) == 3


def test_an_sms_without_a_code_completes_and_stands_in_for_it(shop, alice, proto, bought):
    verification = bought()
    sms(verification, text="Open the app:\nyour login link\r\nis here", code=None)
    verification.refresh_from_db()
    assert verification.status == "completed"
    assert status(proto, verification) == "STATUS_OK:Open the app: your login link is here"
    v2 = json.loads(status(proto, verification, "getStatusV2"))
    assert v2["sms"]["code"] is None and v2["sms"]["text"] == "Open the app:\nyour login link\r\nis here"
    assert set_status(proto, verification, 8) == "BAD_STATUS"


def test_get_status_v2_waiting_and_after_an_sms(shop, alice, proto, bought):
    verification = bought()
    body = status(proto, verification, "getStatusV2")
    assert json.loads(body) == {"verificationType": 0, "sms": None, "call": None}
    sms(verification, text="Your code: 4829-13", code="4829-13", seconds_after=3)
    data = json.loads(status(proto, verification, "getStatusV2"))
    assert data["call"] is None and data["sms"]["code"] == "4829-13" and data["sms"]["text"] == "Your code: 4829-13"
    assert data["sms"]["dateTime"] == (verification.created_at + timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M:%S")


def test_voice_activations_show_the_latest_call(shop, alice, proto, bought):
    verification = bought(activationType="2")
    assert json.loads(status(proto, verification, "getStatusV2")) == {"verificationType": 2, "sms": None, "call": None}
    when = verification.created_at + timedelta(seconds=5)
    services.record_received(verification, [Call(id="c1", caller="+1 (800) 555-0100", received_at=when, duration=20,
                                                  recording_url="https://rec.example/c1.mp3",
                                                  transcription="Your code is 7 7 1 2", code="7712")])
    assert status(proto, verification) == "STATUS_OK:7712"
    call = json.loads(status(proto, verification, "getStatusV2"))["call"]
    assert call == {"from": "18005550100", "text": "Your code is 7 7 1 2", "code": "7712",
                    "dateTime": when.strftime("%Y-%m-%d %H:%M:%S"), "url": None,  # not ours yet
                    "parsingCount": 1}
    assert status(proto, verification, "getFullSms") == "FULL_SMS:Your code is 7 7 1 2"


def test_another_customers_or_a_malformed_id_is_no_activation(shop, alice, bob, proto, bob_key, bought):
    verification = bought()
    for action in ("getStatus", "getStatusV2", "getFullSms", "setStatus"):
        theirs = proto(action=action, id=str(verification.activation_id), status="8", api_key=bob_key)[0]
        assert theirs == "NO_ACTIVATION"
        for raw in ("abc", "0", "-5", str(2**70), "1.5"):
            assert proto(action=action, id=raw, status="8")[0] == "NO_ACTIVATION"
    assert proto(action="setStatus", status="8")[0] == "NO_ACTIVATION"
    verification.refresh_from_db()
    assert verification.status == "pending" and balance(alice) == Decimal("19.00")


def test_an_upstream_outage_during_a_cancel_is_error_sql_and_changes_nothing(shop, alice, proto, bought, settings):
    verification = bought()
    settings.MOCK_FAILURE_RATE = 1.0
    assert set_status(proto, verification, 8) == "ERROR_SQL"
    verification.refresh_from_db()
    assert verification.status == "pending" and refunds(verification) == 0


def test_an_upstream_that_refuses_a_cancel_for_now_is_early_cancel_denied(shop, alice, proto, bought):
    # The mock refuses to cancel a rental it sees as expired; ours is still open (its own expiry later).
    verification = bought(service="test-timeout")
    Verification.objects.filter(pk=verification.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    assert set_status(proto, verification, 8) == "EARLY_CANCEL_DENIED"
    verification.refresh_from_db()
    assert verification.status == "pending" and refunds(verification) == 0


def test_active_activations_list_open_ones_newest_first(shop, alice, bob, proto, bob_key, bought,
                                                        django_assert_max_num_queries):
    assert json.loads(proto(action="getActiveActivations")[0]) == {"status": "error", "error": "NO_ACTIVATIONS"}
    first, second, done, gone = bought(), bought(service="wa", country="16"), bought(), bought()
    sms(second, text="WhatsApp 123-456", code="123456")
    services.finish(verification=sms(done, text="x 1", code="1") and done)
    set_status(proto, gone, 8)
    for _ in range(5):
        bought()
    with django_assert_max_num_queries(12):
        data = json.loads(proto(action="getActiveActivations")[0])
    assert data["status"] == "success" and data["data"] == data["activeActivations"]
    rows = data["activeActivations"]
    assert len(rows) == 7 and rows[-1]["activationId"] == str(first.activation_id)
    row = next(r for r in rows if r["activationId"] == str(second.activation_id))
    assert row == {"activationId": str(second.activation_id), "serviceCode": "wa",
                   "phoneNumber": second.phone_number[1:], "activationCost": 1.5, "currency": 840,
                   "activationStatus": "STATUS_OK", "smsCode": "123456", "smsText": "WhatsApp 123-456",
                   "activationTime": second.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                   "activationEndTime": second.expires_at.strftime("%Y-%m-%d %H:%M:%S"), "discount": "0.00",
                   "repeated": "0", "countryCode": "16", "countryName": "United Kingdom", "canGetAnotherSms": "1"}
    assert all(r["activationId"] not in (str(done.activation_id), str(gone.activation_id)) for r in rows)
    assert len(json.loads(proto(action="getActiveActivations", start="2", limit="3")[0])["data"]) == 3
    assert json.loads(proto(action="getActiveActivations", api_key=bob_key)[0])["error"] == "NO_ACTIVATIONS"
    assert proto(action="getActiveActivations", start="x")[0] == "ERROR_SQL"
    with time_machine.travel(second.expires_at + timedelta(seconds=1)):
        assert json.loads(proto(action="getActiveActivations")[0])["error"] == "NO_ACTIVATIONS"


def test_history_lists_every_activation_with_its_outcome(shop, alice, proto, bought):
    kept, gone = bought(), bought(service="wa")
    sms(kept, text="Telegram code 777", code="777")
    set_status(proto, gone, 8)
    rows = json.loads(proto(action="getHistory")[0])
    assert [r["id"] for r in rows] == [str(gone.activation_id), str(kept.activation_id)]
    assert rows[0] == {"id": str(gone.activation_id), "date": gone.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                       "phone": gone.phone_number[1:], "sms": None, "cost": 1.5, "currency": 840,
                       "status": "STATUS_CANCEL", "service": "wa", "country": 187}
    assert rows[1]["status"] == "STATUS_OK" and rows[1]["sms"] == "Telegram code 777"
    later = int((timezone.now() + timedelta(hours=1)).timestamp())
    assert json.loads(proto(action="getHistory", start=str(later))[0]) == []
    assert len(json.loads(proto(action="getHistory", end=str(later), size="1")[0])) == 1
    assert len(json.loads(proto(action="getHistory", start="2000-01-01T00:00:00", offset="1")[0])) == 1
    assert proto(action="getHistory", start="yesterday")[0] == "ERROR_SQL"


def test_activation_ids_above_two_to_the_31_work_everywhere(shop, alice, proto, bought):
    big = 2**31 + 7
    ActivationNumber.objects.create(pk=big)
    if connection.vendor == "postgresql":
        # An explicit id does not move PostgreSQL's identity sequence: move it as an operator would.
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                           [ActivationNumber._meta.db_table, big])
    verification = bought()
    assert verification.activation_id == big + 1
    assert status(proto, verification) == "STATUS_WAIT_CODE"
    assert set_status(proto, verification, 8) == "ACCESS_CANCEL"
    assert json.loads(proto(action="getHistory")[0])[0]["id"] == str(big + 1)
    assert api_for(alice).get(f"/verify/{verification.pk}").json()["activation_id"] == big + 1
