"""Rate limits on the shared cache, checked inside views after authentication.

Why not django-ratelimit's decorator: around a DRF view it runs before DRF authenticates, so a
"per user" limit silently becomes "per IP". Outage behaviour (decided): if the cache is down,
limits fail open — the site keeps serving, the outage shows in /system/health — rather than
turning every request into a 500, and for a few seconds after a failure the store is not asked at
all (namaskah/cache.py), so a hung Redis does not cost every request a timeout.
"""
from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import get_usage

from namaskah import cache as shared_cache


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__("Too many requests; slow down")
        self.retry_after = max(1, int(retry_after))


def client_ip(request) -> str:
    """The client address: REMOTE_ADDR, or the X-Forwarded-For entry our own trusted proxy wrote.

    A raw X-Forwarded-For is never trusted: anyone can send one. With N trusted proxies, the
    N-th entry from the right is the one the outermost trusted proxy saw.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    hops = settings.TRUSTED_PROXY_COUNT
    if not hops:
        return remote
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return chain[-hops] if len(chain) >= hops else remote


def enforce(request, *, group: str, rate: str, key: str) -> None:
    """Count one hit for `key` in `group`; raise RateLimited when over `rate` (e.g. "20/m")."""
    if not settings.RATELIMIT_ENABLE:
        return
    usage = shared_cache.call(lambda: get_usage(request, group=group, key=lambda _group, _request: key, rate=rate,
                                                increment=True),
                              alias=getattr(settings, "RATELIMIT_USE_CACHE", "default"))
    if usage and usage["should_limit"]:
        raise RateLimited(usage.get("time_left") or 1)


def per_user(request, *, group: str, rate: str) -> None:
    enforce(request, group=group, rate=rate, key=f"user:{request.user.pk}")


def per_ip(request, *, group: str, rate: str) -> None:
    enforce(request, group=group, rate=rate, key=f"ip:{client_ip(request)}")


# The sign-in and sign-up limits, shared by the API and the dashboard (same groups, same counters),
# so a client cannot get twice the attempts by switching door.

def sign_in_attempt(request, *, email: str) -> None:
    """Count a sign-in attempt per client address and per email; raise RateLimited when over."""
    per_ip(request, group="login-ip", rate=settings.RATE_LOGIN_IP)
    email = str(email or "").strip().lower()
    if email:
        enforce(request, group="login-email", rate=settings.RATE_LOGIN_EMAIL, key=f"email:{email}")


def sign_up_attempt(request, *, email: str) -> None:
    """Count a sign-up attempt per client address and per email; raise RateLimited when over."""
    per_ip(request, group="register", rate=settings.RATE_REGISTER_IP)
    email = str(email or "").strip().lower()
    if email:
        enforce(request, group="register-email", rate=settings.RATE_REGISTER_EMAIL, key=f"email:{email}")


def password_reset_attempt(request, *, email: str) -> None:
    """Count a password-reset request per client address and per email; raise RateLimited when over.

    Counted whether or not the email has an account, so a 429 tells nothing about it."""
    per_ip(request, group="reset-ip", rate=settings.RATE_RESET_IP)
    email = str(email or "").strip().lower()
    if email:
        enforce(request, group="reset-email", rate=settings.RATE_RESET_EMAIL, key=f"email:{email}")
