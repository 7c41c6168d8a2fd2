#!/usr/bin/env python3
"""The two newcomer commands, with nothing installed beyond Python 3.11:

    python3 dev.py run     # platform on http://127.0.0.1:8000 with demo data and demo logins
    python3 dev.py run --fakes   # the same, against the fake TextVerified and the fake SMS-Activate provider
    python3 dev.py test    # the test suite (extra arguments go to pytest)
    python3 dev.py bench   # the load benchmark, bench/run.py (extra arguments go to it, e.g. --quick)
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


def run(args: list[str]) -> None:
    fakes = "--fakes" in args
    unknown = [a for a in args if a != "--fakes"]
    if unknown:
        sys.exit(f"[dev] run: unknown argument {unknown[0]!r} (only --fakes)")
    host, port = port_from_env()
    check_port(host, port)
    ensure_venv()
    started = start_fakes() if fakes else []
    server = None
    if started:
        # A SIGTERM (a supervisor, `timeout`) must stop the fakes too, not orphan them.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        manage("migrate", "--noinput", "-v", "0")
        manage("seed_demo")
        if fakes:
            manage("sync_services")  # the fake provider's countries, costs and stock
        base = f"http://{host}:{port}"
        print(f"""
  Namaskah is starting on {base}{' (against the fakes)' if fakes else ''}
    dashboard   {base}/dashboard
    admin       {base}/admin/          (staff login above)
    API docs    {base}/api/docs
    health      {base}/system/health
  Stop with Ctrl-C.
""", flush=True)
        os.chdir(ROOT)
        command = [str(PYTHON), "manage.py", "runserver", f"{host}:{port}"]
        if not started:
            os.execv(str(PYTHON), command)
        # Not exec: the fakes are our children and must stop with the server. runserver gets a
        # process group of its own, so that its autoreloader's child stops with it too.
        server = subprocess.Popen(command, start_new_session=True)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=10)


# The fakes of `run --fakes`: (name, port variable, default port).
FAKES = (("fake TextVerified", "FAKE_TEXTVERIFIED_PORT", 8765), ("fake SMS-Activate", "FAKE_SMSACTIVATE_PORT", 8766))
FAKE_KEY, FAKE_EMAIL = "fake-upstream-key", "demo@namaskah.dev"


def start_fakes() -> list[subprocess.Popen]:
    """Start both fakes on 127.0.0.1 and point this process's environment (inherited by manage.py and
    runserver) at them. Development only: the fakes accept the fixed key below."""
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
    commands = [
        [str(PYTHON), str(ROOT / "manage.py"), "fake_textverified", "--port", str(ports["FAKE_TEXTVERIFIED_PORT"]),
         "--sms-delay", delay],
        [str(PYTHON), "-m", "fakes.smsactivate", "--port", str(ports["FAKE_SMSACTIVATE_PORT"]), "--api-key", FAKE_KEY,
         "--sms-delay", delay],
    ]
    started = [subprocess.Popen(command, cwd=ROOT) for command in commands]
    for (name, variable, _), process in zip(FAKES, started):
        if not wait_for_port(ports[variable], process):
            for other in started:
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
    os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "bench" / "run.py"), *args])


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
