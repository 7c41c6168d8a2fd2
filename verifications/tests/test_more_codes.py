"""More than one code per number (issue 16 item 4): SMS keep arriving until expiry, every one is
kept and shown, `code` is the latest; an SMS without a readable code still completes the sale;
finishing stops the upstream polls; another code is marked."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from providers.base import Sms
from verifications import services
from verifications.errors import WrongState
from verifications.models import Verification
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop


@pytest.fixture
def fake(settings):
    with fake_textverified(settings, sms_delay=None) as server:  # SMS only when a test sends one
        yield server


@pytest.fixture
def shop(db):
    return make_shop()


def buy(user) -> Verification:
    body = api_for(user).post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                              format="json").json()
    return Verification.objects.get(pk=body["id"])


def test_every_sms_until_expiry_is_shown_and_the_code_is_the_latest(fake, shop, alice):
    fund(alice, "5.00")
    verification = buy(alice)
    api = api_for(alice)
    fake.fake.deliver_sms(verification.provider_ref, text="Your code is 111111", code="111111")
    assert api.get(f"/verify/{verification.pk}/messages?refresh=1").json()["code"] == "111111"
    # The second one pushed, as TextVerified's webhook brings it (a forced poll is allowed once a second).
    services.record_received(verification, [Sms(id="w2", sender="22000", text="Your code is 222222", code="222222",
                                                 received_at=timezone.now() + timedelta(seconds=5))])
    body = api.get(f"/verify/{verification.pk}/messages").json()
    assert body["status"] == "completed" and body["code"] == "222222"
    assert [m["code"] for m in body["messages"]] == ["111111", "222222"]
    assert balance(alice) == Decimal("4.00")  # charged once, whatever the number of codes


def test_an_sms_without_a_readable_code_completes_the_sale(fake, shop, alice):
    fund(alice, "5.00")
    verification = buy(alice)
    services.record_received(verification, [Sms(id="s1", sender="1", text="Tap the link to sign in", code=None,
                                                 received_at=timezone.now())])
    verification.refresh_from_db()
    assert verification.status == "completed"
    with time_machine.travel(verification.expires_at + timedelta(seconds=1)):
        assert services.expire(verification=verification) is False
    assert balance(alice) == Decimal("4.00")  # its text was shown: no refund at expiry


def test_finish_stops_polling_upstream_and_repeats_quietly(fake, shop, alice):
    fund(alice, "5.00")
    verification = buy(alice)
    with pytest.raises(WrongState):
        services.finish(verification=verification)  # pending: nothing to finish
    services.record_received(verification, [Sms(id="s1", sender="1", text="code 1234", code="1234",
                                                 received_at=timezone.now())])
    services.finish(verification=verification)
    first = Verification.objects.get(pk=verification.pk).finished_at
    services.finish(verification=verification)
    assert Verification.objects.get(pk=verification.pk).finished_at == first
    with fake.fake.lock:
        before = sum(fake.fake.requests.values())
    services.refresh(verification=Verification.objects.get(pk=verification.pk), force=True)
    with fake.fake.lock:
        assert sum(fake.fake.requests.values()) == before


def test_another_code_is_marked_only_while_one_can_arrive(fake, shop, alice):
    fund(alice, "5.00")
    verification = buy(alice)
    services.request_another_code(verification=verification)  # pending: nothing to mark yet
    assert Verification.objects.get(pk=verification.pk).another_code_requested_at is None
    services.record_received(verification, [Sms(id="s1", sender="1", text="code 1234", code="1234",
                                                 received_at=timezone.now())])
    services.request_another_code(verification=verification)
    assert Verification.objects.get(pk=verification.pk).another_code_requested_at is not None
    with time_machine.travel(verification.expires_at + timedelta(seconds=1)), pytest.raises(WrongState):
        services.request_another_code(verification=Verification.objects.get(pk=verification.pk))


def test_seed_demo_sets_the_protocol_ids_and_keeps_what_staff_set(db):
    from django.core.management import call_command

    from verifications.models import Country, Service

    call_command("seed_demo", verbosity=0)
    assert Country.objects.get(code="US").protocol_id == 187 and Country.objects.get(code="GB").protocol_id == 16
    assert Service.objects.get(slug="whatsapp").protocol_code == "wa"
    assert Service.objects.get(slug="netflix").protocol_code is None  # no code in the protocol's table
    Service.objects.filter(slug="whatsapp").update(protocol_code="wapp")
    call_command("seed_demo", verbosity=0)
    assert Service.objects.get(slug="whatsapp").protocol_code == "wapp"


def test_every_verification_gets_its_own_activation_id(fake, shop, alice):
    fund(alice, "5.00")
    first, second = buy(alice), buy(alice)
    assert 0 < first.activation_id < second.activation_id
    assert api_for(alice).get("/verify").json()["results"][0]["activation_id"] == second.activation_id
