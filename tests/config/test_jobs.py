"""Background work: one list of jobs, run by Celery beat in production and by a thread in
the embedded default."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from config import jobs
from config.celery import app, run_job
from tickets.models import Ticket, TicketEvent


def test_beat_runs_the_sweep_every_30_seconds():
    schedule = app.conf.beat_schedule
    assert schedule["sla-sweep"]["task"] == "minsheng.run_job"
    assert schedule["sla-sweep"]["schedule"] == 30.0
    assert schedule["sla-sweep"]["args"] == ("sla-sweep",)


def test_the_celery_task_runs_the_real_sweep(make_ticket):
    ticket = make_ticket()
    received = timezone.now() - dt.timedelta(minutes=25)
    Ticket.objects.filter(pk=ticket.pk).update(
        received_at=received, sla_next_at=received + dt.timedelta(minutes=20)
    )
    result = run_job.apply(args=("sla-sweep",)).get()
    assert "ack_warning 1" in result
    assert TicketEvent.objects.filter(ticket=ticket, kind="sla_warning").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_sweeps_inside_the_process(make_ticket, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(jobs, "_started", threading.Event())
    monkeypatch.setattr(jobs, "JOBS", (jobs.Job("sla-sweep", 0.2, "sla.sweep.sweep_once"),))
    ticket = make_ticket()
    received = timezone.now() - dt.timedelta(minutes=21)
    Ticket.objects.filter(pk=ticket.pk).update(
        received_at=received, sla_next_at=received + dt.timedelta(minutes=20)
    )
    stop = threading.Event()
    thread = jobs.start_in_process(stop)
    assert thread is not None
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if TicketEvent.objects.filter(ticket=ticket, kind="sla_warning").exists():
                break
            time.sleep(0.1)
        assert TicketEvent.objects.filter(ticket=ticket, kind="sla_warning").count() == 1
    finally:
        stop.set()
        thread.join(timeout=5)
        connections.close_all()


def test_the_embedded_scheduler_stays_off_when_celery_runs_the_jobs(monkeypatch):
    monkeypatch.setenv("REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    monkeypatch.delenv("INPROCESS_JOBS", raising=False)
    monkeypatch.setattr(jobs, "_started", threading.Event())
    assert jobs.start_in_process(threading.Event()) is None
