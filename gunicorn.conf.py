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
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 8)
worker_class = "gthread"
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# The request log comes from our own middleware (request id, user, duration); keep gunicorn's quiet.
accesslog = None
errorlog = "-"
