"""The VOICE_* settings: read strictly, refused with one line when malformed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import namaskah.settings as s; print(s.VOICE_MODEL_DIR, s.VOICE_SECOND_MODEL, s.VOICE_BEAM_SIZE, "
         "s.VOICE_CPU_THREADS, s.VOICE_MAX_SECONDS)")


def start(env: dict) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "namaskah.settings", **env}
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=60)


def test_it_defaults_to_the_packaged_model_with_two_threads():
    result = start({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "None", "5", "2", "60"]


def test_it_reads_the_voice_settings():
    result = start({"VOICE_MODEL_DIR": "/srv/models/tiny.en", "VOICE_SECOND_MODEL": "/srv/models/base.en",
                    "VOICE_BEAM_SIZE": "3", "VOICE_CPU_THREADS": "4", "VOICE_MAX_SECONDS": "30"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/srv/models/tiny.en", "/srv/models/base.en", "3", "4", "30"]


@pytest.mark.parametrize(("change", "expected"), [
    ({"VOICE_MODEL_DIR": "models/tiny.en"}, "VOICE_MODEL_DIR='models/tiny.en' must be an absolute path"),
    ({"VOICE_SECOND_MODEL": "base.en"}, "VOICE_SECOND_MODEL='base.en' must be an absolute path"),
    ({"VOICE_BEAM_SIZE": "0"}, "VOICE_BEAM_SIZE=0 is below the minimum of 1"),
    ({"VOICE_CPU_THREADS": "two"}, "VOICE_CPU_THREADS='two' is not a whole number"),
    ({"VOICE_MAX_SECONDS": "1"}, "VOICE_MAX_SECONDS=1 is below the minimum of 5"),
])
def test_it_refuses_malformed_voice_settings_with_one_line(change, expected):
    result = start(change)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [f"namaskah: configuration error: {expected}"]
