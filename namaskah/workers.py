"""Which Celery workers are alive, for /system/health: each worker writes a presence record to the
shared cache every PRESENCE_EVERY seconds (a worker bootstep, Celery's public extension point), and
health lists the records younger than PRESENCE_TTL. Works with every broker (a broadcast ping does
not work on all of them) and costs health one cache read instead of a round trip to every worker."""
from __future__ import annotations

import logging
import os
import time

from celery import bootsteps
from django.core.cache import cache

from namaskah import cache as shared_cache

log = logging.getLogger(__name__)
PRESENCE_EVERY = 10
PRESENCE_TTL = 3 * PRESENCE_EVERY
INDEX = "workers:index"


def _key(hostname: str) -> str:
    return f"workers:{hostname}"


class Presence(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        self.report(worker)
        self.tref = worker.timer.call_repeatedly(PRESENCE_EVERY, self.report, (worker,), priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
        shared_cache.call(lambda: cache.delete(_key(worker.hostname)))

    def report(self, worker) -> None:
        queues = sorted(worker.app.amqp.queues.consume_from or worker.app.amqp.queues)
        record = {"hostname": worker.hostname, "pid": os.getpid(), "queues": queues, "at": time.time(),
                  "concurrency": worker.concurrency, "pool": type(worker.pool).__module__.rsplit(".", 1)[-1]}

        def write():
            cache.set(_key(worker.hostname), record, timeout=PRESENCE_TTL)
            names = set(cache.get(INDEX) or ())
            if worker.hostname not in names:
                cache.set(INDEX, sorted(names | {worker.hostname}), timeout=None)

        shared_cache.call(write)


def alive() -> list[dict] | None:
    """The workers that reported in the last PRESENCE_TTL seconds, or None when the cache is down."""
    def read():
        names = cache.get(INDEX) or []
        records = cache.get_many([_key(n) for n in names])
        now = time.time()
        found = [dict(r, age_s=round(max(0.0, now - r["at"]), 1)) for r in records.values()]
        gone = [n for n in names if _key(n) not in records]
        if gone:  # stopped or dead: drop them from the index
            cache.set(INDEX, sorted(set(names) - set(gone)), timeout=None)
        return sorted(found, key=lambda r: r["hostname"])

    return shared_cache.call(read)
