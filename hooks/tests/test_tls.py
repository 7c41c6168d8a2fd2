"""An https endpoint reached at the checked address still gets the URL's host in TLS: as SNI, and as
the name its certificate must carry (a certificate nobody vouches for is refused, nothing sent)."""
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hooks import services
from hooks.models import Delivery

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")


@pytest.fixture
def tls_receiver(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=tls.example", "-addext", "subjectAltName=DNS:tls.example"],
                   check=True, capture_output=True)
    seen = {"sni": [], "requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["requests"] += 1
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_the_url_host_is_the_sni_and_an_unvouched_certificate_is_refused(alice, names, allow_private, tls_receiver,
                                                                         django_capture_on_commit_callbacks):
    port, seen = tls_receiver
    names["tls.example"] = ["127.0.0.1"]
    endpoint = services.create_endpoint(owner=alice, url=f"https://tls.example:{port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        services.send_test(owner=alice, endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert "tls.example" in seen["sni"] and seen["requests"] == 0
    assert (delivery.status, delivery.response_code) == ("pending", None)
    assert delivery.last_error == "connection failed: SSLError"
