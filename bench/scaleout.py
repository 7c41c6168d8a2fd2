#!/usr/bin/env python3
"""Scale-out benchmark of the background checks: many open verifications, 1 and then 2 Celery workers.

    python3 dev.py bench scaleout            # 5,000 open, 1 then 2 workers; updates README's table
    python3 dev.py bench scaleout --quick    # 1,000 open, shorter windows; README untouched

Everything on 127.0.0.1, everything stopped at the end. It creates a throw-away PostgreSQL
database, starts the fake TextVerified (bench/fake_upstream.py: 300 ms per answer, no SMS ever, so
every number stays open), rents --open numbers from it and stores them as pending verifications
whose first checks are spread over one interval. Then, for each worker count, with the broker's
queues emptied and the due times spread again: N × `celery -A namaskah worker --pool threads
--concurrency C` and one `celery -A namaskah beat`, a warm-up, and a measured window. From the fake's
per-reservation read log: checks per second, and the share of open verifications never left
unchecked longer than MESSAGE_REFRESH_INTERVAL + 1 s during the window (the gap across the window's
start counts from the last check before it). From /proc: the workers' CPU per check.
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
import json  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import datetime, timezone as dt_timezone  # noqa: E402
from decimal import Decimal  # noqa: E402

from bench import stack  # noqa: E402
from bench.scaleout_report import analyse, markdown, update_readme  # noqa: E402
from bench.stats import percentile  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DATABASE = "namaskah_scaleout"
REDIS_URL = "redis://127.0.0.1:6379/3"
CACHE_PREFIX = "namaskah-scaleout"
FAKE_KEY, FAKE_EMAIL = "bench-fake-upstream-key", "bench@example.com"


def say(message: str) -> None:
    print(f"[scaleout] {message}", flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Scale-out benchmark of the checks (see bench/scaleout.py's docstring).")
    p.add_argument("--quick", action="store_true", help="1,000 open, short windows; README untouched")
    p.add_argument("--open", type=int, help="open verifications (default 5000; 1000 with --quick)")
    # Chosen so that one worker is saturated and two are not (README: Scale-out of the background
    # checks): 5,000 open every 58 s is 86 checks/s; one worker of 16 threads at 300 ms per answer
    # manages about 49 (1.75 x less), so two run at about 87 % of what they can do.
    p.add_argument("--interval", type=float, help="MESSAGE_REFRESH_INTERVAL for the run, s (default 58; 11.6 with --quick)")
    p.add_argument("--concurrency", type=int, default=16, help="threads per worker (--concurrency; default 16)")
    p.add_argument("--workers", default="1,2", help="worker counts to measure, in order (default 1,2)")
    p.add_argument("--latency", type=float, default=0.3, help="the fake's latency per answer, s (default 0.3)")
    p.add_argument("--warmup", type=float, help="s before each window (default: 1.5 intervals)")
    p.add_argument("--window", type=float, help="measured s per worker count (default: 3 intervals)")
    p.add_argument("--db-pool", type=int, default=10, help="DB_POOL_MAX_SIZE per worker (default 10)")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", REDIS_URL),
                   help=f"cache and Celery broker (default $BENCH_REDIS_URL or {REDIS_URL}); its queues are "
                        "emptied before each phase, so give the bench a Redis database of its own")
    p.add_argument("--wait-idle", type=float, default=180, help="s to wait at most for other processes to use "
                   "less than 0.3 cores (default 180; 0: do not wait)")
    p.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = p.parse_args()
    args.open = args.open or (1000 if args.quick else 5000)
    args.interval = args.interval or (11.6 if args.quick else 58.0)
    args.warmup = args.warmup or 1.5 * args.interval
    args.window = args.window or 3 * args.interval
    args.worker_counts = [int(n) for n in args.workers.split(",")]
    return args


def server_env(args, *, fake_port: int, beat_dir: str) -> dict:
    # A clean environment, production settings: nothing from the caller's shell leaks into the run.
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
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "PROVIDER": "textverified",
        "TEXTVERIFIED_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "TEXTVERIFIED_API_KEY": FAKE_KEY,
        "TEXTVERIFIED_EMAIL": FAKE_EMAIL,
        "PAYMENTS": "stripe",  # production refuses to start without it; nothing here pays
        "STRIPE_SECRET_KEY": "sk_test_benchmark_never_used",
        "STRIPE_WEBHOOK_SECRET": "whsec_benchmark_never_used",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "MESSAGE_REFRESH_INTERVAL": f"{args.interval:g}",
        "LOG_LEVEL": "warning",
        "CELERY_BEAT_SCHEDULE_FILENAME": os.path.join(beat_dir, "celerybeat-schedule"),
    }


def open_verifications(args, fake_base: str) -> list[str]:
    """Rent the numbers from the fake (through the product's client) and store them as pending
    verifications. Returns their reservation ids."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from accounts.models import User
    from providers.registry import get_provider
    from verifications.models import Capability, Country, Service, Verification

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    user = User.objects.create_user("scaleout@example.com", None)
    service = Service.objects.get(slug="telegram")
    country = Country.objects.get(code="US")
    provider = get_provider("textverified")
    # The fake answers at once while we rent; the checks are measured at --latency.
    stack.http_json(f"{fake_base}/_fake/faults", method="POST", body={"latency": 0})

    def rent(_):
        return provider.rent(service=service.provider_service_name, capability=Capability.SMS, country="US",
                             max_price=Decimal("100"), idempotency_key=str(uuid.uuid4()))

    with ThreadPoolExecutor(16) as pool:
        rentals = list(pool.map(rent, range(args.open)))
    now = timezone.now()
    Verification.objects.bulk_create([
        Verification(user=user, service=service, country=country, capability=Capability.SMS,
                     provider=country.provider, price=Decimal("1.00"), provider_ref=r.reference,
                     phone_number=r.phone_number, expires_at=r.expires_at, next_check_at=now)
        for r in rentals], batch_size=1000)
    stack.http_json(f"{fake_base}/_fake/faults", method="POST", body={"latency": args.latency})
    connections.close_all()
    return [r.reference for r in rentals]


def spread_due_times(interval: float) -> None:
    """Each phase starts from the same steady state: first checks spread evenly over one interval."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE verifications_verification SET next_check_at = now() + random() * %s * interval "
                       "'1 second' WHERE status = 'pending'", [interval])
    connection.close()


def read_log(fake, path: Path, since: float) -> list[tuple[float, str]]:
    """Ask the fake for its read log (SIGUSR1) and wait for the file it writes."""
    path.unlink(missing_ok=True)
    fake.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the fake upstream wrote no read log (see bench/results/scaleout-fake.log)")
        time.sleep(0.1)
    return [(at, ref) for at, ref in json.loads(path.read_text()) if at >= since]


def phase(args, *, workers: int, env: dict, fake, refs: list[str], reads_path: Path) -> dict:
    procs = stack.Processes(RESULTS)
    stack.purge_broker(args.redis_url)
    spread_due_times(args.interval)
    celery = [str(stack.PYTHON), "-m", "celery", "-A", "namaskah"]
    try:
        started = [procs.start(f"scaleout-worker{i + 1}", [*celery, "worker", "--pool", "threads", "--concurrency",
                                                            str(args.concurrency), "-n", f"w{i + 1}@%h",
                                                            "--loglevel", "WARNING"], env)
                   for i in range(workers)]
        beat = procs.start("scaleout-beat", [*celery, "beat", "--loglevel", "WARNING"], env)
        phase_start = time.monotonic()
        say(f"{workers} worker(s) × {args.concurrency} threads and one beat: warming up {args.warmup:g} s")
        time.sleep(args.warmup)
        for proc in [*started, beat]:
            if proc.poll() is not None:
                raise RuntimeError(f"a Celery process exited with {proc.returncode} (see bench/results/scaleout-*.log)")
        pids = {"gunicorn_pid": None, "fake_pid": fake.pid, "worker_pids": tuple(p.pid for p in started),
                "beat_pid": beat.pid}
        before = stack.cpu_snapshot(**pids, database=DATABASE)
        lag_before = check_lag()
        t0 = time.monotonic()
        with stack.PgConnections(DATABASE) as pg, stack.CpuSpeed() as speed:
            time.sleep(args.window)
        t1 = time.monotonic()
        after = stack.cpu_snapshot(**pids, database=DATABASE)
        lag_after = check_lag()
        reads = read_log(fake, reads_path, since=phase_start)
    finally:
        procs.stop()
    result = analyse(reads, refs=refs, window=(t0, t1), interval=args.interval)
    cpu = stack.cpu_usage(before, after)
    checks = result["checks"]
    result.update({
        "workers": workers, "concurrency": args.concurrency, "interval_s": args.interval,
        "cpu_cores": cpu,
        "cpu_ms_per_check": {group: round(cpu[group] * cpu["seconds"] / checks * 1000, 2) if checks else None
                             for group in ("worker", "beat", "postgres", "redis", "fake upstream")},
        "pg_connections": {"max_open": pg.max_total, "max_active": pg.max_active},
        "cpu_speed_ms": None if not speed.samples else round(percentile(speed.samples, 50), 1),
        "lag": lag_delta(lag_before, lag_after),
    })
    return result


def check_lag() -> dict:
    """The workers' histogram of how late checks started after falling due (/system/metrics' source;
    workers flush it every second)."""
    from monitoring.background import as_json

    return as_json()["check_lag_s"]


def lag_delta(before: dict, after: dict) -> dict:
    """The window's share of checks that started within each bound of falling due."""
    count = after["count"] - before["count"]
    if count <= 0:
        return {"count": 0}
    within = {bound: round((after["le"][bound] - before["le"][bound]) / count, 4) for bound in after["le"]}
    return {"count": count, "share_within": within}


def machine() -> dict:
    from bench.run import machine as run_machine

    return run_machine()


def wait_for_quiet(limit: float) -> float:
    deadline = time.monotonic() + limit
    while True:
        load = stack.other_load(seconds=3, database=DATABASE)
        if load < 0.3 or time.monotonic() >= deadline:
            say(f"other processes use {load:g} cores{'' if load < 0.3 else ': starting anyway (see the other column)'}")
            return load
        say(f"other processes use {load:g} cores; waiting for them to calm down")
        time.sleep(5)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    beat_dir = tempfile.mkdtemp(prefix="namaskah-scaleout-")
    fake_port = stack.free_port()
    env = server_env(args, fake_port=fake_port, beat_dir=beat_dir)
    reads_path = Path(beat_dir) / "reads.json"
    host = {**machine(), **stack.server_versions(args.redis_url)}
    fakes = stack.Processes(RESULTS)
    phases: list[dict] = []
    try:
        host["other_load_at_start"] = wait_for_quiet(args.wait_idle)
        say(f"PostgreSQL: recreating database {DATABASE}; Redis: {args.redis_url}")
        stack.recreate_database(DATABASE)
        stack.clear_cache_keys(args.redis_url, CACHE_PREFIX)
        fake = fakes.start("scaleout-fake", [str(stack.PYTHON), "bench/fake_upstream.py", "--port", str(fake_port),
                                             "--latency", str(args.latency), "--api-key", FAKE_KEY, "--email",
                                             FAKE_EMAIL, "--reads-out", str(reads_path)], env)
        stack.wait_http(f"http://127.0.0.1:{fake_port}/_fake/state", timeout=30, proc=fake)
        os.environ.update(env)  # this process sets up the data with the same settings as the workers
        say(f"renting {args.open} numbers from the fake and storing them as open verifications")
        refs = open_verifications(args, f"http://127.0.0.1:{fake_port}")
        for workers in args.worker_counts:
            result = phase(args, workers=workers, env=env, fake=fake, refs=refs, reads_path=reads_path)
            phases.append(result)
            say(f"  {workers} worker(s): {result['checks_per_s']} checks/s, {result['share_within']:.1%} within "
                f"{args.interval + 1:g} s, worst gap {result['worst_gap_s']} s, worker CPU "
                f"{result['cpu_ms_per_check']['worker']} ms/check, cores {result['cpu_cores']}")
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        raise SystemExit(130)
    finally:
        fakes.stop()
        shutil.rmtree(beat_dir, ignore_errors=True)
    config = {"open": args.open, "interval_s": args.interval, "concurrency": args.concurrency,
              "latency_ms": round(args.latency * 1000), "warmup_s": args.warmup, "window_s": args.window,
              "db_pool_max": args.db_pool, "quick": args.quick,
              "date": datetime.now(dt_timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    out = {"machine": host, "config": config, "phases": phases, "elapsed_s": round(time.monotonic() - started)}
    table = markdown(out)
    stem = "scaleout-quick" if args.quick else "scaleout"
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=2))
    (RESULTS / f"{stem}.md").write_text(table)
    print()
    print(table)
    if not args.quick and not args.no_readme:
        update_readme(ROOT / "README.md", table)
        say("README.md scale-out table updated")
    say(f"done in {out['elapsed_s']} s; results in bench/results/{stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
