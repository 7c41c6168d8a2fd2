"""GET /verify/{id}/messages and /voice through Django for every credential: the answer cached by
(id, version), the version as ETag, 304 without SQL, Retry-After while pending, never a stale or
another user's answer."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts
from providers.base import Sms
from verifications import polling, services
from verifications.models import Verification
from verifications.tests.lifecycle import fund, make_shop, run_checks


@pytest.fixture
def shop(db):
    return make_shop()


def key_client(user) -> APIClient:
    _, key = accounts.create_api_key(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def jwt_client(user) -> APIClient:
    client = APIClient()
    access = client.post("/auth/token", {"email": user.email, "password": "correct-horse-battery"},
                         format="json").json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def buy(api, service="test-pending", capability="sms") -> Verification:
    response = api.post("/verify/create", {"service": service, "country": "US", "capability": capability},
                        format="json")
    assert response.status_code == 201, response.content
    return Verification.objects.get(pk=response.json()["id"])


def sms(code="424242", seconds=1) -> Sms:
    return Sms(id=f"s{code}", sender="22000", text=f"Your code is {code}", code=code,
               received_at=timezone.now() + timedelta(seconds=seconds))


def version(verification) -> int:
    return Verification.objects.values_list("version", flat=True).get(pk=verification.pk)


@pytest.mark.parametrize("credential", [key_client, jwt_client])
def test_a_repeated_poll_is_answered_from_the_cache_with_no_sql(shop, alice, credential,
                                                                django_assert_num_queries):
    fund(alice, "5.00")
    api = credential(alice)
    verification = buy(api)
    first = api.get(f"/verify/{verification.pk}/messages")
    assert first.status_code == 200 and first["ETag"] == f'"v{version(verification)}"'
    api.get(f"/verify/{verification.pk}/messages")  # an API key's last-use stamp is written once a minute
    with django_assert_num_queries(0):
        again = api.get(f"/verify/{verification.pk}/messages")
    assert again.status_code == 200 and again.content == first.content and again["ETag"] == first["ETag"]


def test_a_matching_if_none_match_is_a_304_with_no_body_and_no_sql(shop, alice,
                                                                   django_assert_num_queries):
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api)
    etag = api.get(f"/verify/{verification.pk}/messages")["ETag"]
    with django_assert_num_queries(0):
        response = api.get(f"/verify/{verification.pk}/messages", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == etag and response["Retry-After"] == "3"
    # Weak validators and lists match too; another version does not.
    assert api.get(f"/verify/{verification.pk}/messages", HTTP_IF_NONE_MATCH=f'"v0", W/{etag}').status_code == 304
    assert api.get(f"/verify/{verification.pk}/messages", HTTP_IF_NONE_MATCH='"v0"').status_code == 200


def test_pending_answers_carry_retry_after_and_settled_ones_do_not(shop, alice, settings):
    settings.MESSAGE_REFRESH_INTERVAL = 4.5
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api)
    assert api.get(f"/verify/{verification.pk}/messages")["Retry-After"] == "5"
    services.record_received(verification, [sms()])
    done = api.get(f"/verify/{verification.pk}/messages")
    assert done.json()["status"] == "completed" and "Retry-After" not in done


def test_each_change_a_poll_shows_bumps_the_version_and_the_next_poll_shows_it(shop, alice):
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api)
    url = f"/verify/{verification.pk}/messages"
    etags = [api.get(url)["ETag"]]

    services.record_received(verification, [Sms(id="t", sender="1", text="no code here", code=None,
                                                 received_at=timezone.now())])
    body = api.get(url, HTTP_IF_NONE_MATCH=etags[-1])
    assert body.status_code == 200 and [m["text"] for m in body.json()["messages"]] == ["no code here"]
    etags.append(body["ETag"])

    services.record_received(verification, [sms("111111")])
    body = api.get(url, HTTP_IF_NONE_MATCH=etags[-1])
    assert body.status_code == 200 and (body.json()["status"], body.json()["code"]) == ("completed", "111111")
    etags.append(body["ETag"])

    services.record_received(verification, [sms("222222", seconds=5)])  # a second code
    body = api.get(url, HTTP_IF_NONE_MATCH=etags[-1])
    assert body.status_code == 200 and body.json()["code"] == "222222"
    etags.append(body["ETag"])
    assert len(set(etags)) == 4 and etags[-1] == f'"v{version(verification)}"'


def test_cancel_and_expiry_change_the_answer_at_once(shop, alice):
    fund(alice, "5.00")
    api = key_client(alice)
    cancelled, expiring = buy(api), buy(api)
    for verification in (cancelled, expiring):
        api.get(f"/verify/{verification.pk}/messages")  # cached as pending
    assert api.delete(f"/verify/{cancelled.pk}").status_code == 200
    assert api.get(f"/verify/{cancelled.pk}/messages").json()["status"] == "cancelled"
    expiring.refresh_from_db()
    with time_machine.travel(expiring.expires_at + timedelta(seconds=1)):
        # Expiry is the schedule's: the check at expires_at settles it, and the next poll shows it.
        assert api.get(f"/verify/{expiring.pk}/messages").json()["status"] == "pending"
        run_checks(expiring)
        assert api.get(f"/verify/{expiring.pk}/messages").json()["status"] == "expired"
    assert Verification.objects.get(pk=expiring.pk).refunded_at is not None


def test_a_background_check_that_finds_nothing_new_keeps_the_version(shop, alice):
    fund(alice, "5.00")
    verification = buy(key_client(alice))
    before = version(verification)
    for _ in range(3):
        services.record_received(verification, [])
        assert run_checks(verification) == 1
    assert version(verification) == before


def test_the_same_sms_brought_twice_bumps_the_version_once(shop, alice):
    fund(alice, "5.00")
    verification = buy(key_client(alice))
    before = version(verification)
    message = Sms(id="x", sender="1", text="hello", code=None, received_at=timezone.now())
    assert services.record_received(verification, [message]) == 1
    assert services.record_received(verification, [message]) == 0  # a webhook, then the poller
    assert version(verification) == before + 1


def test_another_users_poll_never_gets_the_cached_answer(shop, alice, bob):
    fund(alice, "5.00")
    verification = buy(key_client(alice))
    owner = key_client(alice)
    etag = owner.get(f"/verify/{verification.pk}/messages")["ETag"]
    assert polling.cached(verification.pk).user_id == alice.pk
    for path in ("messages", "voice"):
        response = key_client(bob).get(f"/verify/{verification.pk}/{path}", HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_cache_write_overtaken_by_a_newer_commit_is_corrected(shop, alice):
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api)
    api.get(f"/verify/{verification.pk}/messages")
    stale = polling.cached(verification.pk)  # what a reader read just before the next commit
    services.record_received(verification, [sms()])
    # That reader's write lands after the writer's: the version check that follows it rewrites it.
    polling.publish(verification.pk, stale)
    current = polling.cached(verification.pk)
    assert current.version == version(verification) > stale.version and current.status == "completed"
    assert api.get(f"/verify/{verification.pk}/messages").json()["code"] == "424242"


def test_a_poll_never_asks_the_provider_the_background_check_brings_the_code(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api, service="telegram")
    body = api.get(f"/verify/{verification.pk}/messages").json()
    assert body["status"] == "pending" and body["code"] is None
    run_checks(verification)
    body = api.get(f"/verify/{verification.pk}/messages").json()
    assert body["status"] == "completed" and body["code"]


def test_a_session_poll_uses_the_same_view_and_etag(shop, alice, client):
    fund(alice, "5.00")
    verification = buy(key_client(alice))
    client.force_login(alice)
    first = client.get(f"/verify/{verification.pk}/messages")
    assert first.status_code == 200 and first["ETag"] == f'"v{version(verification)}"'
    assert client.get(f"/verify/{verification.pk}/messages", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_the_poll_is_still_rate_limited_with_a_cached_answer(shop, alice, settings):
    settings.RATE_POLL = "3/m"
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api)
    statuses = [api.get(f"/verify/{verification.pk}/messages", HTTP_IF_NONE_MATCH='"v2"').status_code
                for _ in range(4)]
    assert statuses[-1] == 429 and 429 not in statuses[:3]


def test_a_voice_verification_is_cached_under_its_calls(shop, alice):
    fund(alice, "5.00")
    api = key_client(alice)
    verification = buy(api, service="telegram", capability="voice")
    voice = api.get(f"/verify/{verification.pk}/voice")
    assert voice.status_code == 200 and "calls" in voice.json()
    assert polling.cached(verification.pk).kind == "calls"
    # The messages of a voice verification are read from the database, never from the calls' entry.
    assert "messages" in api.get(f"/verify/{verification.pk}/messages").json()
    assert balance_of(alice) == Decimal("5.00") - verification.price


def balance_of(user) -> Decimal:
    user.account.refresh_from_db()
    return user.account.balance
