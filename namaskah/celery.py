"""The Celery app: background work (upstream checks, expiry, voice, webhooks, ops jobs) as tasks that
scale by adding workers.

Tasks live in each app's tasks.py and call the same service functions as every other interface.
`celery -A namaskah worker` serves every queue declared here; a dedicated worker per queue is an
option (`-Q voice`). `celery -A namaskah beat` runs the schedule below: exactly one beat per
deployment (two would run every periodic task twice; the tasks are safe against it, but it is waste).

Delivery is at least once: tasks are acknowledged after they ran (acks_late) and given back when
their worker dies, so every task must be safe to run twice — and each one is, because it claims or
settles rows with conditional updates.
"""
from __future__ import annotations

import os

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "namaskah.settings")

app = Celery("namaskah")
app.config_from_object("django.conf:settings", namespace="CELERY")

# What a queue is for decides its worker's shape: `checks` is I/O-bound (threads, high concurrency),
# `voice` is CPU-bound (a process per core, the model loaded once per process).
QUEUES = ("default", "checks", "voice", "webhooks")


def _broker_options(settings) -> dict:
    if not settings.CELERY_BROKER_URL.startswith("filesystem:"):
        return {}
    folder = settings.CELERY_BROKER_DIR
    for sub in ("queue", "processed", "control"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    return {"data_folder_in": os.path.join(folder, "queue"), "data_folder_out": os.path.join(folder, "queue"),
            "processed_folder": os.path.join(folder, "processed"), "store_processed": False,
            "control_folder": os.path.join(folder, "control")}


@app.on_after_configure.connect
def _configure(sender, **kwargs) -> None:
    from django.conf import settings

    sender.conf.update(
        broker_transport_options=_broker_options(settings),
        task_queues=[Queue(name, routing_key=name) for name in QUEUES],
        task_default_queue="default",
        task_routes={"verifications.check*": {"queue": "checks"}, "voice.*": {"queue": "voice"},
                     "webhooks.*": {"queue": "webhooks"}},
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message reserved per worker thread: a long task does not sit on others' work.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule=BEAT_SCHEDULE,
    )


# Every periodic job of the platform. The intervals are the promise ops rely on (README: Background work).
BEAT_SCHEDULE = {
    "dispatch-checks": {"task": "verifications.dispatch_checks", "schedule": 0.25},
    "expire-due": {"task": "verifications.expire_due", "schedule": 10.0},
    "sweep-webhooks": {"task": "webhooks.sweep", "schedule": 15.0},
    "reconcile": {"task": "verifications.reconcile", "schedule": 300.0},
    "sync-services": {"task": "verifications.sync_services", "schedule": crontab(minute=7)},
    "reconcile-payments": {"task": "payments.reconcile", "schedule": crontab(minute=17)},
    "audit-ledger": {"task": "accounts.audit_ledger", "schedule": crontab(minute=37)},
    "flush-expired-tokens": {"task": "accounts.flush_expired_tokens", "schedule": crontab(hour=3, minute=47)},
    # Call recordings whose download failed, tried again once their backoff is over.
    "fetch-due-recordings": {"task": "verifications.fetch_due_recordings", "schedule": 5.0},
    "delete-old-recordings": {"task": "verifications.delete_old_recordings", "schedule": crontab(minute=27)},
}

app.autodiscover_tasks()


def _count(task_name: str | None, outcome: str) -> None:
    from namaskah import taskstats

    if task_name and not task_name.startswith("celery."):
        taskstats.add({f"task:{task_name}:{outcome}": 1})


@signals.task_success.connect
def _succeeded(sender=None, **kwargs) -> None:
    _count(getattr(sender, "name", None), "succeeded")


@signals.task_failure.connect
def _failed(sender=None, **kwargs) -> None:
    _count(getattr(sender, "name", None), "failed")


@signals.task_retry.connect
def _retried(sender=None, **kwargs) -> None:
    _count(getattr(sender, "name", None), "retried")


def _worker_steps():
    from namaskah.taskstats import Flush
    from namaskah.workers import Presence

    return Presence, Flush


for _step in _worker_steps():
    app.steps["worker"].add(_step)
