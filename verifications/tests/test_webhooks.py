"""POST /webhooks/textverified: signed v2.sms.received events complete verifications at once."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from providers.textverified import webhooks as tv
from verifications import checks
from verifications.models import Message, PricingSettings, Verification
from verifications.tests.lifecycle import api_for, fake_textverified, fund, make_shop

SECRET = "whsec_" + "k" * 32
URL = "/webhooks/textverified"


@pytest.fixture
def configured(settings):
    settings.TEXTVERIFIED_WEBHOOK_SECRET = SECRET


@pytest.fixture
def fake(configured, settings):
    with fake_textverified(settings, sms_delay=None) as server:
        yield server


@pytest.fixture
def shop(db):
    return make_shop()


def envelope(reservation, *, text="Your code is 481516", code="481516", created="2030-01-01T00:00:00Z", **extra):
    data = {"reservationId": reservation, "from": "22000", "to": "5550100", "createdAt": created,
            "smsContent": text, "parsedCode": code, "encrypted": False}
    return {"id": "evt_1", "event": "v2.sms.received", "occurredAt": created, "attempt": 1,
            "idempotencyKey": f"{reservation}.1", "data": data, **extra}


def post(client, payload, *, secret=SECRET, signature=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {tv.SIGNATURE_HEADER: signature if signature is not None else tv.sign(body, secret)}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def bought(fake, alice) -> Verification:
    fund(alice, "5.00")
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                                   format="json")
    return Verification.objects.get(pk=response.json()["id"])


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


def test_a_signed_sms_completes_the_verification_at_once(client, fake, shop, alice):
    verification = bought(fake, alice)
    response = post(client, envelope(verification.provider_ref, created=now_iso()))
    assert response.status_code == 200 and response.json() == {"received": True, "handled": True, "stored": 1}
    verification.refresh_from_db()
    assert verification.status == Verification.Status.COMPLETED
    assert api_for(alice).get(f"/verify/{verification.pk}/messages").json()["code"] == "481516"


def test_a_redelivery_and_the_same_sms_from_a_later_poll_are_stored_once(client, fake, shop, alice):
    verification = bought(fake, alice)
    # The fake delivers it too, so the next poll returns the same SMS under its own id.
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 481516", code="481516")
    polled = api_for(alice).get(f"/verify/{verification.pk}/messages?refresh=1").json()["messages"][0]
    again = envelope(verification.provider_ref, created=polled["received_at"])
    assert post(client, again).json()["stored"] == 0
    assert post(client, again).json()["stored"] == 0
    assert Message.objects.filter(verification=verification).count() == 1


@pytest.mark.parametrize("signature", ["", "HMAC-SHA512=bm90LWl0", "HMAC-SHA512=???", "garbage"])
def test_a_missing_or_wrong_signature_is_refused_and_stores_nothing(client, fake, shop, alice, signature):
    verification = bought(fake, alice)
    response = post(client, envelope(verification.provider_ref, created=now_iso()), signature=signature)
    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_signature"
    assert not Message.objects.exists()


def test_a_body_changed_after_signing_is_refused(client, configured, db):
    body = json.dumps(envelope("lr_X")).encode()
    signature = tv.sign(body, SECRET)
    response = post(client, body.replace(b"481516", b"000000"), signature=signature)
    assert response.status_code == 401


def test_the_secret_is_accepted_with_or_without_its_whsec_prefix(client, configured, db):
    assert post(client, envelope("lr_unknown"), secret=SECRET).status_code == 200
    assert post(client, envelope("lr_unknown"), secret=SECRET.removeprefix("whsec_")).status_code == 200
    assert post(client, envelope("lr_unknown"), secret="whsec_" + "x" * 32).status_code == 401


def test_envelope_casing_is_read_tolerantly(client, fake, shop, alice):
    verification = bought(fake, alice)
    payload = envelope(verification.provider_ref, created=now_iso())
    payload = {"Event": payload["event"], "Id": "evt_2", "Data": {k[0].upper() + k[1:]: v for k, v in payload["data"].items()}}
    assert post(client, payload).json()["stored"] == 1


def test_other_events_and_unknown_reservations_are_acknowledged(client, configured, db):
    other = post(client, {"id": "evt_3", "event": "v2.reservation.created", "data": {"id": "lr_1", "type": "rental"}})
    assert other.status_code == 200 and other.json()["handled"] is False
    unknown = post(client, envelope("lr_not_ours"))
    assert unknown.status_code == 200 and unknown.json()["stored"] == 0


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"data": {}}', b'{"event": "v2.sms.received", "data": {}}'])
def test_a_body_that_is_not_an_event_is_a_400(client, configured, db, body):
    response = post(client, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_payload"


def test_an_sms_for_a_settled_verification_or_older_than_the_purchase_is_ignored(client, fake, shop, alice):
    verification = bought(fake, alice)
    old = (verification.created_at - timedelta(hours=1)).isoformat()
    assert post(client, envelope(verification.provider_ref, created=old)).json()["stored"] == 0  # recycled number
    assert api_for(alice).delete(f"/verify/{verification.pk}").status_code == 200
    assert post(client, envelope(verification.provider_ref, created=now_iso())).json()["stored"] == 0
    verification.refresh_from_db()
    assert verification.status == Verification.Status.CANCELLED and not Message.objects.exists()


def test_off_without_a_secret_and_post_only(client, settings, db):
    settings.TEXTVERIFIED_WEBHOOK_SECRET = None
    assert post(client, envelope("lr_1"), secret="anything-at-all-long").status_code == 404
    settings.TEXTVERIFIED_WEBHOOK_SECRET = SECRET
    assert client.get(URL).status_code == 405


def test_arriving_webhooks_slow_the_pollers_safety_net(client, configured, db, settings):
    settings.MESSAGE_REFRESH_INTERVAL, settings.WEBHOOK_POLL_INTERVAL = 3, 30
    assert not checks.webhooks_arriving()
    post(client, envelope("lr_unknown"))
    assert checks.webhooks_arriving()
    cache.delete(checks.WEBHOOK_KEY)
    checks.forget_memos()
    assert not checks.webhooks_arriving()


@pytest.mark.django_db(transaction=True)
def test_the_fake_server_pushes_each_sms_to_a_live_server(live_server, settings):
    settings.TEXTVERIFIED_WEBHOOK_SECRET = SECRET
    from accounts.models import User

    with fake_textverified(settings, sms_delay=None, webhook_url=f"{live_server.url}{URL}",
                           webhook_secret=SECRET) as server:
        make_shop()
        alice = User.objects.create_user("pushed@example.com", "correct-horse-battery")
        verification = bought(server, alice)
        server.fake.deliver_sms(verification.provider_ref, text="Your code is 135790", code="135790")
        # Counted once the sender has read our answer, so the verification is stored by then.
        assert server.fake.webhooks.wait_for("delivered", 1, timeout=10)
        verification.refresh_from_db()
        assert verification.status == Verification.Status.COMPLETED
        assert Message.objects.get(verification=verification).code == "135790"
        assert server.fake.count("GET", "/api/pub/v2/sms") == 0  # nobody polled: the code was pushed


def test_an_sms_to_a_voice_number_is_acknowledged_and_not_stored(client, fake, shop, alice):
    PricingSettings.objects.update_or_create(pk=1, defaults={"voice_premium": Decimal("2.00")})  # above $2.50
    fund(alice, "5.00")
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "voice"},
                                   format="json")
    verification = Verification.objects.get(pk=response.json()["id"])
    answer = post(client, envelope(verification.provider_ref, created=now_iso()))
    assert answer.status_code == 200 and answer.json()["stored"] == 0
    verification.refresh_from_db()
    assert verification.status == Verification.Status.PENDING
