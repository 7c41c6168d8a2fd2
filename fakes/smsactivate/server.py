"""The fake provider over real HTTP: a threaded server on 127.0.0.1 that tests start on a free port
and `python -m fakes.smsactivate` runs in the foreground.

/stubs/handler_api.php takes GET and POST (query string and urlencoded body merged, the body
winning); other methods answer 405. Hooks, without a key (a development tool on loopback):
POST /_fake/sms {"id", "text", "code"}, POST /_fake/call {"id", "caller", "text", "code", "url"},
POST /_fake/faults {Fault fields}, POST /_fake/offer {"country", "service", "price", "stock"},
POST /_fake/reset, GET /_fake/state.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from fakes.smsactivate.faults import Fault, Reply
from fakes.smsactivate.state import FakeSmsActivate

logger = logging.getLogger(__name__)
PATH = "/stubs/handler_api.php"
STALL_LIMIT = 60.0  # seconds an answer is held back at most
_KEY = re.compile(r"(api_key=)[^&\s\"]+", re.IGNORECASE)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a pooled client reuses connections
    server_version = "FakeSmsActivate/1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self) -> None:
        fake: FakeSmsActivate = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        try:
            if parts.path.startswith("/_fake/"):
                reply = _hook(fake, self.command, parts.path, body)
            elif parts.path != PATH:
                reply = Reply(status=404, body="Not Found")
            elif self.command not in ("GET", "POST"):
                reply = Reply(status=405, body="Method Not Allowed", headers={"Allow": "GET, POST"})
            else:
                form = {}
                if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
                reply = fake.handle(method=self.command, form=form,
                                    query=dict(parse_qsl(parts.query, keep_blank_values=True)))
        except Exception:  # a bug in the fake must show up as a 500, not a dropped connection
            logger.exception("fake SMS-Activate failed on %s %s", self.command, parts.path)
            reply = Reply(status=500, body="fake failure")
        if reply.stall:
            fake.stopping.wait(min(reply.stall, STALL_LIMIT))
        if reply.drop or fake.stopping.is_set():
            self.close_connection = True  # no answer at all: the client sees the connection close
            return
        payload, content_type = reply.payload()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timed out)

    def log_message(self, format, *args):
        # Even a fake keeps keys out of its logs: clients that use the query string put them there.
        logger.debug("fake SMS-Activate: %s", _KEY.sub(r"\1***", format % args))


def _hook(fake: FakeSmsActivate, method: str, path: str, body: bytes) -> Reply:
    if method == "GET" and path == "/_fake/state":
        return Reply(body=fake.snapshot())
    if method != "POST":
        return Reply(status=405, body="POST only")
    try:
        data = json.loads(body or b"{}")
        if path == "/_fake/reset":
            fake.reset()
        elif path == "/_fake/sms":
            fake.deliver_sms(int(data["id"]), text=str(data["text"]), code=data.get("code"))
        elif path == "/_fake/call":
            fake.deliver_call(int(data["id"]), caller=str(data.get("caller") or "18005550100"),
                              text=data.get("text"), code=data.get("code"), url=str(data.get("url") or ""))
        elif path == "/_fake/faults":
            fake.add_fault(Fault.from_json(data))
        elif path == "/_fake/offer":
            fake.set_offer(country=int(data["country"]), service=str(data["service"]),
                           price=None if data.get("price") is None else Decimal(str(data["price"])),
                           stock=data.get("stock"))
        else:
            return Reply(status=404, body="unknown hook")
    except KeyError as exc:
        return Reply(status=404, body={"error": f"unknown or missing {exc}"})
    except (ValueError, TypeError) as exc:
        return Reply(status=400, body={"error": str(exc)})
    return Reply(body={"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class FakeServer:
    """A running fake provider: `base_url` for the client (the host; the path is appended), `fake`
    for hooks, `stop()` when done."""

    def __init__(self, *, fake: FakeSmsActivate, host: str = "127.0.0.1", port: int = 0):
        self.fake = fake
        self._server = _Server((host, port), _Handler)
        self._server.fake = fake
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-smsactivate", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self.fake.stopping.set()  # releases hanging and stalled answers
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_fake_smsactivate(*, host: str = "127.0.0.1", port: int = 0, **options) -> FakeServer:
    """Start the fake in a background thread (port 0: a free port). Options go to FakeSmsActivate."""
    return FakeServer(fake=FakeSmsActivate(**options), host=host, port=port).start()
