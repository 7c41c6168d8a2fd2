"""The fake TextVerified's webhook sender: a signed `v2.sms.received` POST for every SMS at the moment
it arrives (scheduled by the simulation, or delivered through /_fake/sms), retried like the real one.

Off unless the fake is given a webhook URL and secret.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import secrets
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from fakes.textverified.wire import dumps as json_dumps
from fakes.textverified.wire import SIGNATURE_HEADER, SMS_RECEIVED, sign

logger = logging.getLogger(__name__)
ATTEMPTS = 3


class WebhookSender:
    def __init__(self, fake, *, url: str, secret: str, timeout: float = 5.0):
        self.fake, self.url, self.secret, self.timeout = fake, url, secret, timeout
        self.counts: Counter = Counter()
        self._counted = threading.Condition()
        self._heap: list = []
        self._seq = itertools.count()
        self._wakeup = threading.Condition()
        self._posters = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fake-webhook")
        threading.Thread(target=self._run, name="fake-webhook-clock", daemon=True).start()

    def schedule(self, reference: str, message) -> None:
        with self._wakeup:
            heapq.heappush(self._heap, (message.at, next(self._seq), reference, message.id))
            self._wakeup.notify()

    def wait_for(self, outcome: str, count: int, *, timeout: float) -> bool:
        """Block until `count` deliveries ended with `outcome` ("delivered", "failed", "skipped")."""
        with self._counted:
            return self._counted.wait_for(lambda: self.counts[outcome] >= count, timeout=timeout)

    def _count(self, outcome: str) -> None:
        with self._counted:
            self.counts[outcome] += 1
            self._counted.notify_all()

    def _run(self) -> None:
        while not self.fake.stopping.is_set():
            with self._wakeup:
                if not self._heap:
                    self._wakeup.wait(0.5)
                    continue
                wait = (self._heap[0][0] - self.fake.clock()).total_seconds()
                if wait > 0:
                    self._wakeup.wait(min(wait, 0.5))
                    continue
                _, _, reference, message_id = heapq.heappop(self._heap)
            self._posters.submit(self._deliver, reference, message_id)
        self._posters.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, reference: str, message_id: str) -> None:
        data = self.fake.webhook_data(reference, message_id)
        if data is None:  # given back before it arrived, or a voice call (no webhook for those)
            self._count("skipped")
            return
        event_id = "evt_" + secrets.token_hex(12)
        for attempt in range(1, ATTEMPTS + 1):
            envelope = {"id": event_id, "event": SMS_RECEIVED, "occurredAt": data["createdAt"], "attempt": attempt,
                        "idempotencyKey": f"{reference}.{message_id}", "data": data}
            body = json_dumps(envelope).encode()
            request = urllib.request.Request(self.url, data=body, method="POST", headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                self._count("delivered")
                return
            except (urllib.error.URLError, OSError) as exc:
                logger.info("fake webhook to %s failed (attempt %d): %s", self.url, attempt, exc)
                if self.fake.stopping.wait(0.5 * attempt):
                    return
        self._count("failed")
