"""Two workers (threads, each with its own connection) never send one attempt twice, on PostgreSQL
(SQLite serialises writers, so it proves nothing)."""
from datetime import timedelta

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition
from django.utils import timezone

from hooks import services, tasks
from hooks.bodies import envelope
from hooks.models import Delivery

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="race tests need PostgreSQL's row locks; SQLite serialises all writers"),
]



def queued(endpoint, *, due_ago: timedelta = timedelta(0)) -> Delivery:
    """A delivery row whose task has not run yet (what services.record writes before the commit)."""
    now = timezone.now()
    return Delivery.objects.create(endpoint=endpoint, event_type="webhook.test", event_key=f"race:{now.timestamp()}",
                                   webhook_id=services.new_webhook_id(), next_attempt_at=now - due_ago,
                                   body=envelope("webhook.test", at=now, data={"endpoint_id": endpoint.pk}))


@pytest.fixture
def endpoint(alice, receiver, allow_private):
    return services.create_endpoint(owner=alice, url=receiver.url())


@pytest.mark.parametrize("answer, won", [(200, "delivered"), (500, "retry")])
def test_eight_workers_on_one_delivery_send_it_once(endpoint, receiver, answer, won, run_together):
    receiver.answers.extend([answer] * 8)
    delivery = queued(endpoint)
    results = run_together(8, lambda i: tasks.deliver(delivery.webhook_id))
    assert sorted(results) == sorted([won] + ["skipped"] * 7), results
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.claimed_until is None


def test_sweepers_at_once_queue_a_lost_delivery_once(endpoint, receiver, run_together):
    delivery = queued(endpoint, due_ago=services.SWEEP_GRACE + timedelta(seconds=5))
    results = run_together(4, lambda i: tasks.sweep())
    assert sum(results) == 1, results
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert len(receiver.requests) == 1
