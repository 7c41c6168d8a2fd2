"""One signed POST to an endpoint: resolved and checked again (addresses.py), sent to the checked
address with the URL's host in `Host` and in TLS (SNI and the certificate check), redirects not
followed, nothing retried here (services.py schedules the retries), the whole exchange bounded by
WEBHOOK_TIMEOUT."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from standardwebhooks import Webhook

from hooks import addresses

USER_AGENT = "Namaskah-Webhooks/1"
# What of the receiver's answer we keep (in last_error): enough to say why, never a whole page.
ANSWER_BYTES = 200


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""


def signed_headers(*, secret: str, webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers, signed by the standardwebhooks library (a fresh timestamp per attempt)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def send(*, url: str, secret: str, webhook_id: str, body: str, at: datetime) -> Outcome:
    try:
        scheme, host, port, resolved = addresses.check(url)
    except addresses.AddressRefused as exc:
        return Outcome(False, error=f"refused: {exc}")
    headers = signed_headers(secret=secret, webhook_id=webhook_id, body=body, at=at)
    headers["Host"] = host if port == addresses.SCHEMES[scheme] else f"{host}:{port}"
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(resolved[0], port, timeout=timeout, retries=False, cert_reqs="CERT_REQUIRED",
                                           ca_certs=certifi.where(), server_hostname=host, assert_hostname=host)
    else:
        pool = urllib3.HTTPConnectionPool(resolved[0], port, timeout=timeout, retries=False)
    try:
        with pool:
            response = pool.urlopen("POST", target, body=body.encode(), headers=headers, redirect=False, retries=False,
                                    assert_same_host=False, preload_content=False)
            try:
                answer = response.read(ANSWER_BYTES, decode_content=False)
            finally:
                response.release_conn()
    except urllib3.exceptions.NewConnectionError:  # urllib3 files it under timeouts; it is a refusal
        return Outcome(False, error="connection failed: the receiver refused or could not be reached")
    except urllib3.exceptions.TimeoutError:
        return Outcome(False, error=f"no answer within {settings.WEBHOOK_TIMEOUT:g} s")
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(False, error=f"connection failed: {type(exc).__name__}")
    if 200 <= response.status < 300:
        return Outcome(True, status=response.status)
    why = "a redirect (not followed)" if 300 <= response.status < 400 else f"HTTP {response.status}"
    snippet = answer.decode("utf-8", "replace").strip()
    return Outcome(False, status=response.status, error=f"{why}: {snippet}" if snippet else why)
