"""The integrators' poll answer kept in the shared cache, so a poll needs no SQL while nothing changes.

A verification is polled every few seconds and changes a handful of times in its life (bought, a
code, completed or refunded). The fast path (verifications/fastpoll.py) keeps each rendered answer
in the cache, tagged with the verification's current *version token*, and reads token and answer in
the same round trip as the API key and the rate limit. Every write to a verification, its messages
or its calls deletes the token once the transaction commits (the models' querysets and signals call
changed(): no write path can forget it), so an answer tagged with an older token is never served.

Why tokens rather than deleting the answer itself: a reader that read the database just before a
write commits could otherwise store the old state after the write's delete. A reader takes the
current token *before* its SQL read and stores its answer only if the token is still the same
(compare-and-set in Redis); the writer's delete comes after its commit, so either the reader read
the new state or its store is refused, or its stored answer carries a token that no longer exists.
Tokens are random: a token lost to expiry or eviction is never reissued. If the cache cannot be
reached when a write commits, the delete is retried every second; answers live ANSWER_TTL seconds at
most in any case.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)
TOKEN_TTL = 900
# Short: also the longest a stale answer could live if a write's drop never reached the cache.
ANSWER_TTL = 10
RETRY_SECONDS = 1.0


def token_key(pk) -> str:
    return f"poll:token:{pk}"


def answer_key(pk, kind: str) -> str:
    return f"poll:answer:v1:{kind}:{pk}"  # v1: the answer tuple's layout; change it with the layout


def changed(pks) -> None:
    """These verifications changed (or will, when the current transaction commits)."""
    keys = sorted({token_key(pk) for pk in pks if pk is not None})
    if keys:
        transaction.on_commit(lambda: _forget(keys), robust=True)


# Drops that could not reach the cache, retried by one thread per process until they succeed or
# the answers they protect against have expired anyway.
_pending: set[str] = set()
_pending_lock = threading.Lock()
_retry = {"thread": None, "until": 0.0}


def _forget(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
        return
    except Exception:
        pass
    with _pending_lock:
        if not _pending:
            log.warning("cache unreachable: dropping cached poll answers again every %.0f s", RETRY_SECONDS)
        _pending.update(keys)
        _retry["until"] = time.monotonic() + ANSWER_TTL
        thread = _retry["thread"]
        if thread is None or not thread.is_alive():
            thread = _retry["thread"] = threading.Thread(target=_retry_pending, name="pollcache-retry", daemon=True)
            thread.start()


def _retry_pending() -> None:
    while True:
        time.sleep(RETRY_SECONDS)
        with _pending_lock:
            keys = sorted(_pending)
            if not keys or time.monotonic() > _retry["until"]:
                _pending.clear()  # done, or every answer they could protect has expired
                return
        try:
            cache.delete_many(keys)
        except Exception:
            continue
        with _pending_lock:
            _pending.difference_update(keys)


def current_token(pk, raw_token: bytes | None) -> bytes:
    """The raw token to tag a new answer with: the one read with the poll, or a new one."""
    if raw_token is not None:
        return raw_token
    cache.add(token_key(pk), secrets.randbits(62), TOKEN_TTL)  # SET NX: a concurrent reader may win
    return cache.get_raw(token_key(pk)) or b""


def store(pk, kind: str, raw_token: bytes, answer: tuple) -> bool:
    """Keep `answer` (token, user id, status, capability, expires_at, body) if the token is current."""
    if not raw_token:
        return False
    return cache.set_if_equal(token_key(pk), raw_token, answer_key(pk, kind), answer, ANSWER_TTL)
