"""The polling read: a verification's status, expiry and messages (or calls) in one SQL round trip.

Integrators and the dashboard poll every few seconds, so this is the busiest read of the platform.
Through the ORM it took two queries and ~1.5 ms of CPU in query compilation and model building; this
is one prepared statement per database backend with rows turned into the API's JSON directly (the
same fields and formats as the serializers in verifications/api.py, which the tests compare).
Scoped to the caller: another user's verification reads as None, like a missing one. The row's
version and owner come with it, so an answer cached from this read is keyed by the version it was
read at (verifications/polling.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache

from django.db import connection
from rest_framework.fields import DateTimeField

from verifications.models import Message, Verification, VoiceCall
from verifications.selectors import latest_code

_iso = DateTimeField().to_representation

ITEM_FIELDS = {
    "messages": ("id", "sender", "text", "code", "received_at"),
    "calls": ("id", "caller", "received_at", "duration", "recording_state", "transcription_state", "transcription",
              "code", "code_confidence", "transcribed_at", "transcription_requests"),
}
# "Transcribe again" at most this often per call (verifications/transcripts.py).
MAX_TRANSCRIBE_AGAIN = 3


def recording_path(verification_id, call_id) -> str:
    """Where the owner fetches a call's recording (verifications/recordings.py serves it)."""
    return f"/verify/{verification_id}/calls/{call_id}/recording"


def call_json(verification_id, item: dict) -> dict:
    """A call as the API shows it, from its columns (ITEM_FIELDS["calls"]); CallOut says the same."""
    stored = item["recording_state"] == VoiceCall.Recording.STORED
    transcribed_at = _aware(item["transcribed_at"])
    return {
        "id": item["id"], "caller": item["caller"], "received_at": _iso(_aware(item["received_at"])),
        "duration": item["duration"],
        "recording_url": recording_path(verification_id, item["id"]) if stored else None,
        "recording_status": item["recording_state"],
        "transcription_status": item["transcription_state"],
        "transcription": item["transcription"],
        "code": item["code"] or None,
        "code_confidence": item["code_confidence"] or None,
        "transcribed_at": _iso(transcribed_at) if transcribed_at else None,
        "transcribe_again_left": max(0, MAX_TRANSCRIBE_AGAIN - item["transcription_requests"]) if stored else 0,
    }


@dataclass
class Snapshot:
    status: str
    capability: str
    expires_at: datetime | None
    items: list[dict]
    version: int = 0
    user_id: int | None = None
    pk: object = None

    @property
    def code(self) -> str | None:
        # A call's code counts only when confident: an uncertain guess stays on its call.
        return latest_code((item["received_at"], item["id"], item["code"]) for item in self.items
                           if item.get("code_confidence", VoiceCall.Confidence.CONFIDENT) == VoiceCall.Confidence.CONFIDENT)

    def past_expiry_unsettled(self, now: datetime) -> bool:
        return self.status == Verification.Status.PENDING and self.expires_at is not None and now >= self.expires_at


_HEAD = 5  # status, capability, expires_at, version, user_id


@lru_cache(maxsize=8)
def _sql(kind: str, vendor: str, scoped: bool) -> str:
    model = Message if kind == "messages" else VoiceCall
    q = connection.ops.quote_name
    columns = ", ".join(f"i.{q(model._meta.get_field(name).column)}" for name in ITEM_FIELDS[kind])
    owner = f" AND v.{q('user_id')} = %s" if scoped else ""
    return (f"SELECT v.{q('status')}, v.{q('capability')}, v.{q('expires_at')}, v.{q('version')}, "
            f"v.{q('user_id')}, {columns} "
            f"FROM {q(Verification._meta.db_table)} v LEFT JOIN {q(model._meta.db_table)} i "
            f"ON i.{q('verification_id')} = v.{q('id')} "
            f"WHERE v.{q('id')} = %s{owner} ORDER BY i.{q('received_at')}, i.{q('id')}")


def _aware(value):
    # SQLite hands back naive UTC datetimes (or text); PostgreSQL aware ones.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def read(*, user_id: int | None, pk, kind: str) -> Snapshot | None:
    """kind: "messages" or "calls". None when the verification is not this user's (or does not exist);
    user_id=None reads it whoever owns it (for the services that keep the cached answer current)."""
    pk_db = Verification._meta.pk.get_db_prep_value(pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_sql(kind, connection.vendor, user_id is not None),
                       [pk_db] if user_id is None else [pk_db, user_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    status, capability, expires_at, version, owner = rows[0][:_HEAD]
    names = ITEM_FIELDS[kind]
    items = []
    for row in rows:
        if row[_HEAD] is None:  # the LEFT JOIN's empty side: no messages yet
            continue
        item = dict(zip(names, row[_HEAD:]))
        item["received_at"] = _aware(item["received_at"])
        items.append(item)
    return Snapshot(status=status, capability=capability, expires_at=_aware(expires_at), items=items,
                    version=version, user_id=owner, pk=pk)


def as_json(snapshot: Snapshot, *, kind: str) -> dict:
    """The API body of GET /verify/{id}/messages (kind "messages") or /voice (kind "calls")."""
    code = snapshot.code
    if kind == "calls":
        items = [call_json(snapshot.pk, item) for item in snapshot.items]
    else:
        items = [{**item, "code": item["code"] or None, "received_at": _iso(item["received_at"])}
                 for item in snapshot.items]
    body = {"status": snapshot.status, "code": code}
    if kind == "messages":
        body["expires_at"] = _iso(snapshot.expires_at) if snapshot.expires_at else None
    body[kind] = items
    return body
