"""The fake TextVerified over real HTTP: a threaded server that tests start on a free port and
`manage.py fake_textverified` runs in the foreground."""
from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from fakes.textverified.state import FakeTextVerified

logger = logging.getLogger(__name__)
STALL_LIMIT = 60.0  # seconds a stalled answer is held back at most


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive, so a pooled client reuses connections (every reply has a Content-Length).
    protocol_version = "HTTP/1.1"
    server_version = "FakeTextVerified/1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle plus delayed ACKs add ~40 ms
    # to every keep-alive request.
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
        fake: FakeTextVerified = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or "%s:%s" % self.server.server_address[:2]
        try:
            reply = fake.handle(method=self.command, path=parts.path, query=parts.query, headers=self.headers,
                                body=body, base_url=f"http://{host}")
        except Exception:  # a bug in the fake must show up as a 500, not a dropped connection
            logger.exception("fake TextVerified failed on %s %s", self.command, parts.path)
            reply = None
        if reply is None:
            self._write(500, b"", {})
            return
        if reply.stall:
            fake.stopping.wait(min(reply.stall, STALL_LIMIT))
            if fake.stopping.is_set():
                self.close_connection = True
                return
        payload = reply.payload()
        headers = dict(reply.headers)
        if payload and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json; charset=utf-8"
        self._write(reply.status, payload, headers)

    def _write(self, status: int, payload: bytes, headers: dict) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timed out); nothing to tell it

    def log_message(self, format, *args):
        logger.debug("fake TextVerified: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # the load benchmark opens many connections at once


class FakeServer:
    """A running fake TextVerified: `base_url` for the client, `fake` for hooks, `stop()` when done."""

    def __init__(self, *, fake: FakeTextVerified, host: str = "127.0.0.1", port: int = 0):
        self.fake = fake
        self._server = _Server((host, port), _Handler)
        self._server.fake = fake
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        # A short poll interval makes stop() quick (tests start and stop many servers).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-textverified", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self.fake.stopping.set()  # releases stalled answers
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_fake_server(*, host: str = "127.0.0.1", port: int = 0, **options) -> FakeServer:
    """Start a fake TextVerified in a background thread (port 0: a free port). Options go to FakeTextVerified."""
    return FakeServer(fake=FakeTextVerified(**options), host=host, port=port).start()
