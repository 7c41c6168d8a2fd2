"""The project's fake TextVerified server for the benchmark, with one method made cheap.

    python bench/fake_upstream.py --port 8765 --latency 0.3 --sms-delay 12

Same as `manage.py fake_textverified` (same server, state and simulation), except that a purchase
counts the unfinished rentals among the recent ones only. The project's `_purchase` recomputes
`simulation.view()` for every rental ever made, under the fake's global lock: measured ~36 µs per
rental, i.e. ~25 ms of CPU per purchase after 700 purchases, most of a core at 25 purchases/s. On
this 2-core machine that would bill the fake's bookkeeping to the platform under test.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections import deque
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "namaskah.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from providers import simulation  # noqa: E402
from providers.base import RentalState  # noqa: E402
from providers.fakeserver import FakeServer, FakeTextVerified  # noqa: E402
from providers.fakeserver.state import _CAPABILITIES, API, _CROCKFORD, Record, Reply, _error, _json, _mock_header  # noqa: E402


class BenchFakeTextVerified(FakeTextVerified):
    """`_purchase` as in the project, but pending rentals are counted among those younger than the SMS
    delay: an older rental has received its SMS, been given back or expired, so it is not pending."""

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.recent: deque[Record] = deque()

    def _pending_locked(self, now) -> int:
        if self.sms_delay is None:  # SMS only by hand: any rental may still be pending
            candidates = list(self.records.values())
        else:
            horizon = now - timedelta(seconds=self.sms_delay + 1)
            while self.recent and self.recent[0].facts.created_at < horizon:
                self.recent.popleft()
            candidates = self.recent
        return sum(1 for r in candidates if not r.test
                   and simulation.view(r.facts, now=now).state == RentalState.PENDING)

    def _purchase(self, body: bytes, base: str) -> Reply:
        data = _json(body)
        service = data.get("serviceName")
        capability = _CAPABILITIES.get(str(data.get("capability", "")).lower())
        if not service or not capability:
            return _error(400, None, "serviceName and capability are required.")
        max_price = None if data.get("maxPrice") is None else Decimal(str(data["maxPrice"]))
        try:
            price = simulation.check_purchase(service=service, capability=capability, max_price=max_price, strict=True)
        except simulation.Outage as exc:
            return _error(503, None, str(exc))
        except simulation.Refused as exc:
            return _error(400, exc.upstream_code, exc.message)
        test = service in simulation.SCENARIOS
        now = self.clock()
        with self.lock:
            if not test:
                if self.balance < price:
                    return _error(400, "InsufficientBalance", "Not enough credits.")
                if self._pending_locked(now) >= self.max_pending:
                    return _error(400, "TooManyUnfinishedVerifications", "Too many unfinished verifications.")
                self.balance -= price
            vid = "lr_" + "".join(secrets.choice(_CROCKFORD) for _ in range(26))
            facts = simulation.Facts(reference=vid, service=service, capability=capability, created_at=now,
                                     sms_delay=self.sms_delay, lifetime=self.lifetime)
            record = Record(facts=facts, price=price, test=test)
            self.records[vid] = record
            self.recent.append(record)
        href = f"{base}{API}/verifications/{vid}"
        return Reply(201, {"method": "GET", "href": href}, {"Location": href, **_mock_header(service)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--sms-delay", type=float, default=12.0)
    parser.add_argument("--lifetime", type=float, default=900.0)
    parser.add_argument("--max-pending", type=int, default=100000)
    args = parser.parse_args()
    fake = BenchFakeTextVerified(api_key=settings.TEXTVERIFIED_API_KEY, username=settings.TEXTVERIFIED_EMAIL,
                                 latency=args.latency, sms_delay=args.sms_delay, lifetime=args.lifetime,
                                 balance=Decimal("1000000.00"), max_pending=args.max_pending)
    server = FakeServer(fake=fake, host=args.host, port=args.port)
    print(f"fake upstream on {server.base_url} (latency {args.latency}s, sms delay {args.sms_delay}s)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stopping.set()


if __name__ == "__main__":
    main()
