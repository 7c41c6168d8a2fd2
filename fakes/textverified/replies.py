"""What the fake TextVerified answers with (`Reply`), the misbehaviour a test can inject (`Fault`),
and the small readers of a request's body and query that state.py's handlers share."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from fakes.textverified.wire import dumps as json_dumps
from fakes.textverified.wire import loads as json_loads


@dataclass
class Reply:
    status: int
    body: object = None  # JSON-able (Decimal allowed), or bytes, or None for an empty body
    headers: dict = field(default_factory=dict)
    stall: float = 0.0  # seconds to hold the answer back (until the server stops, at most)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json_dumps(self.body).encode()


@dataclass
class Fault:
    """Injected misbehaviour for requests matching `method` and a `path` prefix, `count` times (-1: always).

    status: answer with it (and `error_code`, `retry_after`); delay: sleep first; stall: process the
    request, then hold the answer back (a purchase that succeeds upstream while the client times out).
    """

    status: int | None = None
    delay: float = 0.0
    stall: float = 0.0
    count: int = 1
    path: str = ""
    method: str = ""
    retry_after: str | None = None
    error_code: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> "Fault":
        return cls(status=data.get("status"), delay=float(data.get("delay", 0)), stall=float(data.get("stall", 0)),
                   count=int(data.get("count", 1)), path=str(data.get("path", "")),
                   method=str(data.get("method", "")).upper(),
                   retry_after=None if data.get("retryAfter") is None else str(data["retryAfter"]),
                   error_code=data.get("errorCode"))

    def matches(self, method: str, path: str) -> bool:
        return (not self.method or self.method == method) and path.startswith(self.path)


def json_body(body: bytes) -> dict:
    try:
        data = json_loads(body) if body else {}
    except (ValueError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def error(status: int, code: str | None, description: str) -> Reply:
    return Reply(status, {"errorCode": code, "errorDescription": description})


def param(query: dict, name: str) -> str | None:
    for key, values in query.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None
