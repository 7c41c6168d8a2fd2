"""HEAD answers carry no body on the wire, as gunicorn serves them: a body after a HEAD answer is
read by a kept-alive client as the start of the next answer."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn():
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed beside this Python")
    port = free_port()
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env = {**keep, "DJANGO_SETTINGS_MODULE": "namaskah.settings", "DEBUG": "true", "HOST": "127.0.0.1",
           "PORT": str(port), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2", "LOG_LEVEL": "warning"}
    proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "namaskah.wsgi"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:  # until a worker answers (the master listens before its workers have loaded Django)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/system/live", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=15)


def read_answer(sock) -> tuple[bytes, bytes]:
    """(head, what came after it within a moment): the bytes that follow a HEAD answer's headers."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    sock.settimeout(0.5)  # a body, if one is sent, leaves with the headers
    try:
        while chunk := sock.recv(65536):
            rest += chunk
    except TimeoutError:
        pass
    sock.settimeout(10)
    return head, rest


# Views that need no database (the server runs apart from the test database): a DRF view and a page.
@pytest.mark.parametrize("path", ["/api/schema", "/api/docs"])
def test_a_head_answer_is_headers_only_and_the_connection_stays_in_step(gunicorn, path):
    with socket.create_connection(("127.0.0.1", gunicorn), timeout=10) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head, after = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 200")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        assert length > 0 and after == b""  # the GET's length, none of its bytes
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head, body = read_answer(sock)
        assert head.startswith(b"HTTP/1.1 200") and len(body) == length
