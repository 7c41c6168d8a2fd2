"""The fake TextVerified for the scale-out benchmark, in a process of its own (its CPU is measured
apart from the workers'), with its per-reservation read log on demand: on SIGUSR1 it writes
`FakeTextVerified.reads` — (monotonic time, reservation id) of every read of one number's SMS — to
--reads-out as JSON. CLOCK_MONOTONIC is system-wide on Linux, so the driver compares those times
with its own.

    python bench/fake_upstream.py --port 8765 --latency 0.3 --reads-out /tmp/reads.json
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.textverified import FakeServer, FakeTextVerified  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--latency", type=float, default=0.3)
    p.add_argument("--lifetime", type=float, default=3600.0, help="seconds a rented number lives upstream")
    p.add_argument("--api-key", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--reads-out", required=True)
    args = p.parse_args()
    # No SMS ever arrives (sms_delay None): every number stays open and is checked each interval.
    fake = FakeTextVerified(api_key=args.api_key, username=args.email, latency=args.latency, sms_delay=None,
                            lifetime=args.lifetime, balance=Decimal("10000000"), max_pending=1_000_000)
    server = FakeServer(fake=fake, host="127.0.0.1", port=args.port)
    wanted = threading.Event()

    def dump() -> None:
        while True:
            wanted.wait()
            wanted.clear()
            with fake.lock:
                reads = list(fake.reads)
            out = Path(args.reads_out)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(reads))
            os.replace(tmp, out)  # the driver never reads half a file

    # The handler only sets a flag: writing 100k rows inside a signal handler would stall a request thread.
    signal.signal(signal.SIGUSR1, lambda signum, frame: wanted.set())
    threading.Thread(target=dump, daemon=True).start()
    print(f"fake_upstream: listening on 127.0.0.1:{args.port} (latency {args.latency}s)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stopping.set()


if __name__ == "__main__":
    main()
