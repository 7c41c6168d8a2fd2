"""The fake Stripe over real HTTP: a threaded server on 127.0.0.1 that tests start on a free port."""
from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from fakes.stripe.state import FakeStripe, Reply

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the library's requests.Session reuses connections
    server_version = "FakeStripe/1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        try:
            reply = self.server.fake.handle(method=self.command, path=parts.path, query=parts.query,
                                            headers=self.headers, body=body, base_url=f"http://{host}")
        except Exception:  # a bug in the fake must be a 500, not a dropped connection
            logger.exception("fake Stripe failed on %s %s", self.command, parts.path)
            reply = Reply(500, {"error": {"type": "api_error", "message": "fake Stripe bug"}},
                          {"Stripe-Should-Retry": "false"})
        payload, content_type = reply.encoded()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Request-Id", "req_fake")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format, *args):
        logger.debug("fake Stripe: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeStripeServer:
    def __init__(self, fake: FakeStripe, host: str = "127.0.0.1", port: int = 0):
        self.fake = fake
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = fake
        # A short poll interval: stop() (shutdown) waits up to one interval.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-stripe", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def start_fake_stripe(*, secret_key: str, webhook_secret: str) -> FakeStripeServer:
    """A fake Stripe on a free port of 127.0.0.1, serving in a background thread; call stop()."""
    return FakeStripeServer(FakeStripe(secret_key=secret_key, webhook_secret=webhook_secret)).start()
