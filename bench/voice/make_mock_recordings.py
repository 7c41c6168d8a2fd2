#!/usr/bin/env python3
"""Regenerate voice/mock_recordings/: short real recordings of codes for the mock provider's calls.

    python3 bench/voice/make_mock_recordings.py

Each recording is an IVR script spoken by Debian's flite, sent through the telephone band (8 kHz,
line noise) and saved small (Ogg Vorbis, µ-law WAV or MP3: the formats an upstream hands out), with
its code in voice/mock_recordings/manifest.json. A recording is kept only if voice.transcribe()
reads its code back confidently (otherwise the next voice is tried), so the mock's calls exercise
the real transcription path and end with a confident code. Deterministic: same seed, same files.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
    if not VENV_PYTHON.exists():
        sys.exit("bench: .venv is missing: run `python3 dev.py test` once to create it")
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "namaskah.settings")
os.environ.setdefault("LOG_LEVEL", "warning")

import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

import django  # noqa: E402

django.setup()

from bench.voice.run import ensure_tools  # noqa: E402
from bench.voice.synth import WORDS, pad, read_wav, speak, telephone_band, write_wav  # noqa: E402
from voice import CONFIDENT, transcribe  # noqa: E402

OUT = ROOT / "voice" / "mock_recordings"
SEED = 15
# (code, service, file format): codes of the lengths real services send, formats an upstream uses.
RECORDINGS = [
    ("381504", "WhatsApp", "ogg"),  # never 482913: the prompt's own code is never confident
    ("7305", "Telegram", "ogg"),
    ("160274", "Google", "wav"),
    ("93518046", "Microsoft", "ogg"),
    ("552871", "Discord", "mp3"),
    ("604219", "Uber", "wav"),
]
SCRIPT = "Hello. This is your {service} verification code: {code}. I repeat: {code}. Goodbye."
VOICES = ("slt", "kal16", "rms", "awb")
CONTENT_TYPES = {"ogg": "audio/ogg", "wav": "audio/wav", "mp3": "audio/mpeg"}
# sox output options per format: small files a phone line's quality deserves.
ENCODING = {"ogg": ["-C", "0"], "wav": ["-e", "u-law", "-b", "8"], "mp3": ["-C", "16"]}


def render(code: str, service: str, fmt: str, voice: str, rng: random.Random, scratch: Path, out: Path) -> str:
    spoken = ", ".join(WORDS[int(digit)] for digit in code)
    script = SCRIPT.format(service=service, code=spoken)
    raw = scratch / "raw.wav"
    speak("flite", voice, script, raw, rng)
    resampled = scratch / "rs.wav"
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(resampled)], check=True,
                   capture_output=True)
    samples, rate = read_wav(resampled)
    clean = scratch / "clean.wav"
    write_wav(clean, pad(samples, rate, rng), rate)
    line = scratch / "line.wav"
    telephone_band(clean, line, rng, scratch)
    subprocess.run(["sox", str(line), "-r", "8000", "-c", "1", *ENCODING[fmt], str(out)], check=True,
                   capture_output=True)
    return script


def main() -> None:
    ensure_tools()
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("call-*"):
        old.unlink()
    rng = random.Random(SEED)
    manifest = []
    with tempfile.TemporaryDirectory() as scratch:
        for n, (code, service, fmt) in enumerate(RECORDINGS, start=1):
            out = OUT / f"call-{n:02d}.{fmt}"
            for voice in VOICES:
                script = render(code, service, fmt, voice, rng, Path(scratch), out)
                result = transcribe(out)
                if result.code == code and result.confidence == CONFIDENT:
                    break
                print(f"{out.name}: {voice} read as {result.code} ({result.confidence}): trying another voice")
            else:
                sys.exit(f"{out.name}: no voice was transcribed confidently as {code}")
            manifest.append({"file": out.name, "code": code, "content_type": CONTENT_TYPES[fmt],
                             "seconds": result.audio_seconds, "voice": f"flite {voice}", "script": script})
            print(f"{out.name}: {code} ({service}, flite {voice}, {result.audio_seconds:.1f} s, "
                  f"{out.stat().st_size // 1024} KB): {result.text!r}")
    (OUT / "manifest.json").write_text(json.dumps({"recordings": manifest}, indent=1) + "\n")
    total = sum(path.stat().st_size for path in OUT.glob("call-*"))
    print(f"{len(manifest)} recordings, {total // 1024} KB in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
