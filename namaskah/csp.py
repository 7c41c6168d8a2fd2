"""The dashboard's Content-Security-Policy, for every HTML page of accounts and verifications."""
from __future__ import annotations

from functools import wraps

# Every script and style is a static file of ours: an SMS that slips past escaping still cannot run.
# Voice recordings are our own copies, served by our recording endpoint: media from 'self' only.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def content_security_policy(view):
    """Send the dashboard's strict Content-Security-Policy with every response of `view`."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.setdefault("Content-Security-Policy", CSP)
        return response

    return wrapped
