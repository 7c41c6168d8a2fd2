"""Background checks: the upstream is asked about every open verification once per interval, by
Celery workers, so a customer's poll is a read of our own database and cache.

Each open verification has a due time (`next_check_at`). The dispatcher (a beat task, four times a
second) claims due rows in one transaction with `SELECT … FOR UPDATE SKIP LOCKED` — two dispatchers
never claim one row — moves each due time one interval on and bumps its `check_round`, then sends
one task per check. The next check falls due one interval after the upstream was asked, so how late
a check starts adds to that verification's interval: the fine tick and one check per task (not a
batch whose last check waits for the others' upstream answers) keep that within half a second. A task checks a verification only if it can advance the round it was sent
with (a conditional UPDATE): a redelivered message (acks_late after a killed worker) or a stale one
finds the round moved on and does nothing, so no verification is asked twice in one interval. A
lost task costs one interval: the row falls due again and the next dispatch claims it. Due rows are
claimed oldest-due first with no row limit per round, so none starves however many are open.

Open means: pending with a number, or completed and still inside its expiry (a second code is
normal, and integrators are pushed every one); a finished, settled or expired one is never asked
about again (`next_check_at` null).

While the provider's webhooks arrive (TextVerified pushes SMS to us), pending verifications are
checked only every WEBHOOK_POLL_INTERVAL: a safety net for a lost webhook.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Min, Q, Value, When
from django.utils import timezone

from namaskah import cache as shared_cache
from namaskah import taskstats
from verifications.models import Verification

log = logging.getLogger(__name__)
Status = Verification.Status
# Checks per task: one, so no check waits for another's upstream answer (a batch of 4 made its last
# check up to a second late, and every interval that much longer).
BATCH_SIZE = 1
# Rows claimed per transaction: short locks; the dispatcher loops until nothing is due.
CLAIM_PAGE = 500


def open_filter(now) -> Q:
    return Q(status=Status.PENDING) | Q(status=Status.COMPLETED, finished_at=None, expires_at__gt=now)


def interval() -> float:
    if webhooks_arriving():
        return settings.WEBHOOK_POLL_INTERVAL  # SMS are pushed to us: only a safety net
    return settings.MESSAGE_REFRESH_INTERVAL


@dataclass(frozen=True)
class Claim:
    pk: str
    round: int
    due: float | None = None  # when the check fell due (epoch seconds): how late it runs is measured


def claim_due(*, now=None, limit: int = CLAIM_PAGE) -> list[Claim]:
    """Claim up to `limit` due verifications for one check each. Rows no longer open are taken out
    of the schedule on the way."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(Verification.objects.select_for_update(skip_locked=True)
                    .filter(next_check_at__lte=now).order_by("next_check_at")
                    .values_list("pk", "check_round", "status", "expires_at", "finished_at", "next_check_at")[:limit])
        if not rows:
            return []
        closed, claims, by_next = [], [], {}
        every = timedelta(seconds=interval())
        for pk, round_, status, expires_at, finished_at, due in rows:
            if status not in (Status.PENDING, Status.COMPLETED) or finished_at is not None or (
                    status == Status.COMPLETED and (expires_at is None or expires_at <= now)):
                closed.append(pk)
                continue
            nxt = now + every
            if status == Status.PENDING and expires_at is not None and now < expires_at < nxt:
                nxt = expires_at  # the check at expiry settles it on time
            by_next.setdefault(nxt, []).append(pk)
            claims.append(Claim(pk=str(pk), round=round_ + 1, due=due.timestamp()))
        if closed:
            Verification.objects.filter(pk__in=closed).update(next_check_at=None)
        for nxt, pks in by_next.items():
            Verification.objects.filter(pk__in=pks).update(next_check_at=nxt, check_round=F("check_round") + 1)
    return claims


def take(claim: Claim) -> bool:
    """Whether this task holds the current claim on the verification (and now spends it). The next
    check is due one interval from now, when the upstream is about to be asked — not from the
    claim — so however long the task waited in a queue, two asks are never closer than an interval.
    A pending verification's next check is never later than its expiry."""
    now = timezone.now()
    nxt = now + timedelta(seconds=interval())
    return bool(Verification.objects.filter(pk=claim.pk, check_round=claim.round).update(
        check_round=F("check_round") + 1,
        next_check_at=Case(When(status=Status.PENDING, expires_at__gt=now, expires_at__lt=nxt, then=F("expires_at")),
                           default=Value(nxt), output_field=DateTimeField())))


def first_check_at():
    """When a number stored now is first checked: one interval on."""
    return timezone.now() + timedelta(seconds=settings.MESSAGE_REFRESH_INTERVAL)


def oldest_overdue_seconds(now=None) -> float | None:
    """How late the most overdue check is (None when nothing is overdue): what health reports. A
    claimed check is not overdue, so this grows only when workers fall behind or are gone."""
    now = now or timezone.now()
    due = (Verification.objects.filter(next_check_at__lte=now).filter(open_filter(now))
           .aggregate(oldest=Min("next_check_at"))["oldest"])
    return None if due is None else round((now - due).total_seconds(), 3)


OUTCOMES = ("checked", "failed", "expired", "closed", "stale", "error")


def count_outcomes(outcomes: dict[str, int], lags: list[float] = ()) -> None:
    """Fleet-wide counters of check outcomes, and of how late checks started after falling due, in
    the shared cache (/system/metrics reads them)."""
    counts = {f"check:{name}": count for name, count in outcomes.items()}
    for lag in lags:
        bucket = f"check_lag:{lag_bucket(lag)}"
        counts[bucket] = counts.get(bucket, 0) + 1
    counts["check_lag_ms_sum"] = round(1000 * sum(lags))
    taskstats.add(counts)


# Upper bounds (s) of the lag histogram: the promise is "within the interval + 1 s", so the
# buckets are fine below a second and coarse above.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0)


def lag_bucket(lag: float) -> str:
    for bound in LAG_BUCKETS:
        if lag <= bound:
            return f"{bound:g}"
    return "+Inf"


# --- the provider's webhooks -------------------------------------------------------------------------
# "Arriving" means one came in the last WEBHOOK_TRUST_SECONDS: if the provider stops sending
# (webhooks disabled after failures), checks speed up again by themselves.
WEBHOOK_KEY = "webhooks:last"
WEBHOOK_TRUST_SECONDS = 15 * 60
_MEMO_SECONDS = 1.0
_webhook_memo: dict = {"until": 0.0, "arriving": False}


def note_webhook() -> None:
    shared_cache.call(lambda: cache.set(WEBHOOK_KEY, time.time(), timeout=WEBHOOK_TRUST_SECONDS))
    _webhook_memo.update(until=0.0)


def webhooks_arriving() -> bool:
    now = time.monotonic()
    if now < _webhook_memo["until"]:
        return _webhook_memo["arriving"]
    arriving = shared_cache.call(lambda: cache.get(WEBHOOK_KEY) is not None, False)
    _webhook_memo.update(until=now + _MEMO_SECONDS, arriving=arriving)
    return arriving


def forget_memos() -> None:
    """Drop this process's memo (tests)."""
    _webhook_memo.update(until=0.0, arriving=False)
