"""Endpoints (register, delete, test) and deliveries (record, attempt, retry, sweep, disable).

A delivery is claimed by a conditional UPDATE (pending, due, and no live lease → one row, or another
worker has it), so any number of workers share the work and no attempt is sent twice; the HTTP call
happens outside any transaction; its outcome is written only under the claim that sent it.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import random
import secrets
import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from namaskah.db import release_db_connection
from hooks import addresses, sender
from hooks.bodies import envelope
from hooks.models import EVENTS, TEST_EVENT, Delivery, Endpoint

log = logging.getLogger(__name__)

Status = Delivery.Status
Format = Endpoint.Format

# Seconds from a failed attempt to the next (the contract's §8.2): 8 attempts over about 28 h.
SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.1
# Longer than the timeout with room to spare: a worker that died mid-attempt is replaced after it.
LEASE = timedelta(seconds=60)
# Retries up to this are a Celery countdown; later ones wait for the sweeper (a broker such as Redis
# hands an unacknowledged message to another worker after its visibility timeout, an hour by default,
# so a 10-hour countdown would be delivered several times over).
COUNTDOWN_CAP = 600
# The sweeper leaves a due delivery this long to the task already queued for it.
SWEEP_GRACE = timedelta(seconds=30)
DISABLE_AFTER = timedelta(days=3)
SMS_ACTIVATE_EVENTS = ("verification.code_received",)


class EndpointRefused(ValueError):
    """What is wrong with an endpoint's URL, events or format, by field."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in fields.values() for m in ms))
        self.fields = fields


class EndpointDisabled(Exception):
    """The endpoint was disabled after failing for three days: register it again."""


# --- endpoints -----------------------------------------------------------------------------------

def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def events_for(*, events: list[str] | None, format: str) -> list[str]:
    """The events an endpoint of `format` receives when it asked for `events` (None: all it can).
    Raises ValueError naming what it cannot receive."""
    allowed = SMS_ACTIVATE_EVENTS if format == Format.SMS_ACTIVATE else EVENTS
    if events is None:
        return list(allowed)
    if not events:
        raise ValueError("Name at least one event.")
    wrong = [e for e in events if e not in allowed]
    if wrong:
        raise ValueError(f"Not an event this format carries: {', '.join(wrong)} (it carries {', '.join(allowed)}).")
    return list(dict.fromkeys(events))


def create_endpoint(*, owner, url: str, events: list[str] | None = None, format: str = Format.STANDARD) -> Endpoint:
    """Register an endpoint with a new secret; its URL must resolve to public addresses now.
    Raises EndpointRefused."""
    fields = {}
    if format not in Format.values:
        fields["format"] = [f"One of: {', '.join(Format.values)}."]
    else:
        try:
            events = events_for(events=events, format=format)
        except ValueError as exc:
            fields["events"] = [str(exc)]
    try:
        addresses.check(url)
    except addresses.AddressRefused as exc:
        fields["url"] = [str(exc)]
    if fields:
        raise EndpointRefused(fields)
    return Endpoint.objects.create(owner=owner, url=url, events=events, format=format, secret=new_secret())


def delete_endpoint(*, owner, endpoint_id: int) -> None:
    """Delete one of the owner's endpoints and its deliveries. Raises Endpoint.DoesNotExist."""
    deleted, _ = Endpoint.objects.filter(pk=endpoint_id, owner=owner).delete()
    if not deleted:
        raise Endpoint.DoesNotExist


def send_test(*, owner, endpoint_id: int) -> Delivery:
    """Queue a signed `webhook.test` event to one of the owner's endpoints. Raises
    Endpoint.DoesNotExist, EndpointDisabled."""
    endpoint = Endpoint.objects.get(pk=endpoint_id, owner=owner)
    if not endpoint.enabled:
        raise EndpointDisabled
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.create(
            endpoint=endpoint, event_type=TEST_EVENT, event_key=f"{TEST_EVENT}:{uuid.uuid4().hex}",
            webhook_id=new_webhook_id(), next_attempt_at=now,
            body=envelope(TEST_EVENT, at=now, data={"endpoint_id": endpoint.pk}),
        )
        transaction.on_commit(lambda: enqueue([delivery.webhook_id]), robust=True)
    return delivery


# --- recording events ------------------------------------------------------------------------------

def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def endpoints_of(user_id) -> list[Endpoint]:
    """The endpoints a customer's events go to: theirs, enabled, and nobody else's."""
    return list(Endpoint.objects.filter(owner_id=user_id, enabled=True))


def record(endpoints: list[Endpoint], *, event_type: str, key: str, at, data: dict,
           protocol_body: str | None = None) -> int:
    """Write one delivery per endpoint that takes the event (once per event: `key`), in the caller's
    transaction; the tasks that send them are queued when it commits. Returns how many."""
    now = timezone.now()
    rows = []
    for endpoint in endpoints:
        if event_type not in endpoint.events:
            continue
        if endpoint.format == Format.SMS_ACTIVATE:
            if protocol_body is None:
                continue
            body = protocol_body
        else:
            body = envelope(event_type, at=at, data=data)
        rows.append(Delivery(endpoint=endpoint, event_type=event_type, event_key=key, webhook_id=new_webhook_id(),
                             body=body, next_attempt_at=now))
    if not rows:
        return 0
    # A repeat of the same event meets the unique (endpoint, event_key) and is dropped.
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = [row.webhook_id for row in rows]
    transaction.on_commit(lambda: enqueue(ids), robust=True)
    return len(rows)


def enqueue(webhook_ids: list[str], *, countdown: float | None = None) -> None:
    """Queue the delivery tasks. A broker that is down costs no event: the sweeper finds them due."""
    from hooks import tasks

    for webhook_id in webhook_ids:
        try:
            tasks.deliver.apply_async((webhook_id,), countdown=countdown, retry=False)
        except Exception as exc:  # kombu's and the transport's errors alike; the row is the truth
            log.warning("could not queue webhook %s (%s); the sweeper will send it", webhook_id, type(exc).__name__)


# --- delivering ------------------------------------------------------------------------------------

def attempt(*, webhook_id: str) -> str:
    """Send a due delivery once, if no other worker holds it, and record the outcome: delivered,
    retry scheduled, or failed for good. Returns "delivered", "retry", "failed" or "skipped"."""
    now = timezone.now()
    lease = now + LEASE
    claimed = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        webhook_id=webhook_id, status=Status.PENDING, next_attempt_at__lte=now,
    ).update(claimed_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"  # not due, finished, or being sent by another worker right now
    delivery = Delivery.objects.select_related("endpoint").get(webhook_id=webhook_id)
    endpoint = delivery.endpoint
    mine = Delivery.objects.filter(pk=delivery.pk, claimed_until=lease)
    if not endpoint.enabled:
        mine.update(status=Status.FAILED, last_error="the endpoint is disabled", claimed_until=None,
                    next_attempt_at=None)
        return "failed"
    # Up to WEBHOOK_TIMEOUT on someone else's server: no pooled connection held meanwhile.
    release_db_connection()
    outcome = sender.send(url=endpoint.url, secret=endpoint.secret, webhook_id=webhook_id, body=delivery.body,
                          at=timezone.now())
    done = timezone.now()
    if outcome.ok:
        mine.update(status=Status.DELIVERED, response_code=outcome.status, last_error="", delivered_at=done,
                    claimed_until=None, next_attempt_at=None)
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        return "delivered"
    final = delivery.attempts >= MAX_ATTEMPTS
    delay = None if final else SCHEDULE[delivery.attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    mine.update(status=Status.FAILED if final else Status.PENDING, response_code=outcome.status,
                last_error=outcome.error[:255], claimed_until=None,
                next_attempt_at=None if final else done + timedelta(seconds=delay))
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=done)
    if _disable_if_failing(endpoint.pk, now=done):
        return "failed"
    if final:
        return "failed"
    if delay <= COUNTDOWN_CAP:
        enqueue([webhook_id], countdown=delay)
    return "retry"


def sweep(*, limit: int = 500) -> int:
    """Queue every delivery that is due but has no live task (its message was lost, its worker died,
    or its retry is too far off for a countdown). Returns how many were queued."""
    now = timezone.now()
    with transaction.atomic():
        # Two sweepers at once take different rows (SKIP LOCKED; SQLite serialises writers anyway).
        due = list(Delivery.objects.select_for_update(skip_locked=True).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
            status=Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE,
        ).order_by("next_attempt_at").values_list("pk", "webhook_id")[:limit])
        if not due:
            return 0
        # Marked as swept now, so that the next sweep leaves them to the queued task for SWEEP_GRACE.
        Delivery.objects.filter(pk__in=[pk for pk, _ in due]).update(next_attempt_at=now)
        ids = [webhook_id for _, webhook_id in due]
        transaction.on_commit(lambda: enqueue(ids), robust=True)
    return len(due)


def _disable_if_failing(endpoint_id: int, *, now) -> bool:
    with transaction.atomic():
        disabled = Endpoint.objects.filter(pk=endpoint_id, enabled=True,
                                           failing_since__lte=now - DISABLE_AFTER).update(enabled=False, disabled_at=now)
        if disabled:
            Delivery.objects.filter(endpoint_id=endpoint_id, status=Status.PENDING).update(
                status=Status.FAILED, last_error="the endpoint was disabled after failing for 3 days",
                next_attempt_at=None)
    if disabled:
        _mail_disabled(Endpoint.objects.select_related("owner").get(pk=endpoint_id))
    return bool(disabled)


def _mail_disabled(endpoint: Endpoint) -> None:
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    context = {"endpoint": endpoint, "days": DISABLE_AFTER.days}
    subject = " ".join(render_to_string("hooks/email/disabled_subject.txt", context).split())
    try:
        send_mail(subject, render_to_string("hooks/email/disabled.txt", context), None, [endpoint.owner.email])
    except Exception:  # smtplib's and socket's errors alike: the endpoint stays disabled, the page says so
        log.exception("could not mail the owner of disabled webhook endpoint %s", endpoint.pk)

