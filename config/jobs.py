"""Periodic background jobs, defined once for both ways to run.

Production: Celery beat sends ``minsheng.run_job`` for each job on its interval and Celery
workers run it. Embedded default (``make run``): a daemon thread inside the one server process
runs the same functions on the same intervals, so nothing in the demo is a stub.

``JOBS`` are the project's own; a channel's polling jobs are its ``ChannelSpec.jobs``
(``jobs_all`` reads both, once the apps are loaded).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float
    target: str  # dotted path of a function taking no arguments

    def function(self) -> Callable[[], Any]:
        module, _, attr = self.target.rpartition(".")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


JOBS: tuple[Job, ...] = (
    Job("sla-sweep", 30.0, "sla.sweep.sweep_once"),
    Job("outbox", 5.0, "integrations.outbound.processor.outbox_process"),
    # What an outage left behind: spooled pushes and unanswered journal rows
    # (integrations/recovery.py). Idle, it is one indexed query.
    Job("inbound-recover", 30.0, "integrations.recovery.journal_recover"),
    # Channel media (WeChat/Weibo/12345/Open311 attachments): the outbox's media_download
    # rows in a pass of their own, so a slow download never delays a notice.
    Job("media-download", 10.0, "integrations.media.download.media_process"),
    # Monthly PDF report: from 01:00 on the 1st it queues last month's report if the archive has
    # none, and it generates queued reports (also those asked for on the dashboard, hence the
    # short interval: an idle run is two small queries). See dashboards/report.py.
    Job("monthly-report", 15.0, "dashboards.report.reports_run"),
    # Hot issues (热点): the last seven days' tickets clustered again every five minutes.
    Job("hotspots", 300.0, "tickets.hotspots.services.hotspots_refresh_job"),
    # Routing suggestions: the model is retrained once a night from 02:00 (an idle run is one
    # small query); a fresh installation trains at once. See tickets/suggest/services.py.
    Job("routing-train", 600.0, "tickets.suggest.services.routing_train_if_due"),
)


def jobs_all() -> tuple[Job, ...]:
    """The project's jobs and every registered channel's (``ChannelSpec.jobs``)."""
    from integrations.registry import channel_specs

    return (*JOBS, *(job for spec in channel_specs() for job in spec.jobs))


def job_run(name: str) -> Any:
    """Run one job now (Celery's Django fix-up manages the worker's DB connections)."""
    job = next(job for job in jobs_all() if job.name == name)
    return job.function()()


_started = threading.Event()


def start_in_process(stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the embedded scheduler once per process. Off when ``REDIS_URL`` is set (Celery
    beat runs the jobs then) unless ``INPROCESS_JOBS=1``."""
    default = "0" if os.environ.get("REDIS_URL") else "1"
    if os.environ.get("INPROCESS_JOBS", default) not in {"1", "true", "yes", "on"}:
        return None
    if _started.is_set():
        return None
    _started.set()
    stop = stop or threading.Event()

    def loop() -> None:
        from django.db import close_old_connections

        next_run: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for job in jobs_all():
                if now >= next_run.setdefault(job.name, 0.0):
                    next_run[job.name] = now + job.seconds
                    try:
                        result = job_run(job.name)
                        summary = getattr(result, "summary", None)
                        if callable(summary) and (
                            getattr(result, "handled", None) or getattr(result, "failed", None)
                        ):
                            logger.info("%s: %s", job.name, summary())
                    except Exception:
                        logger.exception("background job %s failed", job.name)
                    finally:
                        close_old_connections()
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="minsheng-jobs", daemon=True)
    thread.start()
    return thread
