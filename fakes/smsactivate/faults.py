"""Injected misbehaviour, and the reply the HTTP layer writes."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

GARBAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Reply:
    status: int = 200
    body: object = ""  # a str is a text token; a dict or list is JSON; bytes go out as they are
    content_type: str | None = None  # None: text/plain for a str, application/json for JSON
    headers: dict = field(default_factory=dict)
    stall: float = 0.0  # seconds to hold the answer back (bounded by the server's stop)
    drop: bool = False  # close the connection without any answer

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, (dict, list)):
            return _json(self.body).encode(), self.content_type or "application/json"
        return str(self.body).encode(), self.content_type or "text/plain; charset=utf-8"


@dataclass
class Fault:
    """Misbehaviour for requests of `action` ("" = any), `count` times (-1 = always).

    Before the request is processed (nothing happens upstream):
      status / body  answer this instead (status alone: an empty body; body alone: HTTP 200) —
                     e.g. status=500; body="ERROR_SQL"; status=402, body={"title": "NO_BALANCE"}
      hang           hold the request this many seconds, then close without an answer
    After it is processed (a purchase is made, a cancel happens):
      stall          hold the answer back this many seconds (the client times out)
      drop           close the connection instead of answering
      garbage        answer an HTML error page with HTTP 200
    """

    action: str = ""
    count: int = 1
    status: int | None = None
    body: object = None
    content_type: str | None = None
    retry_after: str | None = None
    hang: float = 0.0
    stall: float = 0.0
    drop: bool = False
    garbage: bool = False

    @property
    def replaces_answer(self) -> bool:
        return self.status is not None or self.body is not None

    def canned(self) -> Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        return Reply(status=self.status or 200, body="" if self.body is None else self.body,
                     content_type=self.content_type, headers=headers)

    def matches(self, action: str) -> bool:
        return self.count != 0 and (not self.action or self.action == action)

    @classmethod
    def from_json(cls, data: dict) -> "Fault":
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**data)


def _json(value: object) -> str:
    # Money as JSON numbers with their two decimals (1.50, not "1.50" and not 1.5000000001).
    exact: dict[str, str] = {}

    def default(item):
        if isinstance(item, Decimal):
            token = f"__decimal_{len(exact)}__"
            exact[token] = format(item, "f")
            return token
        raise TypeError(f"{type(item).__name__} is not JSON serialisable")

    text = json.dumps(value, default=default)
    for token, number in exact.items():
        text = text.replace(f'"{token}"', number)
    return text
