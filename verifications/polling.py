"""The poll's answer (GET /verify/{id}/messages or /voice) kept in the shared cache, keyed by the
verification's version.

Every UPDATE that changes what a poll shows bumps `Verification.version` in the same statement
(verifications/services.py), and registers `changed()`, which once the transaction commits reads
the new answer and puts it in the cache. A poll then reads one cache entry — owner, version,
status, expiry and the rendered body — and no SQL; its ETag is the version, so a client that has
it already gets a 304.

Why an answer is never stale after a commit:
- an entry is only built from one SQL read that returned the body and its version together
  (verifications/snapshot.py), so it is exactly that version's answer;
- every write of an entry is followed by a read of the row's version (`publish`). If the row has
  moved on — a writer committed after our read, and its own write of the newer answer may have
  landed before ours — we read again and write again. So the last write of an entry is always
  checked by a read that came after every commit it could have overtaken.
What remains is a cache that accepts no write after a commit (an outage, or one lost write): an
entry lives ENTRY_TTL seconds, and the process that saw the failure stops reading the cache for a
few seconds (namaskah/cache.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from rest_framework.renderers import JSONRenderer

from namaskah import cache as shared_cache
from verifications import snapshot
from verifications.models import Capability, Verification

ENTRY_TTL = 60
_PUBLISH_ROUNDS = 3
_render = JSONRenderer().render


@dataclass(frozen=True)
class Answer:
    """What a poll answers: the rendered body and what the view checks before sending it."""

    user_id: int
    version: int
    status: str
    capability: str
    expires_at: datetime | None
    kind: str  # "messages" or "calls"
    body: bytes

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'

    def past_expiry_unsettled(self, now: datetime) -> bool:
        return self.status == Verification.Status.PENDING and self.expires_at is not None and now >= self.expires_at


def kind_of(capability: str) -> str:
    """The answer a verification's customers poll: calls for voice, messages for SMS."""
    return "calls" if capability == Capability.VOICE else "messages"


def key(pk) -> str:
    return f"poll:v1:{pk}"  # v1: the Answer layout; change it with the layout


def answer(view: snapshot.Snapshot, *, kind: str) -> Answer:
    return Answer(user_id=view.user_id, version=view.version, status=view.status, capability=view.capability,
                  expires_at=view.expires_at, kind=kind, body=_render(snapshot.as_json(view, kind=kind)))


def cached(pk, *, read_ahead: shared_cache.ReadAhead | None = None) -> Answer | None:
    """The cached answer of a verification, whoever owns it (callers check `user_id`), or None;
    from `read_ahead` when the request read it there."""
    return shared_cache.read_ahead_get(read_ahead, key(pk), lambda: shared_cache.call(lambda: cache.get(key(pk))))


def publish(pk, current: Answer) -> None:
    """Keep `current` (built from a read at its version) as the verification's cached answer."""
    for _ in range(_PUBLISH_ROUNDS):
        if not shared_cache.call(lambda: cache.set(key(pk), current, ENTRY_TTL) or True, False):
            return  # the cache is down: polls read the database meanwhile
        row = Verification.objects.filter(pk=pk).values_list("version", flat=True).first()
        if row == current.version:
            return
        view = snapshot.read(user_id=None, pk=pk, kind=current.kind) if row is not None else None
        if view is None:
            break
        current = answer(view, kind=current.kind)
    # Still moving after a few rounds (or gone): leave no entry, the next poll reads the database.
    shared_cache.call(lambda: cache.delete(key(pk)))


def changed(pk, *, capability: str) -> None:
    """A verification's version was bumped: drop its cached answer now (later reads in this
    transaction go to the database) and cache the new one once the transaction commits."""
    shared_cache.call(lambda: cache.delete(key(pk)))
    transaction.on_commit(lambda: _refresh(pk, kind_of(capability)), robust=True)


def _refresh(pk, kind: str) -> None:
    if shared_cache.DEFAULT.skipping():
        return
    view = snapshot.read(user_id=None, pk=pk, kind=kind)
    if view is None:
        shared_cache.call(lambda: cache.delete(key(pk)))
        return
    publish(pk, answer(view, kind=kind))
