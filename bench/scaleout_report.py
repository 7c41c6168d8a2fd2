"""The scale-out benchmark's arithmetic and table (bench/scaleout.py): from the fake upstream's read
log to checks per second and the share of open verifications checked in time."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bench.stats import percentile

START, END = "<!-- bench-scaleout:start -->", "<!-- bench-scaleout:end -->"


def analyse(reads: list[tuple[float, str]], *, refs: list[str], window: tuple[float, float], interval: float) -> dict:
    """Checks in the window, and for each open verification its longest time unchecked: from its
    last check before the window (or the window's start) through each check to the window's end.
    A verification is "within" when that never exceeded interval + 1 s."""
    t0, t1 = window
    before: dict[str, float] = {}
    inside: dict[str, list[float]] = defaultdict(list)
    for at, ref in sorted(reads):
        if at < t0:
            before[ref] = at
        elif at <= t1:
            inside[ref].append(at)
    gaps = []
    for ref in refs:
        points = [before.get(ref, t0), *inside.get(ref, []), t1]
        gaps.append(max(b - a for a, b in zip(points, points[1:])))
    checks = sum(len(inside.get(ref, [])) for ref in refs)
    limit = interval + 1.0
    seconds = t1 - t0
    return {
        "window_s": round(seconds, 2),
        "checks": checks,
        "checks_per_s": round(checks / seconds, 1) if seconds > 0 else None,
        "demand_per_s": round(len(refs) / interval, 1),
        "share_within": sum(g <= limit for g in gaps) / len(gaps) if gaps else None,
        "never_checked": sum(1 for ref in refs if ref not in inside),
        "gap_p50_s": _round(percentile(gaps, 50)),
        "gap_p99_s": _round(percentile(gaps, 99)),
        "worst_gap_s": _round(max(gaps) if gaps else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def verdicts(phases: list[dict]) -> list[dict]:
    """The issue's targets: with the most workers every open verification checked within interval +
    1 s, and 2 workers' checks/s at least 1.7 x those of 1."""
    by_count = {p["workers"]: p for p in phases}
    rows = []
    if by_count:
        most = by_count[max(by_count)]
        rows.append({"target": f"{most['workers']} workers: every open verification checked within "
                               f"{most['interval_s'] + 1:g} s", "value": f"{most['share_within']:.2%}",
                     "met": most["share_within"] == 1.0})
    if 1 in by_count and 2 in by_count and by_count[1]["checks_per_s"]:
        factor = by_count[2]["checks_per_s"] / by_count[1]["checks_per_s"]
        rows.append({"target": "checks/s of 2 workers ≥ 1.7 × those of 1", "value": f"{factor:.2f} ×",
                     "met": factor >= 1.7})
    return rows


def _f(value, fmt: str = "{:g}") -> str:
    return "–" if value is None else fmt.format(value)


def markdown(out: dict) -> str:
    m, c = out["machine"], out["config"]
    lines = [
        f"Machine: {m['nproc']} cores ({m['cpu']}), PostgreSQL {m['postgresql']}, Redis {m['redis']}, Python "
        f"{m['python']}; {c['date']}, commit {m['commit']}; other processes used {_f(m.get('other_load_at_start'))} "
        "cores at the start.",
        "",
        f"{c['open']:,} open verifications, fake TextVerified answering in {c['latency_ms']} ms, "
        f"`MESSAGE_REFRESH_INTERVAL={c['interval_s']:g}` (demand: {c['open'] / c['interval_s']:.1f} checks/s), "
        f"each worker `celery -A namaskah worker --pool threads --concurrency {c['concurrency']}`, one beat, "
        f"DB pool ≤ {c['db_pool_max']} per worker; {c['warmup_s']:g} s warm-up, then {c['window_s']:g} s measured "
        f"per worker count{' (--quick)' if c['quick'] else ''}.",
        "",
        f"| workers | checks/s | share checked within {c['interval_s'] + 1:g} s | longest unchecked p50 / p99 / max s "
        "| CPU ms per check: workers · beat · postgres · redis · fake | CPU cores: workers (each) · other | "
        "PG conns open / active | fixed task ms | checks started ≤ 0.25 / 0.5 / 1 s after due |",
        "|---:|---:|---:|---|---|---|---|---:|---|",
    ]
    for p in out["phases"]:
        ms, cores = p["cpu_ms_per_check"], p["cpu_cores"]
        per_check = " · ".join(_f(ms[g], "{:.2f}") for g in ("worker", "beat", "postgres", "redis", "fake upstream"))
        each = ", ".join(f"{v:g}" for v in cores.get("celery workers", []))
        lines.append(
            f"| {p['workers']} | {_f(p['checks_per_s'])} | {p['share_within']:.1%} | {_f(p['gap_p50_s'])} / "
            f"{_f(p['gap_p99_s'])} / {_f(p['worst_gap_s'])} | {per_check} | {_f(cores.get('worker'))} ({each}) · "
            f"{_f(cores.get('other'))} | {p['pg_connections']['max_open']} / {p['pg_connections']['max_active']} | "
            f"{_f(p.get('cpu_speed_ms'))} | {_lag(p.get('lag'))} |")
    lines += ["", "| target | value | met |", "|---|---:|:---:|"]
    for v in verdicts(out["phases"]):
        lines.append(f"| {v['target']} | {v['value']} | {'✅' if v['met'] else '❌'} |")
    return "\n".join(lines) + "\n"


def _lag(lag: dict | None) -> str:
    if not lag or not lag.get("count"):
        return "–"
    return " / ".join(f"{lag['share_within'][b]:.1%}" for b in ("0.25", "0.5", "1"))


def update_readme(readme: Path, table: str) -> None:
    """Replace what is between the scale-out markers (and nothing else)."""
    text = readme.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:start] + "\n" + table + text[end:])
