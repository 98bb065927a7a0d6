"""CPU time per request, by component, for the HTTP workloads.

wrk, PostgreSQL, Redis, the ASGI workers and Celery share the two cores, so a throughput figure
alone does not say where the time goes. Around each wrk run the bench reads the CPU time
(user + system, from /proc) of every process of the machine, grouped by what it is, and divides
the difference by the number of requests: "app 3.1 ms, postgres 1.2 ms, wrk 0.2 ms" per request.
A machine where a request costs 5 ms of CPU in all serves at most 2 cores / 5 ms = 400/s.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = (
    ("uvicorn", "app"),
    ("celery", "celery"),
    ("postgres", "postgres"),
    ("redis-server", "redis"),
)


def _cmdline(pid: str) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _parent(pid: str) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]


def _group(pid: str) -> str | None:
    """The group of a process or of its nearest ancestor that has one (uvicorn's workers are
    spawned through multiprocessing, so their own command line does not say uvicorn)."""
    try:
        while pid not in ("0", "1"):
            cmdline = _cmdline(pid)
            for needle, name in GROUPS:
                if needle in cmdline:
                    return name
            pid = _parent(pid)
    except OSError:
        return None
    return "other"


def snapshot() -> dict[str, tuple[str, float]]:
    """CPU seconds used so far by every live process (pid -> (group, seconds)), and by the
    finished children of this process (wrk) under the key ``wrk``."""
    out: dict[str, tuple[str, float]] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = _group(pid)
        if group is None:
            continue
        # utime and stime are fields 14 and 15 of stat; after the ")" they are 12th and 13th.
        out[pid] = (group, (int(fields[11]) + int(fields[12])) / TICKS)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["wrk"] = ("wrk", children.ru_utime + children.ru_stime)
    return out


def per_request(
    before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]], requests: int
) -> dict[str, Any]:
    """Milliseconds of CPU per request by group: each process's own difference (a process
    that started during the run counts from zero; one that ended before its end is missed)."""
    if requests <= 0:
        return {}
    totals: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        start = before.get(pid, (group, 0.0))[1]
        totals[group] = totals.get(group, 0.0) + max(0.0, seconds - start)
    out: dict[str, Any] = {
        group: round(seconds * 1000 / requests, 2)
        for group, seconds in sorted(totals.items())
        if seconds > 0
    }
    out["total"] = round(sum(out.values()), 2)
    return out


def brief(cpu: dict[str, Any]) -> str:
    if not cpu:
        return ""
    return " + ".join(f"{group} {ms}" for group, ms in cpu.items() if group != "total") + (
        f" = {cpu['total']} ms CPU/request"
    )
