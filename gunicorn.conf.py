"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py namaskah.wsgi`.

gthread workers: a request waiting on the upstream holds a thread, not a process. Keep
WEB_CONCURRENCY x DB_POOL_MAX_SIZE well under PostgreSQL's max_connections.
"""
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"namaskah: configuration error: {name}={raw!r} must be a positive whole number")
    return int(raw)


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"
# Measured by bench/ on 2 cores with a 300 ms upstream: 2 x 8 let requests queue behind threads
# waiting on the upstream; 4 x 32 answered the mix a little faster than 4 x 16 (a purchase holds its
# thread through two upstream calls, and a cheap poll must not wait behind it). Threads wait on the
# network, not on the database: 4 x DB_POOL_MAX_SIZE 10 = 40 connections.
workers = _int("WEB_CONCURRENCY", 4)
threads = _int("GUNICORN_THREADS", 32)
worker_class = "gthread"
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# The request log comes from our own middleware (request id, user, duration); keep gunicorn's quiet.
accesslog = None
errorlog = "-"

# Every worker writes its metrics to shared files here; /system/metrics merges them. It must be set
# before the workers import prometheus_client, and emptied at each start so no stale samples remain.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="namaskah-metrics-")

# Imported here, after the directory is set, never inside the child_exit signal handler (an import
# there once failed half-way at shutdown).
from prometheus_client import multiprocess  # noqa: E402


def on_starting(server):
    import glob

    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
