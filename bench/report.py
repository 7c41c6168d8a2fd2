"""Turning measurements into figures, verdicts and the markdown table (README.md, latest.md)."""
from __future__ import annotations

import re
from pathlib import Path

from bench.stats import median_of, ratio

NOTES = Path(__file__).resolve().parent / "notes.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
CPU_GROUPS = ("gunicorn", "worker", "beat", "postgres", "redis", "fake upstream", "load generator", "other")
UPSTREAM_OPERATIONS = (
    ("auth", re.compile(r"^POST /api/pub/v2/auth$")),
    ("quote", re.compile(r"^POST /api/pub/v2/pricing/verifications$")),
    ("rent", re.compile(r"^POST /api/pub/v2/verifications$")),
    ("cancel", re.compile(r"^POST /api/pub/v2/verifications/[^/]+/cancel$")),
    ("report", re.compile(r"^POST /api/pub/v2/verifications/[^/]+/report$")),
    ("details", re.compile(r"^GET /api/pub/v2/verifications/[^/]+$")),
    ("sms", re.compile(r"^GET /api/pub/v2/sms$")),
)


def _split(key: str) -> tuple[str, dict]:
    name, _, raw = key.partition("|")
    return name, dict(part.split("=", 1) for part in raw.split(",") if "=" in part)


def server_figures(delta: dict[str, float], endpoints: tuple[str, ...]) -> dict:
    """Per endpoint, from /system/metrics counter deltas: requests, 5xx, SQL statements per request."""
    rows: dict[str, dict] = {e: {"requests": 0, "errors_5xx": 0, "queries": 0} for e in endpoints}
    for key, value in delta.items():
        name, labels = _split(key)
        row = rows.get(labels.get("endpoint", ""))
        if row is None:
            continue
        if name == "namaskah_http_requests_total":
            row["requests"] += int(value)
            if labels.get("status", "").startswith("5"):
                row["errors_5xx"] += int(value)
        elif name == "namaskah_db_queries_total":
            row["queries"] += int(value)
    buckets: dict[str, dict[float, float]] = {e: {} for e in endpoints}
    for key, value in delta.items():
        name, labels = _split(key)
        if name == "namaskah_http_request_duration_seconds_bucket" and labels.get("endpoint") in buckets:
            bound = float(labels["le"])
            buckets[labels["endpoint"]][bound] = buckets[labels["endpoint"]].get(bound, 0) + value
    for endpoint, row in rows.items():
        row["queries_per_request"] = round(row["queries"] / row["requests"], 2) if row["requests"] else None
        # Inside Django (the middleware's clock): compared with the client's, it shows where requests queue.
        ordered = sorted(buckets[endpoint].items())
        for q in (50, 99):
            value = histogram_quantile(ordered, q / 100)
            row[f"server_p{q}_ms"] = None if value is None else round(value * 1000, 1)
    requests = sum(r["requests"] for r in rows.values())
    queries = sum(r["queries"] for r in rows.values())
    return {"endpoints": rows, "requests": requests,
            "queries_per_request": round(queries / requests, 2) if requests else None}


def histogram_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """A quantile from cumulative (upper bound, count) buckets, interpolated like PromQL's histogram_quantile."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    low_bound, low_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return low_bound
            span = count - low_count
            return low_bound + (bound - low_bound) * ((rank - low_count) / span if span else 0.0)
        low_bound, low_count = bound, count
    return low_bound


def upstream_figures(fake_delta: dict[str, float], server_delta: dict[str, float]) -> dict:
    """Upstream calls: counted by the fake server, and by the platform's own metric when it is wired."""
    by_operation: dict[str, int] = {}
    for key, value in fake_delta.items():
        operation = next((op for op, pattern in UPSTREAM_OPERATIONS if pattern.match(key)), "other")
        by_operation[operation] = by_operation.get(operation, 0) + int(value)
    provider_metric = {}
    for key, value in server_delta.items():
        name, labels = _split(key)
        if name == "namaskah_provider_calls_total" and labels.get("provider") == "textverified":
            op = labels.get("operation", "?")
            provider_metric[op] = provider_metric.get(op, 0) + int(value)
    return {"calls": sum(by_operation.values()), "by_operation": dict(sorted(by_operation.items())),
            "provider_metric_calls": sum(provider_metric.values()) if provider_metric else None,
            "provider_metric_by_operation": provider_metric or None}


def upstream_per_unit(result: dict) -> tuple[float | None, str]:
    """Upstream calls per verification bought (mix) or per poll answered (polling scenarios)."""
    calls = result["upstream"]["calls"]
    if result.get("verifications_created"):
        return round(calls / result["verifications_created"], 2), "verification"
    polls = result["server"]["endpoints"].get("api-verify-messages", {}).get("requests")
    if polls:
        return round(calls / polls, 3), "poll"
    return None, ""


def one_line(result: dict) -> str:
    per, unit = upstream_per_unit(result)
    cpu = result["cpu_cores"]
    inside = "; ".join(f"{e} in Django p50 {r.get('server_p50_ms')} p99 {r.get('server_p99_ms')}"
                       for e, r in result["server"]["endpoints"].items() if r["requests"])
    probes = "; ".join(f"probe {name} p50 {_f(v['p50_ms'], '{:.1f}')} p99 {_f(v['p99_ms'], '{:.1f}')}"
                       for name, v in result.get("probes", {}).items())
    return (f"{result['rps']} req/s, p50 {result['p50_ms']} / p95 {result['p95_ms']} / p99 {result['p99_ms']} ms, "
            f"errors {result['error_rate']:.2%}, SQL/req {result['server']['queries_per_request']}, "
            f"upstream/{unit or '-'} {per}, PG conns {result['pg_connections']['max_open']}, "
            f"CPU gunicorn {cpu.get('gunicorn')} worker {cpu.get('worker')} beat {cpu.get('beat')} pg {cpu.get('postgres')} fake {cpu.get('fake upstream')} "
            f"gen {cpu.get('load generator')} other {cpu.get('other')} busy {cpu.get('machine busy')} "
            f"workers {cpu.get('gunicorn workers')}; {inside}; {probes}")


def medians(rounds: list[dict], names: list[str]) -> dict:
    out = {}
    for name in names:
        runs = [r for r in rounds if r["scenario"] == name]
        if not runs:
            continue
        flat = []
        for r in runs:
            per, unit = upstream_per_unit(r)
            row = {k: r.get(k) for k in ("rps", "offered_rps", "p50_ms", "p95_ms", "p99_ms", "error_rate",
                                         "generator_lag_p99_ms")}
            row.update({"queries_per_request": r["server"]["queries_per_request"], "upstream_per_unit": per,
                        "pg_max_open": r["pg_connections"]["max_open"],
                        "pg_max_active": r["pg_connections"]["max_active"]})
            row.update({f"cpu {g}": r["cpu_cores"].get(g) for g in (*CPU_GROUPS, "machine busy")})
            row["cpu_speed_ms"] = r.get("cpu_speed_ms")
            served = r["server"]["requests"]
            row["cpu_ms_per_request"] = (round(r["cpu_cores"]["gunicorn"] * r["cpu_cores"]["seconds"] / served * 1000, 2)
                                         if served and r["cpu_cores"].get("seconds") else None)
            for probe, figures in r.get("probes", {}).items():
                row[f"probe {probe} p50_ms"], row[f"probe {probe} p99_ms"] = figures["p50_ms"], figures["p99_ms"]
            for endpoint, figures in r["server"]["endpoints"].items():
                row[f"django {endpoint} p50_ms"] = figures.get("server_p50_ms")
                row[f"django {endpoint} p99_ms"] = figures.get("server_p99_ms")
            row["unit"] = unit
            flat.append(row)
        summary = {k: median_of(flat, k) for k in flat[0] if k != "unit"}
        summary["per_run"] = {k: [row.get(k) for row in flat] for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate")}
        summary["upstream_unit"] = flat[0]["unit"]
        summary["runs"] = len(runs)
        summary["kind"] = runs[0]["kind"]
        summary["workers_cpu"] = [r["cpu_cores"].get("gunicorn workers") for r in runs]
        if "by_kind" in runs[0]:
            summary["by_kind"] = {
                kind: {k: median_of([r["by_kind"].get(kind, {}) for r in runs], k)
                       for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate")}
                for kind in runs[0]["by_kind"]}
        out[name] = summary
    return out


# The polling paths measured against the bare-Django ceiling (wrk), each through Django's whole stack.
POLL_PATHS = (("poll-wrk", "API key"), ("poll-wrk-jwt", "JWT"), ("poll-wrk-304", "API key, 304"))
TABLE_ORDER = ("mix", "poll", "poll-0ms", "bare-open", "poll-wrk", "poll-wrk-jwt", "poll-wrk-304", "bare-wrk")


def targets(summary: dict, *, latency_ms: float) -> list[dict]:
    rows = []

    def add(target: str, value, ok, detail: str = "", runs: list | None = None) -> None:
        rows.append({"target": target, "value": value, "met": None if value is None else bool(ok), "detail": detail,
                     "runs": runs or []})

    def runs_of(scenario: dict, key: str) -> list:
        return scenario.get("per_run", {}).get(key, [])

    mix = summary.get("mix", {})
    if mix:
        add("mix ≥ 100 req/s", mix.get("rps"), (mix.get("rps") or 0) >= 100, "", runs_of(mix, "rps"))
        add("mix P95 < 2 s", mix.get("p95_ms"), (mix.get("p95_ms") or 1e9) < 2000, "ms", runs_of(mix, "p95_ms"))
        add("mix P99 < 5 s", mix.get("p99_ms"), (mix.get("p99_ms") or 1e9) < 5000, "ms", runs_of(mix, "p99_ms"))
        add("mix errors < 1 %", mix.get("error_rate"), (mix.get("error_rate") or 0) < 0.01, "share",
            runs_of(mix, "error_rate"))
    bare = summary.get("bare-wrk", {})
    for name, label in POLL_PATHS:
        polls = summary.get(name, {})
        if bare and polls:
            share = ratio(polls.get("rps"), bare.get("rps"))
            pairs = zip(runs_of(polls, "rps"), runs_of(bare, "rps"))
            add(f"polling ({label}) ≥ 50 % of bare-Django ceiling", share, (share or 0) >= 0.5,
                f"{name} / bare-wrk", [ratio(p, b) for p, b in pairs])
    fast = summary.get("poll-0ms", {})
    if fast:
        add("polling P99 < 250 ms apart from upstream latency", fast.get("p99_ms"),
            (fast.get("p99_ms") or 1e9) < 250, "ms, upstream answering at once", runs_of(fast, "p99_ms"))
    poll = summary.get("poll", {})
    if poll and poll.get("p99_ms") is not None:
        # The same target with the upstream at its configured latency: P99 within latency + 250 ms
        # (a poll that waits on the upstream may spend the latency, and 250 ms more at most).
        limit = latency_ms + 250
        add(f"polling P99 < {limit:.0f} ms with a {latency_ms:.0f} ms upstream", poll["p99_ms"],
            poll["p99_ms"] < limit, "ms", runs_of(poll, "p99_ms"))
    return rows


def _f(value, fmt: str = "{:g}") -> str:
    return "–" if value is None else fmt.format(value)


def markdown(out: dict) -> str:
    m, c, s = out["machine"], out["config"], out["median"]
    lines = [
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, PostgreSQL {m['postgresql']} "
        f"(max_connections {m['max_connections']}), Redis {m['redis']}, Python {m['python']}, kernel {m['kernel']}; "
        f"{m['date']}, commit {m['commit']}. Load generator and servers share the cores; \"other\" is CPU used by "
        f"processes that are not the benchmark's (other work on the machine: {_f(m.get('other_load_at_start'))} cores "
        f"at the start).",
        "",
        f"gunicorn {c['workers']} workers × {c['threads']} threads, DB pool ≤ {c['db_pool_max']} per worker, "
        f"LOG_LEVEL={c['log_level']}; {_background(c)}; fake TextVerified answering in {c['upstream_latency_ms']} ms, "
        f"SMS after {c['sms_delay_s']:g} s; {c['customers']} customers. Median of {c['runs']} interleaved "
        f"{'run' if c['runs'] == 1 else 'runs'}{' (--quick)' if c['quick'] else ''}.",
        "",
        f"A fixed pure-Python task takes {_f(m.get('cpu_speed_idle_ms'))} ms of CPU on the idle machine; the "
        "\"fixed task ms\" column times it during each scenario (a larger figure: the same work costs more CPU).",
        "",
        "| scenario | load | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | upstream calls | PG conns open / active |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    loads = {
        "mix": f"open loop {c['mix_rate']:g}/s: buy, poll every 3 s, 20 % cancel",
        "poll": f"open loop: {c['poll_clients']} clients polling every 3 s",
        "poll-0ms": "same, upstream answering at once",
        "bare-open": f"open loop {c['poll_rate']:g}/s on /system/live",
        "poll-wrk": f"wrk, {c['wrk_connections']} connections, messages of 100 verifications, API key",
        "poll-wrk-jwt": "same, with a JWT",
        "poll-wrk-304": "same, API key and If-None-Match (304s)",
        "bare-wrk": f"wrk, {c['wrk_connections']} connections, /system/live",
    }
    for name in TABLE_ORDER:
        r = s.get(name)
        if not r:
            continue
        unit = r.get("upstream_unit")
        upstream = f"{_f(r.get('upstream_per_unit'))} / {unit}" if unit else "–"
        lines.append(
            f"| **{name}** | {loads[name]} | {_f(r.get('rps'))} | {_f(r.get('p50_ms'))} | {_f(r.get('p95_ms'))} | "
            f"{_f(r.get('p99_ms'))} | {_f(r.get('error_rate'), '{:.2%}')} | {_f(r.get('queries_per_request'))} | "
            f"{upstream} | {_f(r.get('pg_max_open'))} / {_f(r.get('pg_max_active'))} of {m['max_connections']} |")
        for kind, k in (r.get("by_kind") or {}).items():
            if name == "mix":
                lines.append(f"| ↳ mix: {kind} | | {_f(k.get('rps'))} | {_f(k.get('p50_ms'))} | {_f(k.get('p95_ms'))} | "
                             f"{_f(k.get('p99_ms'))} | {_f(k.get('error_rate'), '{:.2%}')} | | | |")
    lines += ["", "Where the time goes (medians): CPU in cores (1.0 = one core of the 2), the time requests spend inside "
                  "Django (middleware clock, from /system/metrics), and a /system/live probe every 200 ms during the "
                  "scenario (its round trip is the queueing in front of Django).", "",
              "| scenario | CPU: gunicorn · Celery worker · beat · postgres · redis · fake · generator · other | CPU ms per request (gunicorn) "
              "| fixed task ms | inside Django p50 / p99 ms | probe /system/live p50 / p99 ms |",
              "|---|---|---:|---:|---|---:|"]
    short = {"api-verify-create": "create", "api-verify-messages": "messages", "api-verify-detail": "cancel",
             "system-live": "live"}
    for name in TABLE_ORDER:
        r = s.get(name)
        if not r:
            continue
        cpu = " · ".join(_f(r.get(f"cpu {g}")) for g in CPU_GROUPS)
        inside = ", ".join(f"{label} {_f(r.get(f'django {e} p50_ms'))} / {_f(r.get(f'django {e} p99_ms'))}"
                           for e, label in short.items() if f"django {e} p50_ms" in r)
        probe = f"{_f(r.get('probe gunicorn /system/live p50_ms'))} / {_f(r.get('probe gunicorn /system/live p99_ms'))}"
        lines.append(f"| {name} | {cpu} | {_f(r.get('cpu_ms_per_request'), '{:.1f}')} | {_f(r.get('cpu_speed_ms'))} | {inside} | {probe} |")
    bare = s.get("bare-wrk")
    ratios = [f"{label} {_f(s[name].get('rps'))} req/s = **{_f(ratio(s[name].get('rps'), bare.get('rps')), '{:.0%}')}**"
              for name, label in POLL_PATHS if bare and s.get(name)]
    if ratios:
        lines += ["", f"Ceiling ratios (wrk), polls through Django ÷ bare Django {_f(bare.get('rps'))} req/s: "
                      + "; ".join(ratios) + ". CPU ms per poll for each path: the table above, column "
                      "\"CPU ms per request\"."]
    lines += ["", "| target | median | met | each run |", "|---|---:|:---:|---|"]
    for t in out["targets"]:
        def show(value, t=t) -> str:
            if value is None:
                return "–"
            if t["detail"].endswith("/ bare-wrk"):
                return f"{value:.0%}"
            if t["detail"] == "share":
                return f"{value:.2%}"
            return f"{value:g}" + (" ms" if t["detail"].startswith("ms") else "")
        verdict = "✅" if t["met"] else "❌" if t["met"] is False else "–"
        lines.append(f"| {t['target']} | {show(t['value'])} | {verdict} | {', '.join(show(v) for v in t.get('runs', []))} |")
    return "\n".join(lines) + "\n"


def log_summary(path: Path) -> dict[str, int]:
    """gunicorn's warnings and errors, counted by message (ids and numbers masked)."""
    counts: dict[str, int] = {}
    if not path.exists():
        return counts
    for line in path.read_text(errors="replace").splitlines():
        match = re.search(r"\b(WARNING|ERROR|CRITICAL)\b (.*)", line)
        if match:
            message = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\b\d+\b", "N", match.group(0))[:160]
            counts[message] = counts.get(message, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def update_readme(readme: Path, table: str) -> None:
    """Replace what is between the bench markers (and nothing else)."""
    text = readme.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    notes = NOTES.read_text().strip() + "\n" if NOTES.exists() else ""
    body = ("\n`python3 dev.py bench` (or `make bench`, or `python3 bench/run.py`) runs it (8-9 minutes, after waiting up to 3 minutes for the machine to be "
            "quiet; `--quick` is a 3-minute smoke run that leaves this table alone; `python3 dev.py test bench` "
            "tests the generator's arithmetic). It starts gunicorn with production settings, a Celery worker and one beat on "
            "PostgreSQL, Redis and the fake TextVerified, everything on 127.0.0.1, and stops it all at the end. "
            "`python3 dev.py bench scaleout` measures the checks with 1 and 2 workers (below).\n\n"
            + table + ("\n" + notes if notes else ""))
    readme.write_text(text[:start] + body + text[end:])


def _background(c: dict) -> str:
    if "worker_concurrency" in c:
        parts = [f"one Celery worker (threads pool, concurrency {c['worker_concurrency']}) and one beat"]
    elif c.get("poller_threads") is not None:  # results from before Celery (manage.py's old poller)
        parts = [f"background poller ({c['poller_threads']} threads)"]
    else:  # results from before any background checks
        return "no background checks (every poll could call the upstream)"
    if c.get("webhooks"):
        parts.append("SMS pushed by signed webhooks")
    return ", ".join(parts)
