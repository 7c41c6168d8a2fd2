"""The integrators' poll in front of Django (verifications/fastpoll.py): the same answer as Django's,
and every request it is not sure of left to Django, counted once by the rate limit.

These tests call the WSGI application as gunicorn does (Django's test client skips the WSGI layer),
with the API keys of the real key service and the shared cache on Redis (skipped without one)."""
import io
import json
import logging
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory
from django.utils import timezone

from accounts import services as accounts
from namaskah import ratelimit
from django.db import connection
from django.test.utils import CaptureQueriesContext

from verifications import fastpoll, heartbeat, pollcache
from verifications.models import Message, Verification
from verifications.tests.lifecycle import api_for, balance, fund, make_shop
from verifications.tests.test_poll_read import add_messages, buy

DYNAMIC = {"X-Request-ID"}


@pytest.fixture
def redis_cache(settings):
    from django.core.cache import caches

    from namaskah.cache import RedisCache
    from providers.tests.support import REDIS_URL, drop_redis_keys

    if not isinstance(caches["default"], RedisCache):
        settings.CACHES = {"default": {"BACKEND": "namaskah.cache.RedisCache", "LOCATION": REDIS_URL,
                                       "KEY_PREFIX": f"fastpoll-test-{uuid.uuid4().hex[:12]}",
                                       "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}}}
    try:
        cache.set("ping", 1, 5)
    except Exception as exc:
        pytest.skip(f"the fast path needs Redis ({type(exc).__name__})")
    fastpoll._keys.clear()
    instance = caches["default"]
    yield instance
    fastpoll._keys.clear()
    drop_redis_keys(instance)  # this one: a test may have pointed the default cache elsewhere


@pytest.fixture
def shop(transactional_db, redis_cache, settings):
    settings.RATE_POLL = "1000/m"
    heartbeat.beat(cycle_seconds=0.1, polled=0)
    return make_shop()


@pytest.fixture
def key(alice):
    return accounts.create_api_key(user=alice, name="integration")[1]


class Served:
    """The WSGI answer: status code, headers, JSON body."""

    def __init__(self, status: str, headers: list, body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def json(self):
        return json.loads(self.body)


def call(app, path: str, *, key=None, query: str = "", secure: bool = False, **extra) -> Served:
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    environ = RequestFactory().get(path, secure=secure, **extra).environ
    environ["QUERY_STRING"] = query
    environ["wsgi.input"] = io.BytesIO(b"")
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=headers)

    body = b"".join(app(environ, start_response))
    return Served(answer["status"], answer["headers"], body)


def django_only(environ, start_response):
    raise AssertionError("the fast path passed this request to Django")


@pytest.fixture
def fast():
    """The fast path alone: fails the test if it passes the request on."""
    return fastpoll.FastPoll(django_only)


@pytest.fixture
def django_app():
    return WSGIHandler()


@pytest.fixture
def both():
    """Production's stack, with a record of what reached Django."""
    reached = []

    def recording(environ, start_response):
        reached.append(environ["PATH_INFO"])
        return WSGIHandler()(environ, start_response)  # built now: its middleware reads the settings once

    app = fastpoll.FastPoll(recording)
    app.reached = reached
    return app


def same_answer(fast_answer: Served, django_answer: Served) -> None:
    assert fast_answer.status_code == django_answer.status_code == 200
    assert fast_answer.body == django_answer.body
    strip = lambda headers: {k: v for k, v in headers.items() if k not in DYNAMIC}  # noqa: E731
    assert sorted(strip(fast_answer.headers).items()) == sorted(strip(django_answer.headers).items())


def test_a_poll_gets_djangos_answer_for_messages_pending_and_completed(shop, alice, key, fast, django_app):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    path = f"/verify/{verification.pk}/messages"
    same_answer(call(fast, path, key=key), call(django_app, path, key=key))
    add_messages(verification)
    Verification.objects.filter(pk=verification.pk).update(status=Verification.Status.COMPLETED)
    served = call(fast, path, key=key)
    same_answer(served, call(django_app, path, key=key))
    assert served.json()["code"] == "333333" and "<b>text 0</b> ✓" in served.body.decode()


def test_a_poll_gets_djangos_answer_for_voice_calls(shop, alice, key, fast, django_app):
    fund(alice, "5.00")
    verification = buy(api_for(alice), capability="voice")
    path = f"/verify/{verification.pk}/voice"
    same_answer(call(fast, path, key=key), call(django_app, path, key=key))


def test_https_headers_match_djangos(shop, alice, key, fast, django_app, settings):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD = 600, True, True
    served = call(fast, path, key=key, secure=True)
    same_answer(served, call(WSGIHandler(), path, key=key, secure=True))  # its middleware reads the settings now
    assert served.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains; preload"


def test_the_request_id_is_echoed_when_it_looks_like_one(shop, alice, key, fast):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    assert call(fast, path, key=key, HTTP_X_REQUEST_ID="client-id-1234").headers["X-Request-ID"] == "client-id-1234"
    generated = call(fast, path, key=key, HTTP_X_REQUEST_ID="bad id\n").headers["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()


def test_the_fast_path_logs_and_measures_like_the_middleware(shop, alice, key, fast, caplog):
    from monitoring import metrics

    fund(alice, "5.00")
    verification = buy(api_for(alice))
    add_messages(verification)
    def totals():
        row = metrics.as_json()["http"].get("api-verify-messages") or {"requests": 0}
        return row["requests"], metrics.DB_QUERIES.labels("api-verify-messages")._value.get()

    requests_before, queries_before = totals()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="namaskah.request"):
        served = call(fast, f"/verify/{verification.pk}/messages", key=key)
    assert totals() == (requests_before + 1, queries_before + 1)  # one request, one SQL statement
    [record] = [r for r in caplog.records if r.name == "namaskah.request"]
    assert record.status == 200 and record.user_id == alice.pk and record.request_id == served.headers["X-Request-ID"]
    assert "text" not in record.getMessage() and key not in record.getMessage()  # no SMS, no secret


def test_a_completed_verification_polled_stays_watched(shop, alice, key, fast):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    Verification.objects.filter(pk=verification.pk).update(status=Verification.Status.COMPLETED)
    call(fast, f"/verify/{verification.pk}/messages", key=key)
    assert heartbeat.watched([verification.pk]) == {verification.pk}


@pytest.mark.parametrize("case", ["no poller", "refresh", "jwt", "no key", "unknown key", "bad secret", "wrong host",
                                  "empty host", "http redirect", "switched off", "head", "session cookie",
                                  "accept xml", "accept indent"])
def test_requests_it_is_not_sure_of_go_to_django(shop, alice, key, both, settings, case):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    options, expected = {"key": key}, 200
    if case == "no poller":
        cache.delete(heartbeat.HEARTBEAT_KEY)
        heartbeat.forget_heartbeat()
    elif case == "refresh":
        options["query"] = "refresh=1"
    elif case == "jwt":
        from rest_framework_simplejwt.tokens import AccessToken

        options = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(alice)}"}
    elif case == "no key":
        options, expected = {}, 401
    elif case == "unknown key":
        options["key"], expected = "nmk_nosuchkey_" + "x" * 40, 401
    elif case == "bad secret":
        options["key"], expected = key[:-4] + "abcd", 401
    elif case == "wrong host":
        options["HTTP_HOST"], expected = "evil.example.com", 400
    elif case == "empty host":
        options["HTTP_HOST"], expected = "", 400
    elif case == "session cookie":
        options["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}=short"  # Django deletes a malformed one
    elif case == "accept xml":
        options["HTTP_ACCEPT"], expected = "application/xml", 406
    elif case == "accept indent":
        options["HTTP_ACCEPT"] = "application/json; indent=4"
    elif case == "http redirect":
        settings.SECURE_SSL_REDIRECT, expected = True, 301
    elif case == "switched off":
        settings.FAST_POLL = False
    if case == "head":
        environ = RequestFactory().head(path, HTTP_AUTHORIZATION=f"Api-Key {key}").environ
        environ["wsgi.input"] = io.BytesIO(b"")
        status = []
        b"".join(both(environ, lambda s, h, e=None: status.append(s)))
        assert status[0].startswith("200") and both.reached == [path]
        return
    served = call(both, path, **options)
    assert served.status_code == expected, served.body
    assert both.reached == [path]
    if case == "accept indent":
        assert served.body.startswith(b"{\n    ")


def test_a_revoked_key_is_refused_at_once(shop, alice, key, both):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    assert call(both, path, key=key).status_code == 200
    assert call(both, path, key=key).status_code == 200 and both.reached == []
    row = alice.api_keys.get()
    accounts.revoke_api_key(user=alice, key_id=row.pk)
    served = call(both, path, key=key)
    assert served.status_code == 401 and served.json()["error"]["code"] in ("authentication_failed", "not_authenticated")


def test_a_deactivated_user_is_refused_once_the_key_entry_is_rewritten(shop, alice, key, both):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    assert call(both, path, key=key).status_code == 200
    alice.is_active = False
    alice.save()
    cache.delete(accounts.api_key_cache_key(alice.api_keys.get().prefix))  # what the entry's expiry does
    assert call(both, path, key=key).status_code == 401
    assert call(both, path, key=key).status_code == 401  # the rewritten entry says inactive: not served fast


def test_not_found_wrong_kind_and_expiry_are_djangos_answers(shop, alice, bob, key, both):
    fund(alice, "5.00")
    fund(bob, "5.00")
    theirs = buy(api_for(bob))
    served = call(both, f"/verify/{theirs.pk}/messages", key=key)
    assert served.status_code == 404 and served.json()["error"]["code"] == "not_found"
    served = call(both, f"/verify/{uuid.uuid4()}/messages", key=key)
    assert served.status_code == 404
    mine = buy(api_for(alice), service="test-pending")
    served = call(both, f"/verify/{mine.pk}/voice", key=key)
    assert served.status_code == 409 and served.json()["error"]["code"] == "not_voice"
    Verification.objects.filter(pk=mine.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    served = call(both, f"/verify/{mine.pk}/messages", key=key)
    assert served.status_code == 200 and served.json()["status"] == "expired"
    assert balance(alice) == Decimal("5.00")  # refunded once, by Django's path


def test_each_poll_is_counted_once_whichever_path_answers(shop, alice, key, both, settings):
    settings.RATE_POLL = "4/m"
    fund(alice, "5.00")
    mine = buy(api_for(alice))
    path = f"/verify/{mine.pk}/messages"
    assert call(both, path, key=key).status_code == 200
    assert call(both, f"/verify/{uuid.uuid4()}/messages", key=key).status_code == 404  # passed on, counted once
    assert call(both, path, key=key).status_code == 200
    assert call(both, path, key=key).status_code == 200
    limited = call(both, path, key=key)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    counter = ratelimit.Counter(group="poll", rate="4/m", key=f"user:{alice.pk}")
    assert cache.get(counter.cache_key) == 5


def test_a_cache_outage_leaves_the_poll_to_django_which_fails_open(shop, alice, key, both, settings):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    assert call(both, path, key=key).status_code == 200 and both.reached == []
    settings.CACHES = {"default": {"BACKEND": "namaskah.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1}}}  # nothing listens
    served = call(both, path, key=key)
    assert served.status_code == 200 and served.json()["status"] == "pending" and both.reached == [path]


def test_messages_arriving_show_on_the_next_fast_poll(shop, alice, key, fast):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    path = f"/verify/{verification.pk}/messages"
    assert call(fast, path, key=key).json()["messages"] == []
    Message.objects.create(verification=verification, provider="mock", provider_message_id="new", sender="22000",
                           text="Your code is 424242", code="424242", received_at=timezone.now())
    assert call(fast, path, key=key).json()["code"] == "424242"


# --- the answer kept in the cache (verifications/pollcache.py) -----------------------------------------

def test_a_repeated_poll_needs_no_sql_until_the_verification_changes(shop, alice, key, fast):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    path = f"/verify/{verification.pk}/messages"
    first = call(fast, path, key=key)
    with CaptureQueriesContext(connection) as queries:
        again = call(fast, path, key=key)
    assert len(queries) == 0 and again.body == first.body
    Message.objects.create(verification=verification, provider="mock", provider_message_id="m1", sender="1",
                           text="code 555111", code="555111", received_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert call(fast, path, key=key).json()["code"] == "555111"
    assert len(queries) == 1


def _write_bulk_message(verification):
    Message.objects.bulk_create([Message(verification=verification, provider="mock", provider_message_id="b1",
                                         sender="1", text="code 777000", code="777000", received_at=timezone.now())])


def _write_queryset_update(verification):
    Verification.objects.filter(pk=verification.pk).update(status=Verification.Status.COMPLETED)


def _write_instance_save(verification):
    verification.status = Verification.Status.FAILED
    verification.save()


def _write_message_delete(verification):
    Message.objects.filter(verification=verification).delete()


def _write_bulk_update(verification):
    message = verification.messages.get()
    message.text, message.code = "now with 246810", "246810"
    Message.objects.bulk_update([message], ["text", "code"])


def _write_related_update(verification):
    verification.messages.update(code="135790")


def _write_expire(verification):
    from verifications import services

    Verification.objects.filter(pk=verification.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.expire(verification=Verification.objects.get(pk=verification.pk))


def _write_cancel(verification):
    from verifications import services

    # cancel()'s write (settle); the SMS stored above completes the sale, so cancel() itself refuses.
    services.settle(verification, status=Verification.Status.CANCELLED, reason="cancelled by customer",
                    memo="cancelled")


def _write_record_received(verification):
    from providers.base import Sms
    from verifications import services

    services.record_received(verification, [Sms(id="r1", sender="2", text="Your code: 313131", code="313131",
                                                received_at=timezone.now())])


@pytest.mark.parametrize("write", [_write_bulk_message, _write_queryset_update, _write_instance_save,
                                   _write_message_delete, _write_bulk_update, _write_related_update,
                                   _write_cancel, _write_expire, _write_record_received])
def test_every_kind_of_write_drops_the_cached_answer(shop, alice, key, both, write):
    fund(alice, "5.00")
    verification = buy(api_for(alice), service="test-pending")
    Message.objects.create(verification=verification, provider="mock", provider_message_id="m0", sender="1",
                           text="first", code="", received_at=timezone.now() - timedelta(seconds=5))
    path = f"/verify/{verification.pk}/messages"
    before = call(both, path, key=key).json()
    assert cache.get_raw(pollcache.answer_key(verification.pk, "messages")) is not None
    with CaptureQueriesContext(connection) as queries:
        assert call(both, path, key=key).json() == before
    assert len(queries) == 0 and both.reached == []  # served from the cache
    write(Verification.objects.get(pk=verification.pk))
    assert cache.get_raw(pollcache.token_key(verification.pk)) is None  # the write dropped the token
    after = call(both, path, key=key)
    expected = call(WSGIHandler(), path, key=key)  # Django's own answer, from the database
    assert after.status_code == expected.status_code and after.json() == expected.json() != before


def test_a_reader_that_read_before_a_write_cannot_store_its_old_answer(shop, alice):
    from verifications import pollcache

    fund(alice, "5.00")
    verification = buy(api_for(alice))
    token = pollcache.current_token(verification.pk, None)  # a reader takes the token, reads the database...
    Verification.objects.filter(pk=verification.pk).update(status=Verification.Status.CANCELLED)  # ...a write
    assert not pollcache.store(verification.pk, "messages", token, (token, alice.pk, "pending", "sms", None, b"{}"))
    assert cache.get(pollcache.answer_key(verification.pk, "messages")) is None


def test_a_write_inside_a_transaction_drops_the_answer_when_it_commits(shop, alice):
    from django.db import transaction

    from verifications import pollcache

    fund(alice, "5.00")
    verification = buy(api_for(alice))
    token = pollcache.current_token(verification.pk, None)
    with transaction.atomic():
        Verification.objects.filter(pk=verification.pk).update(status=Verification.Status.CANCELLED)
        assert cache.get_raw(pollcache.token_key(verification.pk)) == token  # not yet: readers still see the old row
    assert cache.get_raw(pollcache.token_key(verification.pk)) is None


def test_a_drop_that_cannot_reach_the_cache_is_retried(shop, alice, redis_cache, settings, monkeypatch):
    fund(alice, "5.00")
    verification = buy(api_for(alice))
    pollcache.current_token(verification.pk, None)
    token = pollcache.token_key(verification.pk)
    monkeypatch.setattr(pollcache, "RETRY_SECONDS", 0.2)
    real = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "namaskah.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05}}}
    pollcache.changed([verification.pk])  # no transaction open: the drop runs now, and fails
    assert pollcache._pending == {token}
    settings.CACHES = real  # Redis is back before the first retry
    retry = pollcache._retry["thread"]
    retry.join(5)
    assert not retry.is_alive() and not pollcache._pending
    assert redis_cache.get_raw(token) is None


def test_a_cached_answer_is_only_ever_its_owners(shop, alice, bob, key, both):
    fund(alice, "5.00")
    path = f"/verify/{buy(api_for(alice)).pk}/messages"
    assert call(both, path, key=key).status_code == 200  # alice's answer is now in the cache
    bobs_key = accounts.create_api_key(user=bob, name="b")[1]
    served = call(both, path, key=bobs_key)
    assert served.status_code == 404 and served.json()["error"]["code"] == "not_found"


def test_a_cached_pending_answer_past_its_expiry_goes_to_django_which_refunds_once(shop, alice, key, both,
                                                                                  monkeypatch):
    fund(alice, "5.00")
    verification = buy(api_for(alice), service="test-pending")
    path = f"/verify/{verification.pk}/messages"
    assert call(both, path, key=key).json()["status"] == "pending"
    assert cache.get_raw(pollcache.answer_key(verification.pk, "messages")) is not None and both.reached == []
    later = verification.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)  # time passes; nothing is written
    served = call(both, path, key=key)
    assert served.json()["status"] == "expired" and both.reached == [path]
    assert call(both, path, key=key).json()["status"] == "expired"
    assert balance(alice) == Decimal("5.00")  # refunded, once
