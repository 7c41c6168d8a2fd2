#!/usr/bin/env python3
"""Voice transcription accuracy benchmark: synthetic verification calls through voice.transcribe().

    python3 bench/voice/run.py                       # the held-out report set (seed 5), 30 calls per engine
    python3 bench/voice/run.py --set tune            # the tuning set (seed 1): iterate on this one only
    python3 bench/voice/run.py --write               # also update bench/voice/results.md and README's table
    python3 bench/voice/run.py --set tune --sweep nocheck,nonorm       # compare decodings (see variants())
    python3 bench/voice/run.py --set first-report    # the first round's report set (seed 2), seen while tuning
    python3 bench/voice/run.py --set second-report   # the second round's (seed 3), seen in the third round
    python3 bench/voice/run.py --set third-report    # the third round's (seed 4), seen in the fourth round
    python3 bench/voice/run.py --code-length both    # also as if each service's code length were set
    python3 bench/voice/run.py --fixtures voice/tests/fixtures/transcripts.json   # keep what the decoder said

It synthesises calls with flite, festival and espeak-ng (bench/voice/synth.py; `apt-get install flite
festival espeak-ng sox` — it installs them itself when it can), 4, 6 and 8 digit codes said twice,
clean and telephone-band (8 kHz µ-law with noise), transcribes every call in this one process with
the product's settings (VOICE_BEAM_SIZE, VOICE_CPU_THREADS…), and prints per engine and condition:
the share of calls transcribed confident, the share of confident codes that are right, exact-code
accuracy over all calls (the code found, confident or not, is the code said), and seconds per call;
then the process's peak resident memory. Synthesised audio is cached in bench/results/voice/.
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

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import django  # noqa: E402

django.setup()

from bench.voice import report  # noqa: E402
from bench.voice.synth import Call, make_calls, missing_tools  # noqa: E402
from voice import TranscriptionUnavailable, transcribe  # noqa: E402
from voice.transcription import CHECK_PROMPT, Decoding, again_decoding, primary_decoding  # noqa: E402

# The report set is generated fresh for each round of tuning and measured once, after it: seed 2
# was the first round's, and its failures were read while tuning the second (so it is no longer
# held out); seed 3 was the second round's, whose failures were read in the third; seed 4 is the
# third round's, whose failures were read in the fourth; seed 5 is the fourth round's.
SEEDS = {"tune": 1, "first-report": 2, "second-report": 3, "third-report": 4, "report": 5}
CACHE = ROOT / "bench" / "results" / "voice"
CONDITIONS = ("clean", "telephone", "noisy")


def variants() -> dict[str, Decoding]:
    """Decodings compared while tuning; "primary" is what the product runs."""
    base = primary_decoding()
    replace = dataclasses.replace

    def everywhere(name: str, **change) -> Decoding:
        # One change to the first pass, the check and the halves alike.
        return replace(base, name=name, **change, check=replace(base.check, **change),
                       halves=replace(base.halves, **change))

    return {
        "primary": base,
        # One reading: the first pass's own word (no check, no halves).
        "nocheck": replace(base, name="nocheck", check=None, halves=None),
        "nohalves": replace(base, name="nohalves", halves=None),
        "nonorm": everywhere("nonorm", normalise=False),
        "plainprompt": replace(base, name="plainprompt", prompt=CHECK_PROMPT, check=None, halves=None),
        "notimestamps": replace(base, name="notimestamps", timestamps=False),
        "nofallback": replace(base, name="nofallback", temperatures=(0.0,)),
        "beam3": everywhere("beam3", beam_size=3),
        "vad": replace(base, name="vad", vad=True),
        "noprompt": replace(base, name="noprompt", prompt=None, check=None, halves=None),
        "trimmed": everywhere("trimmed", trim=True),
        "again": again_decoding(),
    }


def ensure_tools() -> None:
    missing = missing_tools()
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing Debian's flite, festival, espeak-ng and sox (missing: {', '.join(missing)})", flush=True)
        packages = ["flite", "festival", "espeak-ng", "sox"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env, stdout=subprocess.DEVNULL).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env, stdout=subprocess.DEVNULL)
    if missing_tools():
        sys.exit(f"bench: missing TTS tools: {', '.join(missing_tools())} (apt-get install flite festival espeak-ng sox)")


def calls_for(seed: int, per_engine: int) -> list[Call]:
    folder = CACHE / f"seed-{seed}-n{per_engine}"
    index = folder / "calls.json"
    if index.exists():
        return [Call(**entry) for entry in json.loads(index.read_text())]
    ensure_tools()
    started = time.perf_counter()
    calls = make_calls(seed=seed, per_engine=per_engine, out_dir=folder)
    index.write_text(json.dumps([dataclasses.asdict(call) for call in calls], indent=1))
    print(f"synthesised {len(calls)} calls in {time.perf_counter() - started:.0f} s into {folder}", flush=True)
    return calls


def measure(calls: list[Call], decoding: Decoding, conditions: tuple[str, ...] = CONDITIONS, *,
            code_length: bool = False) -> list[dict]:
    """One row per call and condition; code_length: as if each call's service had its code's length
    set (Service.voice_code_length), else any length 4-8 (the default)."""
    rows = []
    for call in calls:
        for condition in conditions:
            path = getattr(call, condition)
            cpu = time.process_time()
            try:
                result = transcribe(path, decoding=decoding, code_length=len(call.code) if code_length else None)
                code, confidence, text, seconds = result.code, result.confidence, result.text, result.seconds
                check, halves = result.check_text, result.halves_text
            except TranscriptionUnavailable as exc:
                code, confidence, text, seconds, check, halves = None, "unavailable", str(exc), 0.0, None, None
            rows.append({"id": call.id, "engine": call.engine, "voice": call.voice, "condition": condition,
                         "expected": call.code, "code": code, "confidence": confidence, "text": text, "check": check,
                         "halves": halves,
                         "seconds": seconds, "cpu": round(time.process_time() - cpu, 3),
                         "audio_seconds": call.seconds, "phrasing": call.phrasing})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=sorted(SEEDS), default="report")
    parser.add_argument("--per-engine", type=int, default=30)
    parser.add_argument("--sweep", default="primary", help=f"comma-separated decodings: {', '.join(variants())}")
    parser.add_argument("--write", action="store_true", help="update bench/voice/results.md and README.md")
    parser.add_argument("--fixtures", type=Path, help="write (id, expected code, transcript) of every call")
    parser.add_argument("--failures", action="store_true", help="print every call not transcribed confident and right")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated subset of conditions")
    parser.add_argument("--limit", type=int, help="only the first N calls of each engine (quick tuning runs)")
    parser.add_argument("--code-length", choices=("any", "service", "both"), default="any",
                        help="any 4-8 digit code (no Service.voice_code_length), the service's length known, or both")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.sweep.split(",") if name.strip()]
    unknown = set(chosen) - set(variants())
    if unknown:
        sys.exit(f"bench: unknown decodings {', '.join(sorted(unknown))} (known: {', '.join(variants())})")
    if args.write and (args.set != "report" or chosen != ["primary"]):
        sys.exit("bench: --write publishes the held-out set with the product's decoding only")

    conditions = tuple(c.strip() for c in args.conditions.split(",") if c.strip())
    if set(conditions) - set(CONDITIONS):
        sys.exit(f"bench: conditions are {', '.join(CONDITIONS)}")
    if args.write and (args.limit or conditions != CONDITIONS):
        sys.exit("bench: --write publishes the whole set in every condition")
    if args.write:
        args.code_length = "both"
    lengths = {"any": [False], "service": [True], "both": [False, True]}[args.code_length]
    seed = SEEDS[args.set]
    calls = calls_for(seed, args.per_engine)
    if args.limit:
        calls = [call for call in calls if int(call.id.rsplit("-", 1)[1]) < args.limit]
    # Load the weights outside the timings (once per process, as a worker does).
    transcribe(calls[0].clean)
    published = {}
    for name, code_length in [(name, code_length) for name in chosen for code_length in lengths]:
        rows = measure(calls, variants()[name], conditions, code_length=code_length)
        published[code_length] = rows
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        suffix = "-length" if code_length else ""
        (CACHE / f"rows-{args.set}-{name}{suffix}.json").write_text(json.dumps(rows, indent=1))
        known = "the service's code length known" if code_length else "any code length"
        print(f"\n## decoding {name}, {known}, on the {args.set} set (seed {seed}, {len(calls)} calls x "
              f"{len(conditions)} conditions)")
        print(report.table(rows))
        print(report.timing(rows, rss_mb))
        if args.failures:
            print(report.failures(rows))
        if args.fixtures and name == chosen[0] and code_length == lengths[0]:
            args.fixtures.parent.mkdir(parents=True, exist_ok=True)
            fixtures = [{"id": f"{row['id']}.{row['condition']}", "expected": row["expected"], "transcript": row["text"],
                         **({"check": row["check"]} if row["check"] is not None else {}),
                         **({"halves": row["halves"]} if row["halves"] is not None else {})}
                        for row in rows if row["confidence"] != "unavailable"]
            args.fixtures.write_text(json.dumps(fixtures, indent=1) + "\n")
            print(f"wrote {len(fixtures)} transcripts to {args.fixtures}")
    if args.write:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        machine = (f"{os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}")
        report.publish(published[False], rss_mb, decoding=variants()["primary"], machine=machine, seed=seed,
                       per_engine=args.per_engine, with_length=published[True])
        print("updated bench/voice/results.md and README.md")


if __name__ == "__main__":
    main()
