"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1, and a resolver that names hosts."""
from __future__ import annotations

import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An integrator's endpoint: records every request; answers with the next queued status (200 once
    the queue is empty), or "hang" to answer nothing until the test ends."""
    port: int
    requests: list[Received] = field(default_factory=list)
    answers: deque = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)
    # Set it to verify each request as an integrator's receiver does: 401 unless the signature holds.
    secret: str | None = None
    verified: list[dict] = field(default_factory=list)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            answer = receiver.answers.popleft() if receiver.answers else 200
            if receiver.secret is not None:
                try:
                    receiver.verified.append(Webhook(receiver.secret).verify(body, dict(self.headers.items())))
                except WebhookVerificationError:
                    answer = 401
            if answer == "hang":
                receiver.release.wait(10)
                return
            self.send_response(answer)
            if 300 <= answer < 400:
                self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"answer!")

        def log_message(self, *args):
            pass

    return Handler


def _serve():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    state = Receiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(state)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver():
    yield from _serve()


@pytest.fixture
def bobs_receiver():
    """Another customer's endpoint: it must never see alice's events."""
    yield from _serve()


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def names(monkeypatch):
    """Hostnames the resolver answers for, as a dict the test fills (name -> list of addresses);
    every other name resolves as usual."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in table[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def alice_api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_api(bob):
    client = APIClient()
    client.force_authenticate(bob)
    return client
