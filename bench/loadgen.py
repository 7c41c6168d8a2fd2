"""A fixed-rate (open-loop) HTTP load generator on asyncio, for latency percentiles.

Requests leave at their scheduled times whether or not earlier ones have been answered (a new
keep-alive connection is opened when none is idle), and latency is counted from the scheduled time,
so queueing in the server shows up in the percentiles instead of slowing the generator down.
One process, one event loop: at 100-200 requests/s it costs a few percent of a core.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from bench.stats import Sample, fixed_rate, session_rate, staggered_polls

# gunicorn closes keep-alive connections idle for 5 s: reuse one idle for less than 4.5 s (a client
# polling every 3 s keeps its connection), and resend once if the server closed it anyway.
IDLE_LIMIT = 4.5


class TransportError(Exception):
    pass


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = 0.0
    reused: bool = False


class Client:
    """Minimal HTTP/1.1 keep-alive client for one host: enough for JSON APIs on loopback."""

    def __init__(self, host: str, port: int, *, timeout: float = 15.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: list[_Conn] = []
        self.opened = 0

    async def request(self, method: str, path: str, *, headers: dict | None = None,
                      body: dict | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        return await asyncio.wait_for(self._send(raw), self.timeout)

    async def _send(self, raw: bytes) -> tuple[int, bytes]:
        conn = await self._acquire()
        try:
            return await self._exchange(conn, raw)
        except (ConnectionError, asyncio.IncompleteReadError, TransportError) as exc:
            self._close(conn)
            # A reused connection the server had just closed: nothing was processed, send it again.
            if conn.reused and not getattr(exc, "partial", b""):
                conn = await self._acquire(fresh=True)
                try:
                    return await self._exchange(conn, raw)
                except Exception:
                    self._close(conn)
                    raise
            raise
        except BaseException:
            self._close(conn)  # cancelled (timeout) mid-exchange: the connection state is unknown
            raise

    async def _exchange(self, conn: _Conn, raw: bytes) -> tuple[int, bytes]:
        conn.writer.write(raw)
        await conn.writer.drain()
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise TransportError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            body = await conn.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked(conn.reader)
        else:
            body, keep = await conn.reader.read(), False
        if keep:
            conn.last_used = time.monotonic()
            self._idle.append(conn)
        else:
            self._close(conn)
        return status, body

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def _acquire(self, *, fresh: bool = False) -> _Conn:
        now = time.monotonic()
        while self._idle and not fresh:
            conn = self._idle.pop()
            if now - conn.last_used < IDLE_LIMIT and not conn.reader.at_eof():
                conn.reused = True
                return conn
            self._close(conn)
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return _Conn(reader, writer)

    @staticmethod
    def _close(conn: _Conn) -> None:
        try:
            conn.writer.close()
        except Exception:
            pass

    def close(self) -> None:
        while self._idle:
            self._close(self._idle.pop())


@dataclass
class Recorder:
    """Collects samples on the generator's clock (seconds since the scenario started)."""

    origin: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.origin

    async def until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)

    async def call(self, client: Client, kind: str, scheduled: float, method: str, path: str, *,
                   headers: dict, body: dict | None = None, expect: tuple[int, ...] = (200,)):
        await self.until(scheduled)
        sent = self.now()
        try:
            status, raw = await client.request(method, path, headers=headers, body=body)
        except (Exception, asyncio.TimeoutError):
            status, raw = 0, b""
        self.samples.append(Sample(kind=kind, scheduled=scheduled, sent=sent, done=self.now(), status=status,
                                   ok=status in expect))
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None


def _settled(task: asyncio.Task) -> bool:
    if not task.done() or task.cancelled():
        return False
    status, data = task.result()
    return status == 200 and isinstance(data, dict) and data.get("status") not in (None, "pending")


def _auth(key: str) -> dict:
    return {"Authorization": f"Api-Key {key}"}


# --- scenarios --------------------------------------------------------------------------------------

async def _gather_bounded(tasks: list[asyncio.Task], timeout: float) -> None:
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


async def mix(*, host: str, port: int, customers: list[dict], services: list[str], rate: float, warmup: float,
              duration: float, sms_delay: float, interval: float = 3.0, cancel_share: float = 0.2,
              cancel_after_polls: int = 2, timeout: float = 15.0) -> tuple[list[Sample], dict]:
    """Customers arriving at a fixed rate: buy a number, poll its messages every `interval` s until the
    code arrives; every 1/cancel_share-th customer gives up after `cancel_after_polls` polls and cancels.
    `rate` is the target requests per second in steady state; the first `warmup` s are not counted."""
    sessions_per_s = session_rate(target_rps=rate, sms_delay=sms_delay, interval=interval, cancel_share=cancel_share,
                                  cancel_after_polls=cancel_after_polls)
    end = warmup + duration
    starts = fixed_rate(rate=sessions_per_s, duration=end)
    cancel_every = round(1 / cancel_share) if cancel_share else 0
    client = Client(host, port, timeout=timeout)
    rec = Recorder()
    created: list[str] = []

    async def session(index: int, start: float) -> None:
        customer = customers[index % len(customers)]
        headers = _auth(customer["key"])
        service = services[index % len(services)]
        status, data = await rec.call(client, "create", start, "POST", "/verify/create", headers=headers,
                                      body={"service": service, "country": "US", "capability": "sms"},
                                      expect=(201,))
        if status != 201 or not data:
            return
        vid = data["id"]
        created.append(vid)
        answered_at = rec.now()
        gives_up = bool(cancel_every) and index % cancel_every == 0
        polls: list[asyncio.Task] = []
        k = 1
        while True:
            due = answered_at + k * interval
            if due >= end:
                break
            if gives_up and k > cancel_after_polls:
                polls.append(asyncio.create_task(rec.call(
                    client, "cancel", due, "DELETE", f"/verify/{vid}", headers=headers, expect=(200, 409))))
                break
            await rec.until(due)
            if any(_settled(t) for t in polls):
                break  # the code arrived (or the verification ended): this customer stops polling
            polls.append(asyncio.create_task(rec.call(
                client, "poll", due, "GET", f"/verify/{vid}/messages", headers=headers)))
            k += 1
        await _gather_bounded(polls, timeout + 1)

    tasks = [asyncio.create_task(session(i, t)) for i, t in enumerate(starts)]
    await _gather_bounded(tasks, end - rec.now() + timeout + 2 * interval + 5)
    client.close()
    info = {"sessions": len(starts), "sessions_per_s": round(sessions_per_s, 2), "verifications_created": len(created),
            "connections_opened": client.opened, "window": [warmup, end]}
    return rec.samples, info


async def polling(*, host: str, port: int, pool: list[dict], warmup: float, duration: float, interval: float = 3.0,
                  timeout: float = 15.0) -> tuple[list[Sample], dict]:
    """Every verification of `pool` ({id, key}) polled every `interval` s by its own client, phases spread
    evenly: len(pool)/interval requests per second."""
    end = warmup + duration
    client = Client(host, port, timeout=timeout)
    rec = Recorder()
    tasks = []
    for t, who in staggered_polls(clients=len(pool), interval=interval, duration=end):
        item = pool[who]
        tasks.append(asyncio.create_task(rec.call(client, "poll", t, "GET", f"/verify/{item['id']}/messages",
                                                  headers=_auth(item["key"]))))
    await _gather_bounded(tasks, end + timeout + 5)
    client.close()
    return rec.samples, {"clients": len(pool), "connections_opened": client.opened, "window": [warmup, end]}


async def constant(*, host: str, port: int, path: str, rate: float, warmup: float, duration: float,
                   timeout: float = 15.0) -> tuple[list[Sample], dict]:
    """GET `path` at a fixed rate (the bare-Django endpoint, for the same latency figures)."""
    end = warmup + duration
    client = Client(host, port, timeout=timeout)
    rec = Recorder()
    tasks = [asyncio.create_task(rec.call(client, "live", t, "GET", path, headers={}))
             for t in fixed_rate(rate=rate, duration=end)]
    await _gather_bounded(tasks, end + timeout + 5)
    client.close()
    return rec.samples, {"connections_opened": client.opened, "window": [warmup, end]}


async def create_pool(*, host: str, port: int, customers: list[dict], services: list[str], count: int, rate: float,
                      timeout: float = 30.0) -> tuple[list[dict], list[Sample]]:
    """Buy `count` numbers at `rate` per second (set-up for the polling scenarios, not measured)."""
    client = Client(host, port, timeout=timeout)
    rec = Recorder()
    pool: list[dict] = []

    async def buy(index: int, t: float) -> None:
        customer = customers[index % len(customers)]
        status, data = await rec.call(client, "create", t, "POST", "/verify/create", headers=_auth(customer["key"]),
                                      body={"service": services[index % len(services)], "country": "US",
                                            "capability": "sms"}, expect=(201,))
        if status == 201 and data:
            pool.append({"id": data["id"], "key": customer["key"], "jwt": customer.get("jwt")})

    tasks = [asyncio.create_task(buy(i, t)) for i, t in enumerate(fixed_rate(rate=rate, duration=count / rate))]
    await _gather_bounded(tasks, count / rate + timeout + 5)
    client.close()
    return pool, rec.samples
