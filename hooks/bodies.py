"""How bodies and times are written: the envelope (§8.3) and the protocol's time format (§1)."""
from __future__ import annotations

import json
from datetime import datetime
from datetime import timezone as dt_timezone


def rfc3339(value: datetime) -> str:
    return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def protocol_time(value: datetime) -> str:
    return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def dump(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def envelope(event_type: str, *, at: datetime, data: dict) -> str:
    return dump({"type": event_type, "timestamp": rfc3339(at), "data": data})
