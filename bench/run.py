"""The bench runner: W4–W6 in process, then production mode (scripts/serve.sh) on loopback for
W0–W3 (wrk) and W7 (a websocket client), a median of ``--runs`` runs each, written as Markdown.

Run by ``make bench`` through bench/bench.sh, which prepares the database and the data first.
Every address it sends to is 127.0.0.1; it stops the server it started, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import cpu, report  # noqa: E402
from tickets.management.commands.bench_data import bench_prime_due, month_bounds  # noqa: E402

HOST = "127.0.0.1"
WECHAT = {
    "mode": "plain",
    "token": "bench-wechat-token",
    "app_id": "wx00000000bench001",
    "app_secret": "bench-wechat-secret",
    "encoding_aes_key": "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoYmU",
    "original_id": "gh_bench00000001",
}
HOTLINE_SECRET = "bench-hotline-secret"  # noqa: S105
# Outbound traffic (replies, callbacks) goes to a closed loopback port: it fails and is retried
# by the worker as in production, and nothing leaves the machine.
DEAD_END = "http://127.0.0.1:9"
TEXT = "和平街88号小区门口的路灯坏了一个星期了，晚上出行很不方便，请尽快修理。"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- setup -----------------------------------------------------------------------------------


def accounts_ensure() -> None:
    from integrations.accounts import channel_account_save
    from integrations.models import ChannelAccount

    channel_account_save(kind="wechat", slug="bench-wechat", values=dict(WECHAT))
    channel_account_save(
        kind="hotline",
        slug="bench-12345",
        values={"secret": HOTLINE_SECRET, "callback_base": f"{DEAD_END}/hotline"},
    )
    account = ChannelAccount.objects.get(slug="bench-wechat")
    account.config = {**account.config, "api_base": DEAD_END}
    account.save(update_fields=["config"])
    with connection.cursor() as cursor:
        from bench.urls import TABLE_SQL

        cursor.execute(TABLE_SQL)


def session_cookie(username: str = "bench-dispatcher") -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}"


# --- request files for wrk ------------------------------------------------------------------


def _line(method: str, path: str, headers: dict[str, str], body: str) -> str:
    hdrs = ";".join(f"{key}={value}" for key, value in headers.items())
    return f"{method}\t{path}\t{hdrs}\t{body}"


def wechat_line(tag: str, index: int, now: int) -> str:
    nonce = secrets.token_hex(8)
    signature = hashlib.sha1(  # noqa: S324
        "".join(sorted([WECHAT["token"], str(now), nonce])).encode()
    ).hexdigest()
    body = (
        f"<xml><ToUserName><![CDATA[{WECHAT['original_id']}]]></ToUserName>"
        f"<FromUserName><![CDATA[o-bench-{tag}-{index:07d}]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{TEXT}（{index}）]]></Content>"
        f"<MsgId>{random.randint(10**18, 9 * 10**18)}</MsgId></xml>"
    )
    path = f"/integrations/wechat/bench-wechat/?signature={signature}&timestamp={now}&nonce={nonce}"
    return _line("POST", path, {"Content-Type": "text/xml"}, body)


def hotline_line(tag: str, index: int, now: int) -> str:
    from integrations.hotline.signing import signed_headers

    order = {
        "event": "dispatch",
        "order_no": f"BENCH{tag}{index:07d}",
        "version": 1,
        "accepted_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
        "caller_name": "压测来电人",
        "caller_phone": f"138{index % 10**8:08d}",
        "confidential": False,
        "request_type": "complaint",
        "category_code": "",
        "title": "路灯损坏",
        "content": "来电人反映：" + TEXT,
        "address": "青山区",
        "district": "青山区",
        "urgency": "normal",
        "unit_code": "",
        "attachments": [],
    }
    body = json.dumps(order, ensure_ascii=False)
    headers = {"Content-Type": "application/json"}
    headers.update(signed_headers(HOTLINE_SECRET, body.encode(), now=now))
    return _line("POST", "/integrations/hotline/bench-12345/orders", headers, body)


def website_line(tag: str, index: int, now: int) -> str:
    body = json.dumps(
        {
            "name": "压测市民",
            "phone": f"139{index % 10**8:08d}",
            "title": "路灯损坏",
            "content": TEXT,
            "address": "青山区和平街",
            "idempotency_key": f"bench-{tag}-{index}",
        },
        ensure_ascii=False,
    )
    return _line("POST", "/api/v1/website/tickets/", {"Content-Type": "application/json"}, body)


def ping_line(tag: str, index: int, now: int) -> str:
    return _line("POST", "/bench/ping/", {"Content-Type": "text/plain"}, f"{tag}-{index}")


def get_lines(paths: list[str], cookie: str) -> Callable[[str, int, int], str]:
    def line(tag: str, index: int, now: int) -> str:
        return _line("GET", paths[index % len(paths)], {"Cookie": cookie}, "")

    return line


# --- running wrk ------------------------------------------------------------------------------


class Wrk:
    def __init__(self, *, port: int, duration: int, connections: int, threads: int) -> None:
        self.port = port
        self.duration = duration
        self.connections = connections
        self.threads = threads
        self.script = ROOT / "bench" / "wrk" / "replay.lua"

    def run(self, make_line: Callable[[str, int, int], str], *, count: int) -> dict[str, Any]:
        tag = secrets.token_hex(3)
        now = int(time.time())
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            for index in range(count):
                handle.write(make_line(tag, index, now) + "\n")
        try:
            command = [
                "wrk",
                f"-t{self.threads}",
                f"-c{self.connections}",
                f"-d{self.duration}s",
                "--timeout",
                "10s",
                "-s",
                str(self.script),
                f"http://{HOST}:{self.port}",
                "--",
                handle.name,
                str(self.threads),
            ]
            before = cpu.snapshot()
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
            after = cpu.snapshot()
        finally:
            os.unlink(handle.name)
        line = next(row for row in output.splitlines() if row.startswith("BENCH_JSON "))
        result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
        seconds = result["duration_us"] / 1e6
        result["rps"] = result["requests"] / seconds
        result["seconds"] = seconds
        result["sent_beyond_file"] = max(0, result["requests"] - count)
        result["cpu_ms"] = cpu.per_request(before, after, result["requests"])
        return result


def table_max(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cursor.fetchone()[0])


def intake_run(
    wrk: Wrk, make_line: Callable[[str, int, int], str], channel: str, count: int
) -> dict[str, Any]:
    """One intake run; also counts what landed: journal rows and tickets made in the window."""
    ticket_before = table_max("tickets_ticket")
    journal_before = table_max("integrations_inboundmessage")
    result = wrk.run(make_line, count=count)
    time.sleep(0.5)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM tickets_ticket WHERE id > %s AND channel = %s",
            [ticket_before, channel],
        )
        result["tickets"] = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT COUNT(*), COUNT(ticket_id) FROM integrations_inboundmessage "
            "WHERE id > %s AND channel = %s",
            [journal_before, channel],
        )
        journaled, linked = cursor.fetchone()
    result["journaled"] = int(journaled)
    result["journal_with_ticket"] = int(linked)
    result["tickets_per_s"] = result["tickets"] / result["seconds"]
    return result


# --- in-process workloads ---------------------------------------------------------------------


def w4_sweep() -> dict[str, Any]:
    from sla.sweep import sweep_once

    due = bench_prime_due()
    started = time.perf_counter()
    outcome = sweep_once()
    elapsed = time.perf_counter() - started
    return {"due": due, "handled": sum(outcome.handled.values()), "seconds": elapsed}


def w4_claim_plan() -> str:
    """EXPLAIN ANALYZE of the sweep's batch claim (its own query, BATCH_SIZE rows) at this size."""
    from sla.sweep import BATCH_SIZE, claim_queryset
    from tickets.services.sla_events import BATCH_READ_FIELDS

    bench_prime_due()
    queryset = claim_queryset(timezone.now(), set()).only(*BATCH_READ_FIELDS)[:BATCH_SIZE]
    with transaction.atomic(), connection.cursor() as cursor:
        sql, params = queryset.query.sql_with_params()
        cursor.execute("EXPLAIN ANALYZE " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def w5_metrics() -> dict[str, Any]:
    from dashboards import metrics
    from dashboards.values import Period

    start, _end = month_bounds(timezone.now())
    period = Period.month(start.year, start.month)
    as_of = timezone.now()
    started = time.perf_counter()
    found = metrics.figures_all(period=period, as_of=as_of, breakdowns=metrics.BREAKDOWNS)
    rows = {by: len(found.breakdown(by)) for by in metrics.BREAKDOWNS}
    return {
        "seconds": time.perf_counter() - started,
        "received": found.total.received,
        "groups": rows,
    }


W6_CHILD = """
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.utils import timezone
from dashboards.report import report_context, report_pdf
from dashboards.values import Period
from tickets.management.commands.bench_data import month_bounds
start, _ = month_bounds(timezone.now())
period = Period.month(start.year, start.month)
t0 = time.perf_counter()
context = report_context(period=period, as_of=timezone.now(), generated_by="压测")
t1 = time.perf_counter()
pdf = report_pdf(context)
t2 = time.perf_counter()
print(json.dumps({{"seconds": t2 - t0, "figures_s": t1 - t0, "pdf_s": t2 - t1, "bytes": len(pdf),
    "departments": len(context["departments"]),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def w6_report() -> dict[str, Any]:
    code = W6_CHILD.format(root=str(ROOT))
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


# --- W7: live push ----------------------------------------------------------------------------


async def _w7(port: int, cookie: str, samples: int) -> list[dict[str, float]]:
    import websockets

    out: list[dict[str, float]] = []
    async with websockets.connect(
        f"ws://{HOST}:{port}/ws/inbox/",
        additional_headers={"Cookie": cookie, "Origin": f"http://{HOST}:{port}"},
    ) as socket:
        for index in range(samples):
            line = wechat_line(f"w7{secrets.token_hex(2)}", index, int(time.time()))
            _method, path, _hdrs, body = line.split("\t", 3)
            request = urllib.request.Request(
                f"http://{HOST}:{port}{path}",
                data=body.encode(),
                headers={"Content-Type": "text/xml"},
                method="POST",
            )
            started = time.perf_counter()
            await asyncio.to_thread(lambda r=request: urllib.request.urlopen(r, timeout=10).read())  # noqa: S310
            answered = time.perf_counter()
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
                if message.get("type") == "ticket.changed" and message.get("kind") == "created":
                    break
            pushed = time.perf_counter()
            row = urllib.request.Request(
                f"http://{HOST}:{port}/inbox/rows/{message['ticket_id']}/",
                headers={"Cookie": cookie},
            )
            await asyncio.to_thread(lambda r=row: urllib.request.urlopen(r, timeout=10).read())  # noqa: S310
            shown = time.perf_counter()
            out.append(
                {
                    "answer_ms": (answered - started) * 1000,
                    "push_ms": (pushed - started) * 1000,
                    "row_ms": (shown - started) * 1000,
                }
            )
            await asyncio.sleep(0.05)
    return out


def w7_live(port: int, cookie: str, samples: int) -> dict[str, Any]:
    rows = asyncio.run(_w7(port, cookie, samples))
    push = sorted(row["push_ms"] for row in rows)
    shown = sorted(row["row_ms"] for row in rows)
    return {
        "samples": len(rows),
        "push_p50_ms": report.percentile(push, 50),
        "push_p95_ms": report.percentile(push, 95),
        "row_p95_ms": report.percentile(shown, 95),
    }


def sla_park() -> None:
    """Push every SLA event due within the hour (W4's tickets, earlier runs' intake) a month
    out, so Celery beat's sweep stays idle while the HTTP workloads run: they measure the
    request path, not a catch-up sweep that W4 measures on its own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET sla_next_at = now() + interval '30 days' "
            "WHERE sla_next_at <= now() + interval '1 hour'"
        )


# --- the server -------------------------------------------------------------------------------


def server_start(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PORT=str(port), HOST=HOST, WORKERS=str(workers), MINSHENG_BENCH="1")
    logfile = open(ROOT / "var" / "bench-server.log", "wb")
    process = subprocess.Popen(
        ["bash", "scripts/serve.sh"],  # noqa: S607
        cwd=ROOT,
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited; see var/bench-server.log")
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2).read()
            time.sleep(2)  # every worker up
            return process
        except OSError:
            time.sleep(0.5)
    server_stop(process)
    raise RuntimeError("server did not answer /healthz within 120 s")


def server_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- main -------------------------------------------------------------------------------------


def repeat(runs: int, label: str, run: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for index in range(runs):
        result = run()
        log(f"{label} run {index + 1}/{runs}: {report.brief(result)}")
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument(
        "--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "16"))
    )
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    started = time.monotonic()
    accounts_ensure()
    results: dict[str, Any] = {"machine": report.machine(), "data": report.data_size()}
    results["settings"] = {
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "runs": args.runs,
    }
    log(f"data: {results['data']}")
    if wanted("W4"):
        results["W4"] = repeat(args.runs, "W4 sweep", w4_sweep)
        results["W4_plan"] = w4_claim_plan()
    if wanted("W5"):
        results["W5"] = repeat(args.runs, "W5 metrics", w5_metrics)
    if wanted("W6"):
        results["W6"] = repeat(args.runs, "W6 report", w6_report)
    http = [name for name in ("W0", "W1", "W2", "W3", "W7") if wanted(name)]
    if http:
        sla_park()
        server = server_start(args.port, args.workers)
        try:
            wrk = Wrk(
                port=args.port, duration=args.duration, connections=args.connections, threads=2
            )
            budget = 2500 * args.duration  # more requests than the server can take in a run
            cookie = session_cookie()
            # Warm-up: every worker imports, connects and fills its caches once.
            warm = Wrk(port=args.port, duration=3, connections=args.connections, threads=2)
            warm.run(ping_line, count=5000)
            if wanted("W0"):
                results["W0"] = repeat(
                    args.runs, "W0 ping", lambda: wrk.run(ping_line, count=budget)
                )
            # Read-only and live workloads first, on a quiet server; then the intake load (whose
            # outbox retries and sweeps keep the worker busy afterwards).
            if wanted("W3"):
                # A few dispatchers paging at once, as fast as they can: latency, not capacity.
                paging = Wrk(port=args.port, duration=args.duration, connections=4, threads=2)
                first = get_lines(["/inbox/"], cookie)
                filtered = get_lines(report.filtered_paths(), cookie)
                results["W3_first"] = repeat(
                    args.runs, "W3 first page", lambda: paging.run(first, count=100)
                )
                results["W3_filtered"] = repeat(
                    args.runs, "W3 filtered", lambda: paging.run(filtered, count=100)
                )
                # One dispatcher at a time: the latency of a page on a machine that is not
                # saturated (the four clients above keep both cores busy, ~120 pages/s).
                alone = Wrk(port=args.port, duration=args.duration, connections=1, threads=1)
                results["W3_first_1"] = repeat(
                    args.runs, "W3 first page, 1 client", lambda: alone.run(first, count=100)
                )
                results["W3_filtered_1"] = repeat(
                    args.runs, "W3 filtered, 1 client", lambda: alone.run(filtered, count=100)
                )
                # Not a target of the issue: a dispatcher's Chinese search (a common and a rare
                # phrase), through the stored search document (tickets/migrations/0008).
                searched = get_lines(
                    [f"/inbox/?q={quote(term)}" for term in ("路灯", "小区", "水管")], cookie
                )
                results["W3_search"] = repeat(
                    args.runs, "W3 search", lambda: paging.run(searched, count=100)
                )
            if wanted("W7"):
                results["W7"] = repeat(args.runs, "W7 live", lambda: w7_live(args.port, cookie, 40))
            if wanted("W1") or wanted("W2"):
                warm.run(wechat_line, count=5000)
            if wanted("W1"):
                results["W1"] = repeat(
                    args.runs, "W1 wechat", lambda: intake_run(wrk, wechat_line, "wechat", budget)
                )
            if wanted("W2"):
                results["W2_hotline"] = repeat(
                    args.runs, "W2 12345", lambda: intake_run(wrk, hotline_line, "hotline", budget)
                )
                results["W2_website"] = repeat(
                    args.runs,
                    "W2 website",
                    lambda: intake_run(wrk, website_line, "website", budget),
                )
        finally:
            server_stop(server)
    results["elapsed_s"] = time.monotonic() - started
    results["peak_rss_runner_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = Path(args.out or ROOT / "bench" / "results" / f"{time.strftime('%Y-%m-%d')}.md")
    out.write_text(report.markdown(results), encoding="utf-8")
    (out.with_suffix(".json")).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    log(f"wrote {out} ({results['elapsed_s']:.0f} s)")
    print(report.summary_table(results))


if __name__ == "__main__":
    main()
