"""What authentication reads, fast: an API key's row and its user, and the user behind a JWT, kept in
the shared cache so that a poll reads no row; revocation and every change that matters to
authentication drop the entries at once (accounts.services calls forget_cached_user())."""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, User
from namaskah import cache as shared_cache

API_KEY_PREFIX = "nmk"  # the first part of every full key: nmk_<prefix>_<secret>


API_KEY_CACHE_SECONDS = 30
USER_CACHE_SECONDS = 60
# What authentication reads of a user: a cached user differing in any of these is dropped.
_AUTH_FIELDS = ("password", "is_active", "is_staff", "is_superuser", "email")


def api_key_cache_key(prefix: str) -> str:
    return f"accounts:api-key:{prefix}"


def user_cache_key(user_id) -> str:
    return f"accounts:user:{user_id}"


def user_for_api_key(raw: str, *, read_ahead: shared_cache.ReadAhead | None = None) -> User | None:
    """The active user owning this full key, or None. Constant-time comparison of the hash.

    The key row is kept in the shared cache for API_KEY_CACHE_SECONDS and its user as cached_user()
    keeps it: integrators poll every few seconds and each lookup was a query of every poll.
    Revoking deletes the key's entry, deactivating forgets the user: both take effect at once.
    `read_ahead` (from api_key_cache_keys()) holds both entries when the caller has read them already.
    """
    prefix = _key_prefix(raw)
    if prefix is None:
        return None
    keys = api_key_cache_keys(raw)
    if read_ahead is None and len(keys) == 2:
        read_ahead = shared_cache.ReadAhead(keys)  # the key's entry and its user's in one round trip
    row = shared_cache.read_ahead_get(read_ahead, keys[0], lambda: None)
    if row is None:
        row = _cached_key_row(prefix)
    if row is None or not hmac.compare_digest(row.hashed_key, hashlib.sha256(raw.strip().encode()).hexdigest()):
        return None
    if len(_key_owners) > 100_000:
        _key_owners.clear()
    _key_owners[prefix] = row.user_id
    user = cached_user(user_id=row.user_id, read_ahead=read_ahead)
    if user is None or not user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)  # coarse, to spare a write per request
        row.last_used_at = now
        shared_cache.call(lambda: cache.set(api_key_cache_key(row.prefix), row, API_KEY_CACHE_SECONDS))
    return user


def api_key_cache_keys(raw: str) -> list[str]:
    """The cache entries user_for_api_key() reads for this key: its row's, and its user's once this
    process knows whose key it is; none for what is not a key of ours."""
    prefix = _key_prefix(raw)
    if prefix is None:
        return []
    owner = _key_owners.get(prefix)
    return [api_key_cache_key(prefix)] + ([user_cache_key(owner)] if owner is not None else [])


def _key_prefix(raw: str) -> str | None:
    parts = raw.strip().split("_", 2)  # the secret itself may contain "_"
    return parts[1] if len(parts) == 3 and parts[0] == API_KEY_PREFIX else None


# prefix -> user id, per process: a prefix names one key row for ever (unique), and a row's user never
# changes, so this only tells which user entry to read beside the key's; revocation and deactivation
# are still read from the shared cache on every request.
_key_owners: dict[str, int] = {}


def _cached_key_row(prefix: str) -> ApiKey | None:
    row = shared_cache.call(lambda: cache.get(api_key_cache_key(prefix)))
    if row is None:
        row = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
        if row is not None:
            shared_cache.call(lambda: cache.set(api_key_cache_key(prefix), row, API_KEY_CACHE_SECONDS))
    return row


# --- the user row for authentication ----------------------------------------------------------------

def cached_user(*, user_id, read_ahead: shared_cache.ReadAhead | None = None) -> User | None:
    """The user with this id as authentication needs it (API keys, JWTs), or None if there is none.

    Kept in the shared cache for USER_CACHE_SECONDS, so a poll reads no user row. Whatever changes
    what authentication decides — deactivation, a password change (simplejwt's hash_password claim
    is compared with the cached hash), staff flags, deletion — must call forget_cached_user().
    """
    key = user_cache_key(user_id)
    user = shared_cache.read_ahead_get(read_ahead, key, lambda: shared_cache.call(lambda: cache.get(key)))
    if user is not None:
        return user
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    shared_cache.call(lambda: cache.set(key, user, USER_CACHE_SECONDS))
    # Read again after the write: a change that committed between our read and our write ran its
    # forget_cached_user() before our write landed, and must not be undone by it.
    if User.objects.filter(pk=user_id).values_list(*_AUTH_FIELDS).first() != tuple(
            getattr(user, name) for name in _AUTH_FIELDS):
        shared_cache.call(lambda: cache.delete(key))
    return user


def forget_cached_user(*, user_id: int) -> None:
    """Drop the user's cached row now and again when the current transaction commits. Call it from
    every service that deactivates a user, changes a password or staff flags, or deletes a user."""
    key = user_cache_key(user_id)
    shared_cache.call(lambda: cache.delete(key))
    transaction.on_commit(lambda: shared_cache.call(lambda: cache.delete(key)), robust=True)
