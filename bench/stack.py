"""What the benchmark runs and watches: the bench database, the fake upstream, gunicorn, and samplers
of CPU (per process group, from /proc) and PostgreSQL connections (pg_stat_activity)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- PostgreSQL and Redis -----------------------------------------------------------------------------

def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The queues namaskah/celery.py declares, and kombu's Redis bookkeeping of unacknowledged messages.
BROKER_KEYS = ("default", "checks", "voice", "webhooks", "unacked", "unacked_index", "unacked_mutex")


def purge_broker(redis_url: str) -> int:
    """Empty the broker's queues in the bench's own Redis database (--redis-url): messages left by
    an earlier run, or by the previous phase, must not be billed to this one."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted = client.delete(*BROKER_KEYS)
    client.close()
    return deleted


def clear_cache_keys(redis_url: str, prefix: str) -> int:
    """Delete only our prefix's keys: the Redis database may be shared."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        deleted += client.delete(key)
    client.close()
    return deleted


def server_versions(redis_url: str) -> dict:
    import psycopg
    import redis

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
    client = redis.Redis.from_url(redis_url)
    redis_version = client.info("server")["redis_version"]
    client.close()
    return {"postgresql": pg, "max_connections": max_connections, "redis": redis_version}


class Sampler:
    """Runs `_run` in a daemon thread while the `with` block lasts; `_stop` tells it to finish."""

    join_timeout = 15.0

    def __init__(self):
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.join_timeout)

    def _run(self) -> None:
        raise NotImplementedError


class PgConnections(Sampler):
    """Samples the bench database's connections every `period` s in a thread: max open and max active."""

    join_timeout = 5.0

    def __init__(self, database: str, period: float = 0.25):
        super().__init__()
        self.database, self.period = database, period
        self.max_total = self.max_active = 0

    def _run(self) -> None:
        import psycopg

        # Connected to the "postgres" database, so the sampler is not counted among the bench's.
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            while not self._stop.is_set():
                total, active = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
                    "WHERE datname = %s", (self.database,)).fetchone()
                self.max_total, self.max_active = max(self.max_total, total), max(self.max_active, active)
                self._stop.wait(self.period)


class Probe(Sampler):
    """GETs `path` every `period` s in a thread (one keep-alive connection) and keeps the round-trip
    times: how long a trivial request waits while the scenario runs, i.e. queueing in that server."""

    def __init__(self, port: int, path: str, period: float = 0.2):
        super().__init__()
        self.port, self.path, self.period = port, path, period
        self.rtts: list[float] = []

    def _run(self) -> None:
        import http.client

        conn = None
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                conn = conn or http.client.HTTPConnection(HOST, self.port, timeout=10)
                conn.request("GET", self.path)
                conn.getresponse().read()
                self.rtts.append((time.perf_counter() - started) * 1000)
            except (OSError, http.client.HTTPException):
                conn = None
            self._stop.wait(self.period)


def _fixed_work() -> float:
    """Thread CPU ms for a fixed pure-Python loop (~20 ms on this machine when idle)."""
    started = time.thread_time()
    x = 0
    for i in range(300_000):
        x += i * i % 7
    return (time.thread_time() - started) * 1000


class CpuSpeed(Sampler):
    """Times a fixed CPU task every `period` s: when the figure grows, the same work costs more CPU
    (a noisy neighbour on the host, or cache contention), which no per-process CPU figure shows."""

    def __init__(self, period: float = 2.0):
        super().__init__()
        self.period = period
        self.samples: list[float] = []

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.samples.append(_fixed_work())


# --- processes ----------------------------------------------------------------------------------------

class Processes:
    """The processes the benchmark started, each in its own session; stop() ends them all."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        # A new session: Ctrl-C reaches only the benchmark, which then stops these in order.
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.started[name] = proc
        return proc

    def stop(self) -> None:
        """Last started, first stopped, each waited for: gunicorn finishes its requests while the fake
        upstream still answers them."""
        for name, proc in reversed(list(self.started.items())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # the group we created: gunicorn and its workers
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        self.started.clear()


def wait_http(url: str, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode} (see bench/results/*.log)")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def http_json(url: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def http_text(url: str, *, headers: dict | None = None) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return response.read().decode()


# --- CPU ----------------------------------------------------------------------------------------------

def _processes() -> list[tuple[int, str, int, float]]:
    """(pid, comm, ppid, cpu seconds) of every process (all threads included)."""
    rows = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        rows.append((int(entry.name), comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICK))
    return rows


def _postgres_serves(pid: int, database: str) -> bool:
    """A backend of our database, or one of the server's own processes (WAL writer, checkpointer...).
    Backends of other databases (other people's test runs on this machine) are not ours."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if "(" not in title:  # "postgres: 15/main: walwriter": no client address, a shared process
        return True
    return f" {database} " in title


def _machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK_TICK, sum(values) / CLOCK_TICK


def cpu_snapshot(*, gunicorn_pid: int | None, fake_pid: int | None, database: str, worker_pids: tuple[int, ...] = (),
                 beat_pid: int | None = None) -> dict:
    """CPU seconds so far per group: gunicorn workers (each), Celery workers (each, under "celery"),
    beat, fake upstream, postgres (our database's backends), redis, generator; whatever else the
    machine did is reported as "other"."""
    groups: dict[str, float] = {"gunicorn": 0.0, "worker": 0.0, "beat": 0.0, "fake upstream": 0.0, "postgres": 0.0,
                                "redis": 0.0}
    celery: dict[str, float] = {}
    workers: dict[str, float] = {}
    for pid, comm, ppid, cpu in _processes():
        if gunicorn_pid and (pid == gunicorn_pid or ppid == gunicorn_pid):
            groups["gunicorn"] += cpu
            if ppid == gunicorn_pid:
                workers[str(pid)] = cpu
        elif pid == fake_pid:
            groups["fake upstream"] += cpu
        elif pid in worker_pids or ppid in worker_pids:  # a threads pool is one process; prefork has children
            groups["worker"] += cpu
            root = str(pid if pid in worker_pids else ppid)
            celery[root] = celery.get(root, 0.0) + cpu
        elif beat_pid and pid == beat_pid:
            groups["beat"] += cpu
        elif comm == "postgres" and _postgres_serves(pid, database):
            groups["postgres"] += cpu
        elif comm.startswith("redis-server"):
            groups["redis"] += cpu
    mine = os.times()
    # The generator: this process, plus children that have exited (wrk).
    groups["load generator"] = mine.user + mine.system + mine.children_user + mine.children_system
    busy, total = _machine_busy()
    return {"groups": groups, "workers": workers, "celery": celery, "busy": busy, "total": total,
            "at": time.monotonic()}


def cpu_usage(before: dict, after: dict) -> dict:
    """Cores used by each group between two snapshots (1.0 = one full core)."""
    seconds = after["at"] - before["at"]
    if seconds <= 0:
        return {}
    cores = {name: round((after["groups"][name] - before["groups"].get(name, 0.0)) / seconds, 2)
             for name in after["groups"]}
    cores["gunicorn workers"] = sorted(
        (round((cpu - before["workers"].get(pid, 0.0)) / seconds, 2) for pid, cpu in after["workers"].items()),
        reverse=True)
    cores["celery workers"] = sorted(
        (round((cpu - before.get("celery", {}).get(pid, 0.0)) / seconds, 2)
         for pid, cpu in after.get("celery", {}).items()), reverse=True)
    span = after["total"] - before["total"]
    if span:
        busy_cores = (after["busy"] - before["busy"]) / span * (os.cpu_count() or 1)
        # Other tenants of the machine (and backends that came and went between snapshots).
        cores["other"] = round(max(0.0, busy_cores - sum(cores[name] for name in after["groups"])), 2)
        cores["machine busy"] = round(busy_cores / (os.cpu_count() or 1), 3)
    cores["seconds"] = round(seconds, 2)
    return cores


def other_load(*, seconds: float, database: str) -> float:
    """Cores used by processes that are not ours (nothing of ours runs yet), over `seconds`."""
    before = cpu_snapshot(gunicorn_pid=None, fake_pid=None, database=database)
    time.sleep(seconds)
    after = cpu_snapshot(gunicorn_pid=None, fake_pid=None, database=database)
    usage = cpu_usage(before, after)
    return round(usage.get("other", 0.0) + usage.get("postgres", 0.0) + usage.get("redis", 0.0), 2)
