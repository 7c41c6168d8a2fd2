"""The voice benchmark's arithmetic and tables (pure functions of the measured rows)."""
from __future__ import annotations

import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "voice" / "results.md"
README = ROOT / "README.md"
START, END = "<!-- voice-bench:start -->", "<!-- voice-bench:end -->"
ENGINES = ("flite", "festival", "espeak-ng")


def summary(rows: list[dict]) -> dict:
    """Counts and shares for one group of calls."""
    confident = [row for row in rows if row["confidence"] == "confident"]
    right = [row for row in confident if row["code"] == row["expected"]]
    exact = [row for row in rows if row["code"] == row["expected"]]
    seconds = [row["seconds"] for row in rows]
    return {
        "calls": len(rows),
        "confident": len(confident),
        "confident_right": len(right),
        "exact": len(exact),
        "confident_share": len(confident) / len(rows) if rows else 0.0,
        "right_share": len(right) / len(confident) if confident else None,
        "exact_share": len(exact) / len(rows) if rows else 0.0,
        "median_s": statistics.median(seconds) if seconds else 0.0,
        "max_s": max(seconds) if seconds else 0.0,
    }


def percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.0f} %"


def table(rows: list[dict], *, engines: bool = True) -> str:
    lines = ["| engine | condition | calls | confident | confident codes right | exact code | s/call (median · max) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    conditions = sorted({row["condition"] for row in rows}, key=("clean", "telephone", "noisy").index)
    for condition in conditions:
        for engine in [*ENGINES, "all"] if engines else ["all"]:
            group = [row for row in rows if row["condition"] == condition and engine in ("all", row["engine"])]
            if not group:
                continue
            s = summary(group)
            name = f"**{engine}**" if engine == "all" else engine
            lines.append(f"| {name} | {condition} | {s['calls']} | {percent(s['confident_share'])} | "
                         f"{percent(s['right_share'])} ({s['confident_right']}/{s['confident']}) | "
                         f"{percent(s['exact_share'])} | {s['median_s']:.2f} · {s['max_s']:.2f} |")
    return "\n".join(lines)


def timing(rows: list[dict], rss_mb: float) -> str:
    long_calls = [row for row in rows if row["audio_seconds"] >= 14]
    cpu = [row["cpu"] for row in rows]
    parts = [f"{len(rows)} transcriptions: wall {statistics.median(r['seconds'] for r in rows):.2f} s median, "
             f"{max(r['seconds'] for r in rows):.2f} s max; CPU {statistics.median(cpu):.2f} s median per call"]
    if long_calls:
        parts.append(f"calls of 14 s or more ({len(long_calls)}, {min(r['audio_seconds'] for r in long_calls):.0f}-"
                     f"{max(r['audio_seconds'] for r in long_calls):.0f} s of audio): wall "
                     f"{statistics.median(r['seconds'] for r in long_calls):.2f} s median, "
                     f"{max(r['seconds'] for r in long_calls):.2f} s max")
    parts.append(f"peak resident memory of the process: {rss_mb:.0f} MB")
    return "; ".join(parts) + "."


def failures(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        if row["confidence"] == "confident" and row["code"] == row["expected"]:
            continue
        marker = "WRONG CONFIDENT" if row["confidence"] == "confident" else row["confidence"]
        check = f" / check: {row['check']!r}" if row.get("check") else ""
        check += f" / halves: {row['halves']!r}" if row.get("halves") else ""
        lines.append(f"  {row['id']}.{row['condition']} [{marker}] said {row['expected']} got {row['code']}: {row['text']!r}{check}")
    return "\n".join(lines) or "  (none)"


def targets(rows: list[dict], with_length: list[dict] | None = None) -> str:
    """The issue's targets on the telephone band: without a known code length and, when measured,
    with each service's code length set (Service.voice_code_length)."""
    columns = [summary([row for row in group if row["condition"] == "telephone"])
               for group in ([rows, with_length] if with_length is not None else [rows])]

    def right(s):
        return f"{percent(s['right_share'])} ({s['confident_right']}/{s['confident']})"

    def met(ok):
        return "✅" if ok else "❌"

    header = "| target (telephone band) | measured | met |\n|---|---:|:---:|"
    if with_length is not None:
        header = ("| target (telephone band) | any code length | met | the service's code length set | met |\n"
                  "|---|---:|:---:|---:|:---:|")
    line_right = "| confident codes 100 % right | " + " | ".join(
        f"{right(s)} | {met(s['right_share'] == 1.0)}" for s in columns) + " |"
    line_share = "| ≥ 75 % of calls confident | " + " | ".join(
        f"{percent(s['confident_share'])} | {met(s['confident_share'] >= 0.75)}" for s in columns) + " |"
    return "\n".join([header, line_right, line_share])


def publish(rows: list[dict], rss_mb: float, *, decoding, machine: str, seed: int, per_engine: int,
            with_length: list[dict] | None = None) -> None:
    """Rewrite results.md's measured block and README's table between their markers."""
    block = "\n".join([
        START,
        f"`python3 bench/voice/run.py --write` — held-out set (seed {seed}), {per_engine} calls per engine, "
        f"each clean, telephone-band and noisy; {machine}.",
        f"Decoding: Whisper tiny.en int8, beam {decoding.beam_size}, VAD {'on' if decoding.vad else 'off'}, "
        f"speech {'normalised to one level' if decoding.normalise else 'as recorded'}, ten-digit prompt, "
        f"temperatures {', '.join(str(t) for t in decoding.temperatures)}, timestamps "
        f"{'on' if decoding.timestamps else 'off'}; "
        + (f"every call is read again by a check (plain prompt, timestamps "
           f"{'on' if decoding.check.timestamps else 'off'})"
           + (", and cut at the pause in its middle with each part read alone (the check's decoding)"
              if decoding.halves else "")
           + ". A code is confident when one reading says it twice, another reading hears it, no reading says "
             "another code twice and no half says it with one digit changed. No second reading after a first "
             "pass that fell back to a warmer temperature."
           if decoding.check else "one pass, no check."),
        "",
        table(rows),
        "",
        targets(rows, with_length),
        "",
        *(["With each call's service set to its code's length (Service.voice_code_length), per condition:",
           "", table(with_length, engines=False), ""] if with_length is not None else []),
        timing(rows + (with_length or []), rss_mb),
        END,
    ])
    for path in (RESULTS, README):
        text = path.read_text()
        if START not in text or END not in text:
            raise SystemExit(f"bench: {path} has no {START} … {END} block")
        path.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))
