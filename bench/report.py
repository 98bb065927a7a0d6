"""What the bench reports: the machine, the data, and each workload's median against its target."""

from __future__ import annotations

import os
import platform
import statistics
from typing import Any

from django.db import connection

from bench import cpu


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        total_kb = int(handle.readline().split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": server,
    }


def data_size() -> dict[str, Any]:
    from django.utils import timezone

    from dashboards.values import Period
    from tickets.management.commands.bench_data import month_bounds

    start, _end = month_bounds(timezone.now())
    period = Period.month(start.year, start.month)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE state IN "
            "('new','acknowledged','assigned','in_progress','waiting_citizen')), "
            "COUNT(*) FILTER (WHERE received_at >= %s AND received_at < %s), "
            "COUNT(*) FILTER (WHERE sla_next_at IS NOT NULL) FROM tickets_ticket",
            [period.start, period.end],
        )
        tickets, open_, month, clocked = cursor.fetchone()
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'tickets_ticketevent'"
        )
        events = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM tickets_department")
        departments = cursor.fetchone()[0]
    return {
        "tickets": tickets,
        "open": open_,
        "with_sla_clock": clocked,
        "month": period.key,
        "month_tickets": month,
        "events_approx": events,
        "departments": departments,
    }


def filtered_paths() -> list[str]:
    """Filtered inbox pages: one busy department's open cases in progress, urgent complaints."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT department_id FROM tickets_ticket WHERE state = 'in_progress' "
            "AND department_id IS NOT NULL GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
        )
        row = cursor.fetchone()
    department = row[0] if row else ""
    return [
        f"/inbox/?state=in_progress&department={department}",
        "/inbox/?channel=hotline&request_type=complaint",
        "/inbox/?overdue=1",
    ]


def brief(result: dict[str, Any]) -> str:
    keys = (
        "rps",
        "tickets_per_s",
        "p50_us",
        "p99_us",
        "non2xx",
        "socket_errors",
        "seconds",
        "handled",
        "push_p95_ms",
        "peak_rss_mb",
    )
    text = ", ".join(
        f"{key}={result[key]:.1f}" if isinstance(result[key], float) else f"{key}={result[key]}"
        for key in keys
        if key in result
    )
    if result.get("cpu_ms"):
        text += f" [CPU: {cpu.brief(result['cpu_ms'])}]"
    return text


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(workload, measure, median, target, met) for the summary table."""
    out: list[tuple[str, str, str, str, str]] = []
    w0 = _median(results["W0"], "rps") if "W0" in results else None

    def share(value: float) -> str:
        return f" ({value / w0:.0%} of W0)" if w0 else ""

    if w0 is not None:
        p99 = _median(results["W0"], "p99_us") / 1000
        out.append(
            ("W0 bare insert", "req/s, p99", f"{w0:.0f}/s, p99 {p99:.0f} ms", "yardstick", "—")
        )
    if "W1" in results:
        rate = _median(results["W1"], "tickets_per_s")
        p99 = _median(results["W1"], "p99_us") / 1000
        worst = max(run["max_us"] for run in results["W1"]) / 1000
        ok = rate >= 500 and p99 < 100 and worst < 5000
        out.append(
            (
                "W1 WeChat intake",
                "tickets/s, p99, max",
                f"{rate:.0f}/s{share(rate)}, p99 {p99:.0f} ms, max {worst:.0f} ms",
                "≥ 500/s, p99 < 100 ms, < 5 s",
                "yes" if ok else "no",
            )
        )
    for key, label in (("W2_hotline", "W2 12345 dispatch"), ("W2_website", "W2 website API")):
        if key in results:
            rate = _median(results[key], "tickets_per_s")
            p99 = _median(results[key], "p99_us") / 1000
            out.append(
                (
                    label,
                    "tickets/s, p99",
                    f"{rate:.0f}/s{share(rate)}, p99 {p99:.0f} ms",
                    "≥ 400/s",
                    "yes" if rate >= 400 else "no",
                )
            )
    for key, label in (
        ("W3_first", "W3 inbox first page"),
        ("W3_filtered", "W3 inbox filtered"),
        ("W3_first_1", "W3 inbox first page, 1 client"),
        ("W3_filtered_1", "W3 inbox filtered, 1 client"),
        ("W3_search", "W3 inbox search (extra)"),
    ):
        if key in results:
            p50 = _median(results[key], "p50_us") / 1000
            p99 = _median(results[key], "p99_us") / 1000
            rate = _median(results[key], "rps")
            out.append(
                (
                    label,
                    "p50 / p99",
                    f"{p50:.1f} / {p99:.1f} ms ({rate:.0f} pages/s)",
                    "p99 < 50 ms",
                    "yes" if p99 < 50 else "no",
                )
            )
    if "W4" in results:
        seconds = _median(results["W4"], "seconds")
        handled = results["W4"][0]["handled"]
        out.append(
            (
                "W4 SLA sweep",
                "one pass",
                f"{seconds * 1000:.0f} ms ({handled} due handled)",
                "< 200 ms",
                "yes" if seconds < 0.2 else "no",
            )
        )
    if "W5" in results:
        seconds = _median(results["W5"], "seconds")
        out.append(
            (
                "W5 metrics, all breakdowns",
                "time",
                f"{seconds:.2f} s",
                "< 2 s",
                "yes" if seconds < 2 else "no",
            )
        )
    if "W6" in results:
        seconds = _median(results["W6"], "seconds")
        peak = _median(results["W6"], "peak_rss_mb")
        out.append(
            (
                "W6 monthly PDF",
                "time, peak RSS",
                f"{seconds:.1f} s, {peak:.0f} MB",
                "< 30 s, < 500 MB",
                "yes" if seconds < 30 and peak < 500 else "no",
            )
        )
    if "W7" in results:
        p95 = _median(results["W7"], "push_p95_ms")
        row = _median(results["W7"], "row_p95_ms")
        out.append(
            (
                "W7 live push",
                "p95",
                f"push {p95:.0f} ms, with row fetch {row:.0f} ms",
                "< 300 ms",
                "yes" if row < 300 else "no",
            )
        )
    return out


def summary_table(results: dict[str, Any]) -> str:
    lines = ["| workload | measure | median of runs | target | met |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    d = results["data"]
    s = results["settings"]
    parts = [
        "# Bench results",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}. Load generator (wrk, 2 threads, "
        f"{s['connections']} connections, {s['duration_s']} s per run) on the same machine; "
        f"server: scripts/serve.sh with {s['workers']} uvicorn workers + Celery worker + beat.",
        "",
        f"Data: {d['tickets']:,} tickets ({d['open']:,} open, {d['with_sla_clock']:,} with a "
        f"running SLA clock), {d['month_tickets']:,} received in {d['month']} (W5/W6), "
        f"~{d['events_approx']:,} events, {d['departments']} departments.",
        "",
        f"Each figure is the median of {s['runs']} runs; every run is in the JSON file beside "
        f"this one. Whole run: {results['elapsed_s']:.0f} s.",
        "",
        summary_table(results),
        "",
    ]
    cpu_rows = [
        f"| {key} | {cpu.brief(runs[len(runs) // 2]['cpu_ms'])} |"
        for key, runs in results.items()
        if isinstance(runs, list) and runs and isinstance(runs[0], dict) and runs[0].get("cpu_ms")
    ]
    if cpu_rows:
        parts += [
            "CPU per request by component (the middle run; `bench/cpu.py`): two cores give at "
            "most 2,000 ms of CPU per second, so 2,000 / total is the ceiling of this machine "
            "for that request mix.",
            "",
            "| workload | CPU per request |",
            "|---|---|",
            *cpu_rows,
            "",
        ]
    if "W4_plan" in results:
        parts += ["W4 claim query at this size:", "", "```", results["W4_plan"], "```", ""]
    parts.append("## All runs")
    parts.append("")
    for key, runs in results.items():
        if isinstance(runs, list):
            parts.append(f"- {key}: " + "; ".join(brief(run) for run in runs))
    return "\n".join(parts) + "\n"
