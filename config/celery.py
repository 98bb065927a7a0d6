"""Celery app for production background work (SLA sweep, and later the outbox and reports).

The schedules come from ``config.jobs.jobs_all()`` so the embedded default runs the same list.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("minsheng")
app.conf.update(
    broker_url=os.environ.get("REDIS_URL") or "memory://",
    result_backend=None,
    task_ignore_result=True,
    timezone="Asia/Shanghai",
    enable_utc=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


@app.task(name="minsheng.run_job")
def run_job(name: str) -> str:
    from config.jobs import job_run

    result: Any = job_run(name)
    summary = getattr(result, "summary", None)
    return summary() if callable(summary) else str(result)


def _beat_schedule() -> dict[str, dict[str, Any]]:
    from config.jobs import jobs_all

    return {
        job.name: {
            "task": "minsheng.run_job",
            "schedule": job.seconds,
            "args": (job.name,),
            "options": {"expires": job.seconds},
        }
        for job in jobs_all()
    }


class BeatSchedule(Mapping[str, dict[str, Any]]):
    """The schedule, read when beat asks for it: this module is loaded before Django is set
    up, and the channels' jobs (``ChannelSpec.jobs``) are known only once the apps are (beat
    sets Django up before it builds its scheduler)."""

    def __getitem__(self, name: str) -> dict[str, Any]:
        return _beat_schedule()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_beat_schedule())

    def __len__(self) -> int:
        return len(_beat_schedule())


app.conf.beat_schedule = BeatSchedule()
