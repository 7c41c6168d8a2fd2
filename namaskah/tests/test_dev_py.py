"""dev.py, the newcomer's entry point: one clear line on a mistake, the port checked before any work,
and every command the Makefile calls exists.

dev.py runs as a subprocess, as a newcomer runs it. Nothing here may install anything: the port
check runs before dev.py looks at .venv, and the tests that get further skip unless .venv already
holds exactly requirements.txt (then ensure_venv() is a no-op).
"""
import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
dev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dev)

needs_current_venv = pytest.mark.skipif(not dev.venv_is_current(),
                                        reason=".venv is missing or out of date: dev.py would install requirements")


def run_dev(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "PORT", "HOST")}
    # A database of its own: the test can tell whether dev.py migrated, and never touches db.sqlite3.
    environ.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}", **env})
    return subprocess.run([sys.executable, str(ROOT / "dev.py"), *args], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_reports_a_busy_port_in_one_line_before_migrating(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run_dev("run", tmp_path=tmp_path, PORT=str(port))
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"[dev] 127.0.0.1:{port} is already in use (another server?): stop it, or choose another PORT"]
    assert not (tmp_path / "dev.sqlite3").exists(), "dev.py migrated before it found the port busy"


def test_it_reports_an_unusable_host_in_one_line(tmp_path):
    result = run_dev("run", tmp_path=tmp_path, HOST="no-such-host.invalid", PORT=str(free_port()))
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("[dev] cannot listen on no-such-host.invalid:"), lines
    assert not (tmp_path / "dev.sqlite3").exists()


@needs_current_venv
def test_a_malformed_setting_is_one_line_without_a_traceback(tmp_path):
    result = run_dev("run", tmp_path=tmp_path, DEBUG="ture", PORT=str(free_port()))
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "namaskah: configuration error: DEBUG='ture' is not a boolean "
        "(use one of: true, false, 1, 0, yes, no, on, off)"]
    assert not (tmp_path / "dev.sqlite3").exists()


def test_every_make_target_calls_a_dev_py_command_that_exists():
    called = re.findall(r"python3 dev\.py (\w+)", (ROOT / "Makefile").read_text())
    assert "bench" in called
    assert set(called) <= set(dev.COMMANDS), set(called) - set(dev.COMMANDS)


@needs_current_venv
def test_dev_py_bench_runs_the_benchmark_script_with_the_venv(tmp_path):
    result = run_dev("bench", "--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: run.py")
    assert "--quick" in result.stdout


def test_an_unknown_command_prints_the_usage(tmp_path):
    result = run_dev("deploy", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "python3 dev.py bench" in result.stderr


def test_run_with_fakes_reports_a_busy_fake_port_in_one_line_before_migrating(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        busy = server.getsockname()[1]
        result = run_dev("run", "--fakes", tmp_path=tmp_path, PORT=str(free_port()),
                         FAKE_TEXTVERIFIED_PORT=str(free_port()), FAKE_SMSACTIVATE_PORT=str(busy))
    assert result.returncode != 0
    assert result.stderr.splitlines()[-1] == (
        f"[dev] 127.0.0.1:{busy} is already in use (another server?): stop it, or choose another PORT")
    assert not (tmp_path / "dev.sqlite3").exists()


def test_run_rejects_an_unknown_argument(tmp_path):
    result = run_dev("run", "--fake", tmp_path=tmp_path, PORT=str(free_port()))
    assert result.returncode != 0 and result.stderr.splitlines() == ["[dev] run: unknown argument '--fake' (only --fakes)"]


@needs_current_venv
def test_run_starts_the_web_server_a_worker_and_beat_and_ctrl_c_stops_them_all(tmp_path):
    import json
    import signal
    import time
    import urllib.request

    port = free_port()
    environ = {key: value for key, value in os.environ.items()
               if key not in ("DEBUG", "PORT", "HOST", "REDIS_URL", "CELERY_BROKER_URL")}
    environ.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}", "PORT": str(port),
                    "CACHE_DIR": str(tmp_path / "cache"), "CELERY_BROKER_DIR": str(tmp_path / "broker"),
                    "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "beat")})
    process = subprocess.Popen([sys.executable, str(ROOT / "dev.py"), "run"], cwd=tmp_path, env=environ,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, background = time.monotonic() + 90, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/system/health", timeout=5) as answer:
                    background = json.load(answer)["components"].get("background")
            except OSError:
                background = None
            if background and background.get("workers"):
                break
            time.sleep(1)
        # The worker reported itself through the cache the three processes share.
        assert background and background["status"] == "ok", background
        assert background["workers"][0]["hostname"].startswith("dev@")
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        process.wait(timeout=60)
        time.sleep(1)
        left = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert left == [], f"still running after Ctrl-C: {left}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@needs_current_venv
def test_run_with_fakes_serves_real_format_numbers_from_both_fakes_and_stops_them_all(tmp_path):
    import json
    import signal
    import time
    import urllib.request

    port, tv_port, smsa_port = free_port(), free_port(), free_port()
    environ = {key: value for key, value in os.environ.items()
               if key not in ("DEBUG", "PORT", "HOST", "PROVIDER", "REDIS_URL", "CELERY_BROKER_URL")}
    environ.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}", "PORT": str(port),
                    "CACHE_DIR": str(tmp_path / "cache"), "CELERY_BROKER_DIR": str(tmp_path / "broker"),
                    "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "beat"),
                    "FAKE_TEXTVERIFIED_PORT": str(tv_port), "FAKE_SMSACTIVATE_PORT": str(smsa_port)})
    process = subprocess.Popen([sys.executable, str(ROOT / "dev.py"), "run", "--fakes"], cwd=tmp_path, env=environ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def call(path, body=None, token=None):
        request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                info = call("/system/info")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "dev.py run --fakes did not start"
                time.sleep(0.5)
        served = {row["name"]: row["countries"] for row in info["providers"]}
        assert served["textverified"] == ["US"] and len(served["smsactivate"]) >= 10 and "mock" not in served
        token = call("/auth/token", {"email": "demo@namaskah.dev", "password": "demo-customer-pass"})["access"]
        us = call("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"}, token)
        gb = call("/verify/create", {"service": "telegram", "country": "GB", "capability": "sms"}, token)
        assert us["phone_number"].startswith("+1") and gb["phone_number"].startswith("+447700900")
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        process.wait(timeout=60)
        time.sleep(1)
        left = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert left == [], f"still running after Ctrl-C: {left}"  # the fakes too
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
