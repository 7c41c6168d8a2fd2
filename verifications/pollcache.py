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

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)
TOKEN_TTL = 3600
ANSWER_TTL = 30
RETRY_SECONDS = 1.0


def token_key(pk) -> str:
    return f"poll:token:{pk}"


def answer_key(pk, kind: str) -> str:
    return f"poll:answer:{kind}:{pk}"


def changed(pks) -> None:
    """These verifications changed (or will, when the current transaction commits)."""
    keys = sorted({token_key(pk) for pk in pks if pk is not None})
    if keys:
        transaction.on_commit(lambda: _forget(keys, attempt=1), robust=True)


def _forget(keys: list[str], *, attempt: int) -> None:
    try:
        cache.delete_many(keys)
    except Exception:
        if attempt == 1:
            log.warning("cache unreachable: poll answers of %d verification(s) will be dropped once it is back",
                        len(keys))
        if attempt * RETRY_SECONDS < ANSWER_TTL:  # after that, the answers have expired anyway
            timer = threading.Timer(RETRY_SECONDS, _forget, (keys,), {"attempt": attempt + 1})
            timer.daemon = True
            timer.start()


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
