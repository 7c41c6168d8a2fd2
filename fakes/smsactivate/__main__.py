"""Run the fake provider in the foreground: `python -m fakes.smsactivate --port 8766`.

Point the platform at it with SMSACTIVATE_BASE_URL=http://127.0.0.1:8766 and
SMSACTIVATE_API_KEY=<the --api-key given here>.
"""
from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal, InvalidOperation

from fakes.smsactivate.server import FakeServer
from fakes.smsactivate.state import FakeSmsActivate


def _decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakes.smsactivate",
                                     description="A fake SMS-Activate-protocol provider for development.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default=os.environ.get("SMSACTIVATE_API_KEY") or "fake-smsactivate-key",
                        help="the key it accepts (default: $SMSACTIVATE_API_KEY, else fake-smsactivate-key)")
    parser.add_argument("--balance", type=_decimal, default=Decimal("1000.00"))
    parser.add_argument("--sms-delay", type=float, default=8.0,
                        help="seconds until each activation gets its SMS; negative: only through POST /_fake/sms")
    parser.add_argument("--lifetime", type=float, default=1200.0, help="seconds an activation lasts")
    parser.add_argument("--early-cancel-window", type=float, default=0.0,
                        help="seconds after a purchase during which setStatus 8 answers EARLY_CANCEL_DENIED")
    parser.add_argument("--no-v2", action="store_true", help="answer BAD_ACTION to getNumberV2 and getStatusV2")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a port number")
    fake = FakeSmsActivate(api_key=args.api_key, balance=args.balance, lifetime=args.lifetime,
                           early_cancel_window=args.early_cancel_window,
                           sms_delay=None if args.sms_delay < 0 else args.sms_delay, v2=not args.no_v2)
    try:
        server = FakeServer(fake=fake, host=args.host, port=args.port)
    except OSError as exc:
        print(f"fake smsactivate: cannot listen on {args.host}:{args.port} ({exc.strerror})", file=sys.stderr)
        return 2
    print(f"fake smsactivate: listening on {server.base_url}/stubs/handler_api.php (sms delay {args.sms_delay}s); "
          "Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stopping.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
