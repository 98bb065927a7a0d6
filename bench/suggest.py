"""Routing suggestions: held-back accuracy on the database's closed history, and how long one
suggestion takes. Runs on its own against ``DATABASE_URL`` (a database that is migrated):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minsheng_bench .venv/bin/python bench/suggest.py
    .venv/bin/python bench/suggest.py --bench-data 100000     # generate bench tickets first
    DEMO=1 .venv/bin/python bench/suggest.py --demo           # the demo district (empty database)

It trains a model (a new ``RoutingModel`` row, as the nightly job does) and times
``routing_suggest`` on open tickets: the first call in a fresh process (loading the weights from
the database; jieba's dictionary is loaded before, as a web worker would have it after its first
page), then warm calls. Nothing is sent anywhere; it only reads tickets and writes that row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # no SECRET_KEY needed for a command-line measurement

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from tickets.models import RoutingModel, State, Ticket  # noqa: E402
from tickets.suggest import selectors  # noqa: E402
from tickets.suggest.model import evaluate  # noqa: E402
from tickets.suggest.services import history_samples, routing_train  # noqa: E402
from tickets.tokens import words  # noqa: E402


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(*, runs: int) -> dict[str, Any]:
    samples = history_samples()
    started = time.perf_counter()
    accuracy = evaluate(samples)
    evaluated = time.perf_counter() - started
    started = time.perf_counter()
    trained = routing_train(force=True)
    training = time.perf_counter() - started
    model = RoutingModel.objects.filter(status=RoutingModel.Status.READY).order_by("-pk").first()
    probes = list(
        Ticket.objects.filter(state__in=[State.NEW, State.ACKNOWLEDGED]).order_by("-pk")[:200]
    ) or list(Ticket.objects.order_by("-pk")[:200])
    if model is None or not probes:
        return {"samples": len(samples), "status": trained.status, "accuracy": accuracy}
    words("预热分词词典")  # jieba's dictionary, as a worker has it after its first page
    selectors._loaded.update(pk=None, weights=None)
    started = time.perf_counter()
    selectors.routing_suggest(ticket=probes[0])
    cold = time.perf_counter() - started
    timings = []
    for index in range(runs):
        probe = probes[index % len(probes)]
        started = time.perf_counter()
        selectors.routing_suggest(ticket=probe)
        timings.append(time.perf_counter() - started)
    _row, weights = selectors.routing_model_current()
    assert weights is not None
    inference = []
    for index in range(runs):
        sample = selectors.sample_of(probes[index % len(probes)])
        started = time.perf_counter()
        weights.choices(sample, "department")
        weights.choices(sample, "category")
        inference.append(time.perf_counter() - started)
    return {
        "samples": len(samples),
        "departments": len({s.department for s in samples if s.department is not None}),
        "categories": len({s.category for s in samples if s.category is not None}),
        "accuracy_held_back": accuracy,
        "evaluate_s": round(evaluated, 1),
        "train_s": round(training, 1),
        "weights_bytes": len(bytes(model.weights)),
        "vocabulary": len(weights.vocabulary),
        "suggest_cold_ms": _ms(cold),
        "suggest_warm_ms": {
            "runs": runs,
            "p50": _ms(statistics.median(timings)),
            "p95": _ms(_percentile(timings, 0.95)),
            "p99": _ms(_percentile(timings, 0.99)),
            "max": _ms(max(timings)),
        },
        "model_only_ms": {
            "p50": _ms(statistics.median(inference)),
            "p95": _ms(_percentile(inference, 0.95)),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--bench-data", type=int, default=0, help="先生成这么多压测工单")
    parser.add_argument("--demo", action="store_true", help="先加载演示数据（需 DEMO=1）")
    parser.add_argument("--out", type=Path, help="结果另存为 JSON 文件")
    args = parser.parse_args()
    if args.demo:
        call_command("load_demo")
    if args.bench_data:
        call_command(
            "bench_data",
            tickets=args.bench_data,
            month_tickets=args.bench_data // 3,
            if_missing=True,
        )
    result = measure(runs=args.runs)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
