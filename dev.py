#!/usr/bin/env python3
"""The two newcomer commands, with nothing installed beyond Python 3.11:

    python3 dev.py run     # platform on http://127.0.0.1:8000 with demo data and demo logins
    python3 dev.py run --fakes   # the same, against the fake TextVerified and the fake SMS-Activate provider
    python3 dev.py test    # the test suite (extra arguments go to pytest)
    python3 dev.py bench   # the load benchmark, bench/run.py (extra arguments go to it, e.g. --quick)
    python3 dev.py bench scaleout   # the checks with 1 and 2 Celery workers, bench/scaleout.py
    python3 dev.py lint    # ruff, and the apps' layering contracts (import-linter, .importlinter)

Each creates .venv and installs requirements.txt when missing or changed. Standard library only.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".requirements.sha256"
REQUIREMENTS = ROOT / "requirements.txt"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def venv_is_current() -> bool:
    """True when .venv exists and holds exactly requirements.txt: ensure_venv() will install nothing."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == digest


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"[dev] Python 3.11 or newer is required (this is {sys.version.split()[0]})")
    if venv_is_current():
        return
    if not PYTHON.exists():
        say(f"creating {VENV.name}/")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    say("installing requirements.txt (first run, or it changed)")
    if subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                       "-r", str(REQUIREMENTS)]).returncode != 0:
        sys.exit("[dev] installing requirements.txt failed (pip's message is above)")
    STAMP.write_text(hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest())


def manage(*args: str) -> None:
    """Run a manage.py command; on failure stop with its exit status. manage.py has already said
    why in one line (a configuration error names its variable): a traceback of ours would bury it."""
    code = subprocess.run([str(PYTHON), str(ROOT / "manage.py"), *args], cwd=ROOT).returncode
    if code != 0:
        sys.exit(code)


def port_from_env() -> tuple[str, int]:
    host = os.environ.get("HOST", "127.0.0.1").strip() or "127.0.0.1"
    raw = os.environ.get("PORT", "8000").strip() or "8000"
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        sys.exit(f"[dev] PORT={raw!r} is not a port number (1-65535)")
    return host, int(raw)


def check_port(host: str, port: int) -> None:
    """Stop with one line if the address cannot be bound, before migrating and seeding for nothing.

    SO_REUSEADDR as runserver sets it: a port left in TIME_WAIT is free for it, one with a listening
    server is not. The socket is closed at once; runserver binds it again moments later.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            sys.exit(f"[dev] {host}:{port} is already in use (another server?): stop it, or choose another PORT")
        sys.exit(f"[dev] cannot listen on {host}:{port}: {exc.strerror or exc} (check HOST and PORT)")


def background_env() -> dict:
    """The environment the web server, the worker and beat share. Without Redis they still need one
    cache (circuits, poll answers, throttles) and one broker: a folder each under .dev/."""
    env = dict(os.environ)
    if not env.get("REDIS_URL"):
        env.setdefault("CACHE_DIR", str(ROOT / ".dev" / "cache"))
    return env


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def run(args: list[str]) -> None:
    fakes = "--fakes" in args
    unknown = [a for a in args if a != "--fakes"]
    if unknown:
        sys.exit(f"[dev] run: unknown argument {unknown[0]!r} (only --fakes)")
    host, port = port_from_env()
    check_port(host, port)
    ensure_venv()
    started = start_fakes() if fakes else {}
    env = background_env()
    os.environ.update(env)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops everything, like Ctrl-C
    processes = dict(started)
    try:
        manage("migrate", "--noinput", "-v", "0")
        manage("seed_demo")
        if fakes:
            manage("sync_services")  # the fake provider's countries, costs and stock
        base = f"http://{host}:{port}"
        upstreams = " (against the fake TextVerified and the fake SMS-Activate provider)" if fakes else ""
        print(f"""
  Namaskah is starting on {base}, with a Celery worker and beat for the background work{upstreams}
    dashboard   {base}/dashboard
    admin       {base}/admin/          (staff login above)
    API docs    {base}/api/docs
    health      {base}/system/health
  Stop with Ctrl-C (it stops them all).
""", flush=True)
        celery = [str(PYTHON), "-m", "celery", "-A", "namaskah"]
        commands = {
            # Threads: checks wait on the upstream, not the CPU; one process keeps the voice model once.
            "worker": [*celery, "worker", "--pool", "threads", "--concurrency", "8", "--loglevel", "INFO",
                       "--hostname", "dev@%h"],
            "beat": [*celery, "beat", "--loglevel", "INFO"],
            "web": [str(PYTHON), "manage.py", "runserver", f"{host}:{port}"],
        }
        processes.update({name: subprocess.Popen(argv, cwd=ROOT, env=env) for name, argv in commands.items()})
        while True:
            for name, process in processes.items():
                code = process.poll()
                if code is not None:
                    say(f"{name} stopped (exit {code}): stopping the others")
                    raise SystemExit(code or 1)
            try:
                processes["web"].wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        say("stopping the web server, the worker and beat" + (" and the fakes" if fakes else ""))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


# The fakes of `run --fakes`: (name, port variable, default port).
FAKES = (("fake TextVerified", "FAKE_TEXTVERIFIED_PORT", 8765), ("fake SMS-Activate", "FAKE_SMSACTIVATE_PORT", 8766))
FAKE_KEY, FAKE_EMAIL = "fake-upstream-key", "demo@namaskah.dev"


def start_fakes() -> dict[str, subprocess.Popen]:
    """Start both fakes on 127.0.0.1 and point this process's environment (inherited by manage.py,
    the web server, the worker and beat) at them. Development only: the fakes accept the key below."""
    ports = {}
    for name, variable, default in FAKES:
        raw = os.environ.get(variable, str(default)).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            sys.exit(f"[dev] {variable}={raw!r} is not a port number (1-65535)")
        check_port("127.0.0.1", int(raw))
        ports[variable] = int(raw)
    os.environ.update({
        "PROVIDER": "textverified", "TEXTVERIFIED_API_KEY": FAKE_KEY, "TEXTVERIFIED_EMAIL": FAKE_EMAIL,
        "TEXTVERIFIED_BASE_URL": f"http://127.0.0.1:{ports['FAKE_TEXTVERIFIED_PORT']}",
        "SMSACTIVATE_BASE_URL": f"http://127.0.0.1:{ports['FAKE_SMSACTIVATE_PORT']}",
        "SMSACTIVATE_API_KEY": FAKE_KEY, "SMSACTIVATE_NAME": os.environ.get("SMSACTIVATE_NAME", "Fake SMS-Activate"),
    })
    delay = os.environ.get("MOCK_SMS_DELAY", "8")
    commands = {
        "fake TextVerified": [str(PYTHON), str(ROOT / "manage.py"), "fake_textverified",
                              "--port", str(ports["FAKE_TEXTVERIFIED_PORT"]), "--sms-delay", delay],
        "fake SMS-Activate": [str(PYTHON), "-m", "fakes.smsactivate", "--port", str(ports["FAKE_SMSACTIVATE_PORT"]),
                              "--api-key", FAKE_KEY, "--sms-delay", delay],
    }
    started = {name: subprocess.Popen(argv, cwd=ROOT) for name, argv in commands.items()}
    for name, variable, _ in FAKES:
        if not wait_for_port(ports[variable], started[name]):
            for other in started.values():
                other.terminate()
            sys.exit(f"[dev] the {name} did not start on 127.0.0.1:{ports[variable]} (its message is above)")
        say(f"{name} on http://127.0.0.1:{ports[variable]}")
    return started


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def ensure_browser() -> None:
    """Browser tests drive Debian's Chromium; install it when we can, else they skip with a reason."""
    if shutil.which("chromium") or os.environ.get("SKIP_BROWSER_INSTALL"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say("chromium is not installed and cannot be installed here: browser tests will be skipped")
        return
    say("installing Debian's chromium for the browser tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "env": env}
    if subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], **quiet)
        if subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], **quiet).returncode != 0:
            say("could not install chromium: browser tests will be skipped")


def test(args: list[str]) -> None:
    ensure_venv()
    ensure_browser()
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), "-m", "pytest", *args])


def bench(args: list[str]) -> None:
    ensure_venv()
    os.chdir(ROOT)
    # `bench scaleout ...`: the background checks with 1 and 2 Celery workers; anything else: the load benchmark.
    script, args = ("scaleout.py", args[1:]) if args[:1] == ["scaleout"] else ("run.py", args)
    os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "bench" / script), *args])


def lint(args: list[str]) -> None:
    ensure_venv()
    os.chdir(ROOT)
    failed = [name for name, argv in (("ruff", [str(VENV / "bin" / "ruff"), "check", "."]),
                                      ("import-linter", [str(VENV / "bin" / "lint-imports")]))
              if subprocess.run(argv).returncode != 0]
    if failed:
        sys.exit(f"[dev] lint failed: {', '.join(failed)}")
    say("lint: ruff and import-linter clean")


COMMANDS = {"run": run, "test": test, "bench": bench, "lint": lint}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
