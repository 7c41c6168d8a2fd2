"""Delivery: signed, retried on the contract's schedule after 5xx, timeouts and redirects, swept when
its task is lost, and an endpoint failing for three days disabled with its owner told."""
import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from hooks import services, tasks
from hooks.models import Delivery, Endpoint


@pytest.fixture
def endpoint(alice, receiver, allow_private):
    return services.create_endpoint(owner=alice, url=receiver.url())


@pytest.fixture
def queue_test(alice, django_capture_on_commit_callbacks):
    """Queue a webhook.test to an endpoint and run its first attempt, as a worker would at once."""
    def queue(endpoint) -> Delivery:
        with django_capture_on_commit_callbacks(execute=True):
            delivery = services.send_test(owner=alice, endpoint_id=endpoint.pk)
        delivery.refresh_from_db()
        return delivery
    return queue


def next_attempt(delivery: Delivery) -> str:
    """Move the clock to the delivery's next attempt and run the task a worker would run then."""
    delivery.refresh_from_db()
    with time_machine.travel(delivery.next_attempt_at + timedelta(milliseconds=1), tick=False):
        outcome = tasks.deliver(delivery.webhook_id)
    delivery.refresh_from_db()
    return outcome


def test_the_receiver_verifies_the_signature_with_standardwebhooks(endpoint, receiver, queue_test):
    delivery = queue_test(endpoint)
    [request] = receiver.requests
    assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {"type": "webhook.test", "timestamp": payload["timestamp"], "data": {"endpoint_id": endpoint.pk}}
    assert request.body.decode() == delivery.body
    # Another endpoint's secret, or a body changed on the way, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(services.new_secret()).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body.replace(b"webhook.test", b"webhook.tesT"), request.headers)


def test_a_receiver_that_verifies_accepts_ours_and_refuses_another_secret(alice, receiver, allow_private, queue_test):
    # The receiver checks each request itself, with the standardwebhooks library, before answering.
    endpoint = services.create_endpoint(owner=alice, url=receiver.url())
    receiver.secret = endpoint.secret
    delivery = queue_test(endpoint)
    assert (delivery.status, delivery.response_code) == ("delivered", 200)
    assert [p["type"] for p in receiver.verified] == ["webhook.test"]
    receiver.secret = services.new_secret()  # the integrator configured the wrong secret
    refused = queue_test(endpoint)
    assert (refused.status, refused.response_code, refused.last_error) == ("pending", 401, "HTTP 401: answer!")
    assert len(receiver.verified) == 1


def test_it_retries_after_500s_with_the_same_webhook_id_and_a_fresh_signature(endpoint, receiver, queue_test):
    receiver.answers.extend([500, 503])
    before = timezone.now()
    delivery = queue_test(endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500: answer!"
    first_wait = (delivery.next_attempt_at - before).total_seconds()
    assert 4.5 - 1 <= first_wait <= 5.5 + 1  # 5 s ± 10 % (the clock ran during the attempt)
    assert tasks.deliver(delivery.webhook_id) == "skipped"  # not due yet: nothing is sent early
    assert len(receiver.requests) == 1

    assert next_attempt(delivery) == "retry"
    assert (delivery.attempts, delivery.response_code) == (2, 503)
    assert next_attempt(delivery) == "delivered"
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == ("delivered", 3, 200, "")
    assert delivery.next_attempt_at is None and delivery.delivered_at is not None

    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.headers["webhook-signature"] for r in receiver.requests}) == 3
    assert len({r.body for r in receiver.requests}) == 1
    assert tasks.deliver(delivery.webhook_id) == "skipped"  # after a 2xx it is never sent again
    assert len(receiver.requests) == 3
    # Every attempt's outcome is counted fleet-wide (/system/metrics: namaskah_webhook_attempts).
    from namaskah import taskstats

    counts = taskstats.read()
    # (skipped: the two above, and the eager retries that tests run before they are due)
    assert (counts["webhook:delivered"], counts["webhook:retry"]) == (1, 2) and counts["webhook:skipped"] >= 2


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(endpoint, receiver, queue_test, settings):
    settings.WEBHOOK_TIMEOUT = 0.5  # the contract's 5 s, shortened so the test does not wait for it
    receiver.answers.append("hang")
    delivery = queue_test(endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, None)
    assert delivery.last_error == "no answer within 0.5 s"
    assert next_attempt(delivery) == "delivered"
    assert delivery.attempts == 2


def test_redirects_are_not_followed(endpoint, receiver, queue_test):
    receiver.answers.append(302)
    delivery = queue_test(endpoint)
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert (delivery.status, delivery.response_code) == ("pending", 302)
    assert delivery.last_error.startswith("a redirect (not followed)")


def test_a_connection_refused_is_a_failed_attempt(alice, allow_private, queue_test):
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = services.create_endpoint(owner=alice, url=f"http://127.0.0.1:{port}/closed")
    delivery = queue_test(endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, None)
    assert delivery.last_error.startswith("connection failed")


def test_it_follows_the_schedule_then_gives_up_after_eight_attempts(endpoint, receiver, queue_test):
    receiver.answers.extend([500] * 8)
    delivery = queue_test(endpoint)
    waits = []
    for _ in range(7):
        due, last = delivery.next_attempt_at, delivery
        with time_machine.travel(due + timedelta(milliseconds=1), tick=False):
            tasks.deliver(delivery.webhook_id)
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - due).total_seconds())
        assert last.pk == delivery.pk
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    for wait, planned in zip(waits, services.SCHEDULE[1:]):
        assert planned * 0.9 <= wait <= planned * 1.1 + 1
    assert len(waits) == 6 and len(receiver.requests) == 8
    assert 27 < sum(services.SCHEDULE) / 3600 < 28  # "8 attempts over about 28 h"
    assert tasks.deliver(delivery.webhook_id) == "skipped"


def test_the_sweeper_sends_what_no_task_carries(endpoint, alice, receiver, django_capture_on_commit_callbacks):
    # The commit's callbacks never run: the task was lost (a broker outage, a crash after the commit).
    delivery = services.send_test(owner=alice, endpoint_id=endpoint.pk)
    assert receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep() == 0  # within the grace period its own task may still come
    with time_machine.travel(timezone.now() + services.SWEEP_GRACE + timedelta(seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert len(receiver.requests) == 1


def test_the_sweeper_takes_over_from_a_worker_that_died(endpoint, alice, receiver, django_capture_on_commit_callbacks):
    delivery = services.send_test(owner=alice, endpoint_id=endpoint.pk)
    lease = timezone.now() + services.LEASE
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=lease, attempts=1)  # claimed, then the worker died
    later = timezone.now() + services.SWEEP_GRACE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep() == 0  # its lease still runs
        assert tasks.deliver(delivery.webhook_id) == "skipped"
    with time_machine.travel(lease + timedelta(seconds=1), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(receiver.requests) == 1


def test_a_late_retry_is_left_to_the_sweeper(endpoint, receiver, queue_test, django_capture_on_commit_callbacks):
    receiver.answers.extend([500, 500, 500])
    delivery = queue_test(endpoint)
    next_attempt(delivery)
    next_attempt(delivery)  # the third attempt fails: the next comes in 30 min, beyond a countdown
    assert delivery.attempts == 3 and delivery.next_attempt_at - timezone.now() > timedelta(seconds=services.COUNTDOWN_CAP)
    with time_machine.travel(delivery.next_attempt_at + services.SWEEP_GRACE + timedelta(seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_emailed(endpoint, alice, receiver, queue_test,
                                                                               mailoutbox):
    receiver.answers.extend([500] * 20)
    start = timezone.now()
    first = queue_test(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.enabled
    with time_machine.travel(start + timedelta(days=2), tick=False):
        queue_test(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.enabled and mailoutbox == []
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        queue_test(endpoint)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_at is not None) == (False, True)
    first.refresh_from_db()
    assert first.status == "failed" and "disabled" in first.last_error
    assert not Delivery.objects.filter(endpoint=endpoint, status="pending").exists()
    [mail] = mailoutbox
    assert mail.to == [alice.email] and "disabled" in mail.subject and endpoint.url in mail.body
    assert services.endpoints_of(alice.pk) == []  # no new events go to it
    with pytest.raises(services.EndpointDisabled):
        services.send_test(owner=alice, endpoint_id=endpoint.pk)


def test_a_success_resets_the_three_days(endpoint, receiver, queue_test, mailoutbox):
    start = timezone.now()
    receiver.answers.append(500)
    queue_test(endpoint)
    with time_machine.travel(start + timedelta(days=2), tick=False):
        queue_test(endpoint)  # 200
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    receiver.answers.extend([500, 500])
    with time_machine.travel(start + timedelta(days=2, hours=1), tick=False):
        queue_test(endpoint)
    with time_machine.travel(start + timedelta(days=4), tick=False):
        queue_test(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.enabled and mailoutbox == []


def test_an_attempt_held_by_another_worker_is_not_sent_again(endpoint, alice, receiver):
    delivery = services.send_test(owner=alice, endpoint_id=endpoint.pk)
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + services.LEASE)
    assert tasks.deliver(delivery.webhook_id) == "skipped"
    assert receiver.requests == []


def test_a_disabled_endpoints_queued_delivery_is_not_sent(endpoint, alice, receiver):
    delivery = services.send_test(owner=alice, endpoint_id=endpoint.pk)
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert tasks.deliver(delivery.webhook_id) == "failed"
    assert receiver.requests == []
