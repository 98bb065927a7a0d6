"""Celery app for production background work (SLA sweep, outbox, monthly report).

The embedded default runs the same job functions inside the server process instead; the
schedules live in code here so both modes share one list.
"""

from __future__ import annotations

import os

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
app.autodiscover_tasks()
