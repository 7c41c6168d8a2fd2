#!/usr/bin/env python3
"""Namaskah load benchmark: one command, everything on 127.0.0.1, everything stopped at the end.

    python3 bench/run.py            # 3 interleaved rounds (8-9 minutes); updates README.md's table
    python3 bench/run.py --quick    # 1 short round (about 2 minutes), README untouched

It creates a throw-away PostgreSQL database, starts the fake TextVerified server (300 ms per
upstream answer by default) and gunicorn with production settings, buys a pool of numbers, then
runs in each round, in rotating order:
  bare-wrk      wrk, closed loop, against /system/live       (the bare Django ceiling)
  poll-wrk      wrk against GET /verify/{id}/messages, API key (the polling endpoint's ceiling)
  poll-wrk-jwt  the same with a JWT (Authorization: Bearer)
  poll-wrk-304  the same with an API key and If-None-Match of the current ETag (the 304 path)
  mix        open loop: customers buy, poll every 3 s, 20 % cancel   (the seed's SLAs)
  poll       open loop: many clients polling every 3 s
  poll-0ms   the same with the upstream answering at once    (our own latency)
  bare-open  open loop /system/live at the poll rate         (the bare endpoint's latency)
and prints the median of the rounds. Results: bench/results/latest.json and latest.md (quick.json and
quick.md for --quick or --only runs, so they never replace a full run's figures). It first waits
(at most --wait-idle s) until other processes on the machine use less than 0.3 cores.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
    if not VENV_PYTHON.exists():
        sys.exit("bench: .venv is missing: run `python3 dev.py test` once to create it")
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

from bench import loadgen, report, stack  # noqa: E402
from bench.stats import counter_delta, percentile, summarize, summarize_by_kind  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DATABASE = "namaskah_bench"
REDIS_URL = "redis://127.0.0.1:6379/3"
CACHE_PREFIX = "namaskah-bench"
FAKE_KEY, FAKE_EMAIL = "bench-fake-upstream-key", "bench@example.com"
WEBHOOK_SECRET = "whsec_bench_" + secrets.token_urlsafe(24)
ENDPOINTS = {"mix": ("api-verify-create", "api-verify-messages", "api-verify-detail"),
             "poll": ("api-verify-messages",), "poll-0ms": ("api-verify-messages",),
             "poll-wrk": ("api-verify-messages",), "poll-wrk-jwt": ("api-verify-messages",),
             "poll-wrk-304": ("api-verify-messages",), "bare-wrk": ("system-live",), "bare-open": ("system-live",)}


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Namaskah load benchmark (see bench/run.py's docstring).")
    p.add_argument("--quick", action="store_true", help="one short round, for a smoke test; README untouched")
    p.add_argument("--runs", type=int, help="rounds (default 3; 1 with --quick)")
    p.add_argument("--latency", type=float, default=0.3, help="upstream latency per call, seconds (default 0.3)")
    p.add_argument("--sms-delay", type=float, default=12.0, help="seconds until the fake delivers the SMS")
    p.add_argument("--mix-rate", type=float, default=110.0, help="mix: requests per second offered (default 110)")
    p.add_argument("--poll-rate", type=float, default=100.0,
                   help="poll: requests per second (clients = rate x 3 s; default 100)")
    p.add_argument("--customers", type=int, default=200)
    # Chosen on this 2-core machine (README): 4 x 16 spreads open-loop traffic evenly and has the
    # threads that 300 ms upstream calls hold; 2 x 8 (the default) runs out of threads in the mix.
    p.add_argument("--workers", type=int, default=4, help="WEB_CONCURRENCY (default 4)")
    p.add_argument("--threads", type=int, default=32, help="GUNICORN_THREADS (default 32, as gunicorn.conf.py)")
    p.add_argument("--db-pool", type=int, default=10, help="DB_POOL_MAX_SIZE per worker (default 10)")
    p.add_argument("--worker-concurrency", type=int, default=32,
                   help="threads of the Celery worker (`celery -A namaskah worker --pool threads`; default 32, "
                        "as README's production layout); one beat runs beside it")
    p.add_argument("--no-webhooks", action="store_true",
                   help="the fake does not push SMS to /webhooks/textverified; the workers' checks find them alone")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", REDIS_URL),
                   help=f"cache and Celery broker (default $BENCH_REDIS_URL or {REDIS_URL}); its queues are "
                        "emptied at the start, so give the bench a Redis database of its own")
    p.add_argument("--wrk-connections", type=int, default=32)
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    p.add_argument("--only", help="comma-separated scenarios to run (default: all)")
    p.add_argument("--access-log", action="store_true", help="diagnosis: gunicorn access log with request times "
                   "in bench/results/access.log (costs CPU; not for the reported figures)")
    p.add_argument("--no-readme", action="store_true", help="do not update README.md")
    p.add_argument("--render", action="store_true", help="run nothing: rebuild latest.md and README.md's table "
                   "from bench/results/latest.json (after editing bench/notes.md)")
    p.add_argument("--wait-idle", type=float, default=180, help="seconds to wait at most for other processes to "
                   "calm down (below 0.3 cores) before starting (default 180; 0: do not wait)")
    args = p.parse_args()
    args.runs = args.runs or (1 if args.quick else 3)
    return args


def durations(quick: bool, sms_delay: float) -> dict:
    # The mix's warm-up lets sessions reach steady state (a session lasts about sms_delay seconds).
    if quick:
        return {"wrk": 5, "mix_warmup": sms_delay + 1, "mix": 8, "poll_warmup": 3, "poll": 8, "bare": 6}
    return {"wrk": 8, "mix_warmup": sms_delay + 1, "mix": 20, "poll_warmup": 3, "poll": 18, "bare": 12}


def server_env(args, *, port: int, fake_port: int, metrics_dir: str, metrics_token: str, beat_dir: str) -> dict:
    # A clean environment: nothing from the caller's shell (DEBUG, MOCK_*, ...) leaks into the run.
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if k in os.environ}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "namaskah.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
        "DB_POOL_MIN_SIZE": "2",
        "DB_POOL_MAX_SIZE": str(args.db_pool),
        "REDIS_URL": args.redis_url,
        # The broker is REDIS_URL (settings.py). Beat's schedule file: not in the metrics folder, whose
        # *.db files prometheus_client reads as its own.
        "CELERY_BEAT_SCHEDULE_FILENAME": os.path.join(beat_dir, "celerybeat-schedule"),
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "PROVIDER": "textverified",
        "TEXTVERIFIED_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "TEXTVERIFIED_API_KEY": FAKE_KEY,
        "TEXTVERIFIED_EMAIL": FAKE_EMAIL,
        # Production refuses to start without real payments; the benchmark never tops up, and a
        # stray call would fail on a closed local port instead of reaching Stripe.
        "PAYMENTS": "stripe",
        "STRIPE_SECRET_KEY": "sk_test_benchmark_never_used",
        "STRIPE_WEBHOOK_SECRET": "whsec_benchmark_never_used",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        # Plain HTTP on loopback: no TLS redirect, no Secure-only cookies.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        # Limits stay on (a Redis round trip per request, as in production) but far above the load.
        "RATE_PURCHASE": "1000000/m",
        "RATE_POLL": "1000000/m",
        "METRICS_TOKEN": metrics_token,
        **({} if args.no_webhooks else {"TEXTVERIFIED_WEBHOOK_SECRET": WEBHOOK_SECRET}),
        # At info every request logs a line: measured separately, see README.
        "LOG_LEVEL": args.log_level,
        "HOST": stack.HOST,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        **({"GUNICORN_CMD_ARGS": f"--access-logfile {RESULTS / 'access.log'} --access-logformat "
                                 "'%(t)s %(m)s %(U)s %(s)s %(D)s'"} if args.access_log else {}),
    }


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing wrk (apt-get install -y wrk)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, stdout=subprocess.DEVNULL).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: wrk is required (apt-get install wrk)")
    return found


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    # The code measured is the working tree: say so when the project's code differs from the commit
    # (the benchmark's own files and README.md's table do not count).
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!README.md", ":!bench"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " + uncommitted changes"
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(), "commit": commit,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


class Bench:
    def __init__(self, args):
        self.args = args
        self.d = durations(args.quick, args.sms_delay)
        self.procs = stack.Processes(RESULTS)
        self.metrics_token = secrets.token_urlsafe(32)
        self.port = stack.free_port()
        self.fake_port = stack.free_port()
        self.base = f"http://{stack.HOST}:{self.port}"
        self.fake_base = f"http://{stack.HOST}:{self.fake_port}"
        self.metrics_dir = tempfile.mkdtemp(prefix="namaskah-bench-metrics-")
        self.beat_dir = tempfile.mkdtemp(prefix="namaskah-bench-beat-")
        self.env = server_env(args, port=self.port, fake_port=self.fake_port, metrics_dir=self.metrics_dir,
                              metrics_token=self.metrics_token, beat_dir=self.beat_dir)
        self.wrk = ensure_wrk()
        self.data: dict = {}
        self.pool: list[dict] = []

    # --- set-up ---------------------------------------------------------------------------------

    def start(self) -> None:
        redis_url = self.args.redis_url
        say(f"PostgreSQL: recreating database {DATABASE}; Redis: clearing keys {CACHE_PREFIX}:* and the Celery "
            f"queues in {redis_url}")
        stack.recreate_database(DATABASE)
        stack.clear_cache_keys(redis_url, CACHE_PREFIX)
        stack.purge_broker(redis_url)
        customers_file = RESULTS / "customers.json"
        subprocess.run([str(stack.PYTHON), "bench/setup_data.py", "--customers", str(self.args.customers),
                        "--out", str(customers_file)], cwd=ROOT, env=self.env, check=True)
        self.data = json.loads(customers_file.read_text())
        fake = self.procs.start("fake-upstream", [str(stack.PYTHON), "manage.py", "fake_textverified", "--port",
                                                  str(self.fake_port), "--latency", str(self.args.latency),
                                                  "--sms-delay", str(self.args.sms_delay), "--balance", "1000000",
                                                  "--max-pending", "100000",
                                                  *([] if self.args.no_webhooks else
                                                    ["--webhook-url", f"{self.base}/webhooks/textverified"])],
                                        self.env)
        stack.wait_http(f"{self.fake_base}/_fake/state", timeout=30, proc=fake)
        gunicorn = self.procs.start("gunicorn", [str(stack.GUNICORN), "-c", "gunicorn.conf.py", "namaskah.wsgi"],
                                    self.env)
        stack.wait_http(f"{self.base}/system/live", timeout=30, proc=gunicorn)
        # As in production (README): workers check the upstream, customers' polls read the database.
        celery = [str(stack.PYTHON), "-m", "celery", "-A", "namaskah"]
        self.procs.start("worker", [*celery, "worker", "--pool", "threads", "--concurrency",
                                    str(self.args.worker_concurrency), "-n", "bench@%h", "--loglevel", "WARNING"],
                         self.env)
        self.procs.start("beat", [*celery, "beat", "--loglevel", "WARNING"], self.env)
        say(f"gunicorn {self.args.workers} workers x {self.args.threads} threads, DB pool {self.args.db_pool}/worker, "
            f"on {self.base}; fake upstream on {self.fake_base} ({self.args.latency * 1000:.0f} ms per call)")
        count = round(self.args.poll_rate * 3)
        say(f"buying {count} numbers for the polling scenarios (also warms up the server)")
        self.pool, samples = asyncio.run(loadgen.create_pool(
            host=stack.HOST, port=self.port, customers=self.data["customers"], services=self.data["services"],
            count=count, rate=40.0))
        failed = len(samples) - sum(s.ok for s in samples)
        if len(self.pool) < count * 0.95:
            raise RuntimeError(f"only {len(self.pool)} of {count} purchases succeeded; see bench/results/gunicorn.log")
        say(f"{len(self.pool)} numbers bought ({failed} failed)")
        self.write_pairs()

    def write_pairs(self) -> None:
        """The wrk scenarios' "<id> <scheme> <credential> [<etag>]" files, for 100 of the pool's numbers."""
        sample = self.pool[:100]
        (RESULTS / "poll-pairs.txt").write_text("".join(f"{p['id']} Api-Key {p['key']}\n" for p in sample))
        (RESULTS / "poll-pairs-jwt.txt").write_text("".join(f"{p['id']} Bearer {p['jwt']}\n" for p in sample))

    def write_etags(self) -> None:
        """The 304 scenario's file: each number's current ETag, read just before (the SMS have arrived)."""
        lines = []
        for p in self.pool[:100]:
            request = urllib.request.Request(f"{self.base}/verify/{p['id']}/messages",
                                             headers={"Authorization": f"Api-Key {p['key']}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                lines.append(f"{p['id']} Api-Key {p['key']} {response.headers['ETag']}\n")
        (RESULTS / "poll-pairs-304.txt").write_text("".join(lines))

    def stop(self) -> None:
        self.procs.stop()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        shutil.rmtree(self.beat_dir, ignore_errors=True)

    # --- measurements around a scenario -------------------------------------------------------------

    def server_counters(self) -> dict[str, float]:
        """Counters from /system/metrics (Prometheus text, merged across workers)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = stack.http_text(f"{self.base}/system/metrics?format=prometheus",
                               headers={"Authorization": f"Bearer {self.metrics_token}"})
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name.endswith(("_total", "_bucket")):
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    out[f"{s.name}|{labels}"] = s.value
        return out

    def upstream_counters(self) -> dict[str, float]:
        return {k: float(v) for k, v in stack.http_json(f"{self.fake_base}/_fake/state")["requests"].items()
                if not k.split(" ", 1)[1].startswith("/_fake/")}

    def measure(self, name: str, work) -> dict:
        """Run `work()` between snapshots of CPU, server metrics, upstream calls and DB connections."""
        server_before, upstream_before = self.server_counters(), self.upstream_counters()
        gunicorn_pid = self.procs.started["gunicorn"].pid
        fake_pid = self.procs.started["fake-upstream"].pid
        worker, beat = self.procs.started.get("worker"), self.procs.started.get("beat")
        pids = {"gunicorn_pid": gunicorn_pid, "fake_pid": fake_pid, "worker_pids": (worker.pid,) if worker else (),
                "beat_pid": beat.pid if beat else None}
        cpu_before = stack.cpu_snapshot(**pids, database=DATABASE)
        with stack.PgConnections(DATABASE) as pg, stack.Probe(self.port, "/system/live") as live_probe, \
                stack.Probe(self.fake_port, "/_fake/ping") as fake_probe, stack.CpuSpeed() as speed:
            result = work()
        cpu_after = stack.cpu_snapshot(**pids, database=DATABASE)
        server = counter_delta(server_before, self.server_counters())
        upstream = counter_delta(upstream_before, self.upstream_counters())
        result["scenario"] = name
        result["cpu_cores"] = stack.cpu_usage(cpu_before, cpu_after)
        result["pg_connections"] = {"max_open": pg.max_total, "max_active": pg.max_active}
        result["cpu_speed_ms"] = _ms(percentile(speed.samples, 50))
        result["probes"] = {name: {"p50_ms": _ms(percentile(p.rtts, 50)), "p99_ms": _ms(percentile(p.rtts, 99)),
                                   "count": len(p.rtts)}
                            for name, p in (("gunicorn /system/live", live_probe), ("fake upstream", fake_probe))}
        result["server"] = report.server_figures(server, ENDPOINTS[name])
        result["upstream"] = report.upstream_figures(upstream, server)
        return result

    # --- scenarios ------------------------------------------------------------------------------------

    def wrk_run(self, path_or_pairs: str | None) -> dict:
        argv = [self.wrk, "-t1", f"-c{self.args.wrk_connections}", f"-d{self.d['wrk']}s", "--timeout", "10s",
                "-s", str(ROOT / "bench" / "wrk.lua")]
        if path_or_pairs:
            argv += [f"{self.base}/", "--", path_or_pairs]
        else:
            argv += [f"{self.base}/system/live"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=self.d["wrk"] + 60)
        line = next((line for line in out.stdout.splitlines() if line.startswith("WRK ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
        w = json.loads(line[4:])
        seconds = w["duration_us"] / 1e6
        errors = w["connect"] + w["read"] + w["write"] + w["status"] + w["timeout"]
        return {"kind": "closed-loop (wrk)", "rps": round(w["requests"] / seconds, 1), "requests": w["requests"],
                "p50_ms": round(w["p50_us"] / 1000, 1), "p95_ms": round(w["p95_us"] / 1000, 1),
                "p99_ms": round(w["p99_us"] / 1000, 1), "max_ms": round(w["max_us"] / 1000, 1),
                "errors": errors, "error_rate": round(errors / max(1, w["requests"]), 4), "wrk": w}

    def open_run(self, coro) -> dict:
        samples, info = asyncio.run(coro)
        window = tuple(info["window"])
        result = {"kind": "open-loop", **summarize(samples, window=window), "by_kind": summarize_by_kind(samples, window=window),
                  **{k: v for k, v in info.items() if k != "window"}}
        return result

    def scenario(self, name: str) -> dict:
        a, d = self.args, self.d
        common = {"host": stack.HOST, "port": self.port}
        if name == "bare-wrk":
            return self.measure(name, lambda: self.wrk_run(None))
        if name == "poll-wrk":
            return self.measure(name, lambda: self.wrk_run(str(RESULTS / "poll-pairs.txt")))
        if name == "poll-wrk-jwt":
            return self.measure(name, lambda: self.wrk_run(str(RESULTS / "poll-pairs-jwt.txt")))
        if name == "poll-wrk-304":
            self.write_etags()
            return self.measure(name, lambda: self.wrk_run(str(RESULTS / "poll-pairs-304.txt")))
        if name == "mix":
            return self.measure(name, lambda: self.open_run(loadgen.mix(
                **common, customers=self.data["customers"], services=self.data["services"], rate=a.mix_rate,
                warmup=d["mix_warmup"], duration=d["mix"], sms_delay=a.sms_delay)))
        if name in ("poll", "poll-0ms"):
            if name == "poll-0ms":
                stack.http_json(f"{self.fake_base}/_fake/faults", method="POST", body={"latency": 0})
            try:
                return self.measure(name, lambda: self.open_run(loadgen.polling(
                    **common, pool=self.pool, warmup=d["poll_warmup"], duration=d["poll"])))
            finally:
                stack.http_json(f"{self.fake_base}/_fake/faults", method="POST", body={"latency": a.latency})
        if name == "bare-open":
            return self.measure(name, lambda: self.open_run(loadgen.constant(
                **common, path="/system/live", rate=a.poll_rate, warmup=2, duration=d["bare"])))
        raise ValueError(name)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def wait_for_quiet(limit: float) -> float:
    """The machine is shared: wait (boundedly) until other processes use less than 0.3 cores."""
    deadline = time.monotonic() + limit
    while True:
        load = stack.other_load(seconds=3, database=DATABASE)
        if load < 0.3 or time.monotonic() >= deadline:
            say(f"other processes use {load:g} cores{'' if load < 0.3 else ': starting anyway (see the other column)'}")
            return load
        say(f"other processes use {load:g} cores; waiting for them to calm down")
        time.sleep(5)


def _interrupt(signum, frame):
    # SIGTERM ends the run like Ctrl-C: through main()'s finally, which stops every process.
    raise KeyboardInterrupt


SCENARIOS = ["bare-wrk", "mix", "poll-wrk", "poll", "poll-wrk-jwt", "bare-open", "poll-wrk-304", "poll-0ms"]


def main() -> None:
    args = parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.render:
        out = json.loads((RESULTS / "latest.json").read_text())
        out["targets"] = report.targets(out["median"], latency_ms=out["config"]["upstream_latency_ms"])
        table = report.markdown(out)
        (RESULTS / "latest.md").write_text(table)
        if not out["config"]["quick"]:
            report.update_readme(ROOT / "README.md", table)
        print(table)
        return
    signal.signal(signal.SIGTERM, _interrupt)
    names = [n for n in SCENARIOS if not args.only or n in args.only.split(",")]
    started = time.monotonic()
    bench = Bench(args)
    host = machine()
    rounds: list[dict] = []
    try:
        host.update(stack.server_versions(args.redis_url))
        host["other_load_at_start"] = wait_for_quiet(args.wait_idle)
        host["cpu_speed_idle_ms"] = round(min(stack._fixed_work() for _ in range(5)), 1)
        bench.start()
        # The pool's SMS arrive --sms-delay seconds after its purchase (webhooks, then the workers'
        # checks): let that pass so the first scenario is not billed for it.
        time.sleep(args.sms_delay + 1)
        for r in range(args.runs):
            order = names[r % len(names):] + names[:r % len(names)]  # interleaved: each round starts elsewhere
            for name in order:
                say(f"round {r + 1}/{args.runs}: {name}")
                result = bench.scenario(name)
                result["round"] = r + 1
                rounds.append(result)
                say("  " + report.one_line(result))
                # The mix leaves numbers waiting for their SMS, which the workers keep asking about for
                # up to --sms-delay seconds: let that finish so the next scenario is not billed for it.
                time.sleep(args.sms_delay + 1 if name == "mix" else 1)
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        raise SystemExit(130)
    finally:
        bench.stop()
        say("stopped beat, the worker, gunicorn and the fake upstream")
    config = {"workers": args.workers, "threads": args.threads, "db_pool_max": args.db_pool,
              "upstream_latency_ms": round(args.latency * 1000), "sms_delay_s": args.sms_delay,
              "mix_rate": args.mix_rate, "poll_rate": args.poll_rate, "poll_clients": len(bench.pool),
              "customers": args.customers, "worker_concurrency": args.worker_concurrency, "webhooks": not args.no_webhooks, "wrk_connections": args.wrk_connections, "log_level": args.log_level,
              "runs": args.runs, "quick": args.quick, "durations_s": bench.d}
    summary = report.medians(rounds, names)
    verdicts = report.targets(summary, latency_ms=args.latency * 1000)
    out = {"machine": host, "config": config, "median": summary, "targets": verdicts, "runs": rounds,
           "server_log": report.log_summary(RESULTS / "gunicorn.log"), "elapsed_s": round(time.monotonic() - started)}
    table = report.markdown(out)
    # A partial run never replaces the full run's figures, which --render rebuilds README from.
    stem = "quick" if args.quick or args.only else "latest"
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=2))
    (RESULTS / f"{stem}.md").write_text(table)
    print()
    print(table)
    if not args.quick and not args.no_readme and not args.only:
        report.update_readme(ROOT / "README.md", table)
        say("README.md benchmark table updated")
    say(f"done in {out['elapsed_s']} s; results in bench/results/{stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
