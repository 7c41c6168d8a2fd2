"""Downloading a call's recording from TextVerified.

`recordingUri` is absolute or relative to the base URL. The bearer token goes only to the
TextVerified origin: redirects are followed here, one hop at a time, and a hop to another host (a
CDN, a signed storage URL) gets no Authorization header. The download is bounded in size
(RECORDING_MAX_BYTES, checked against Content-Length and while streaming) and in time
(RECORDING_TIMEOUT for the whole download, besides the per-read timeouts).
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from providers.base import ProviderRejected, ProviderUnavailable
from providers.recordings import Recording, identify
from providers.textverified import errors

if TYPE_CHECKING:
    from providers.textverified.client import TextVerifiedClient

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


def absolute(base_url: str, uri: str) -> str:
    """recordingUri as an absolute http(s) URL; ProviderRejected(bad_recording_uri) for anything else."""
    uri = (uri or "").strip()
    url = uri if uri.startswith(("http://", "https://")) else urljoin(base_url.rstrip("/") + "/", uri)
    parts = urlsplit(url)
    if not uri or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderRejected("The call has no usable recording URI.", code="bad_recording_uri")
    return url


def download(client: "TextVerifiedClient", uri: str) -> Recording:
    """The recording at uri. Raises ProviderRejected (not_found, recording_too_large,
    unsupported_recording, bad_recording_uri) or ProviderUnavailable (timeouts, 5xx, 429)."""
    limit = int(settings.RECORDING_MAX_BYTES)
    deadline = time.monotonic() + float(settings.RECORDING_TIMEOUT)
    url = absolute(client.base_url, uri)
    refreshed = False
    hops = 0
    while True:
        with_auth = client.same_origin(url)
        token = client.bearer_token() if with_auth else None
        headers = {"Accept": "audio/*"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = _get(client, url, headers=headers, deadline=deadline)
        try:
            if response.status_code == 401 and token and not refreshed:
                # Expired or revoked early: a new token, once, like every other call.
                refreshed = True
                client.forget_token(token)
                continue
            if response.status_code in REDIRECTS:
                location = response.headers.get("Location")
                hops += 1
                if not location or hops > MAX_REDIRECTS:
                    raise ProviderUnavailable("TextVerified recording: too many or broken redirects",
                                              code="bad_response")
                url = absolute(url, urljoin(url, location))
                continue
            if response.status_code != 200:
                raise errors.for_response(response, operation="recording", redact=client.redact)
            content = _read(response, limit=limit, deadline=deadline)
            return identify(content, response.headers.get("Content-Type"))
        finally:
            response.close()


def _get(client, url: str, *, headers: dict, deadline: float) -> requests.Response:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProviderUnavailable("TextVerified recording: the download took too long", code="timeout")
    connect, read = client.timeouts
    try:
        return client.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                  timeout=(min(connect, left), min(read, left)))
    except requests.RequestException as exc:
        logger.warning("TextVerified recording GET %s failed: %s", urlsplit(url).path, type(exc).__name__)
        raise errors.for_exception(exc, operation="recording") from None


def _read(response: requests.Response, *, limit: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ProviderRejected(f"The recording is {int(declared)} bytes, above RECORDING_MAX_BYTES ({limit}).",
                               code="recording_too_large")
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > limit:
                raise ProviderRejected(f"The recording is larger than RECORDING_MAX_BYTES ({limit}).",
                                       code="recording_too_large")
            if time.monotonic() > deadline:
                raise ProviderUnavailable("TextVerified recording: the download took too long", code="timeout")
    except requests.RequestException as exc:
        raise errors.for_exception(exc, operation="recording") from None
    return bytes(body)
