"""The SLA sweep: warnings, breaches and reminders exactly once, cheap, robust."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from sla.sweep import sweep_once
from tests.conftest import CHINA, requires_postgres, run_together, walk
from tickets import services
from tickets.models import StaffNotification, Ticket, TicketEvent

ROOT = Path(__file__).resolve().parents[2]
# Tuesday 2026-05-12 10:00 in Shanghai: an ordinary working day.
T0 = dt.datetime(2026, 5, 12, 10, 0, tzinfo=CHINA)


def at(minutes: float = 0, *, days: int = 0, hours: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes)


def kinds(ticket: Ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", flat=True)
    )


def sweep_at(moment: dt.datetime):  # type: ignore[no-untyped-def]
    with time_machine.travel(moment, tick=False):
        return sweep_once()


@pytest.fixture
def fresh(make_ticket):  # type: ignore[no-untyped-def]
    with time_machine.travel(T0, tick=False):
        return make_ticket(request_type="consult")


def test_it_warns_at_20_minutes_and_breaches_at_30_exactly_once(fresh, cast):
    assert fresh.sla_next_kind == "ack_warning" and fresh.sla_next_at == at(20)
    assert sweep_at(at(19)).handled == {}
    report = sweep_at(at(20))
    assert report.handled == {"ack_warning": 1}
    assert sweep_at(at(25)).handled == {}
    report = sweep_at(at(30))
    assert report.handled == {"ack_breach": 1}
    sweep_at(at(31))
    ticket = Ticket.objects.get(pk=fresh.pk)
    assert kinds(ticket) == ["created", "sla_warning", "sla_breach"]
    assert ticket.supervised is True and ticket.ack_on_time is False
    breach = TicketEvent.objects.get(ticket=ticket, kind="sla_breach")
    assert breach.payload["clock"] == "ack"


def test_it_stamps_ack_on_time_false_for_good_after_a_breach(fresh, cast):
    sweep_at(at(20))
    sweep_at(at(30))
    with time_machine.travel(at(40), tick=False):
        services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=fresh.pk)
    ticket = Ticket.objects.get(pk=fresh.pk)
    assert ticket.ack_on_time is False
    assert ticket.sla_next_kind == "resolve_warning"


def test_it_catches_up_after_downtime_with_one_event_of_each_kind(fresh):
    report = sweep_at(at(45))
    assert report.handled == {"ack_warning": 1, "ack_breach": 1}
    assert kinds(Ticket.objects.get(pk=fresh.pk)) == ["created", "sla_warning", "sla_breach"]


def test_it_warns_on_the_due_date_and_breaches_after_the_deadline(fresh, cast, departments):
    with time_machine.travel(at(5), tick=False):
        ticket = walk(fresh, cast, departments, "in_progress")
    # consult: 2 working days after Tue 05-12 → Thu 05-14 23:59:59
    assert ticket.resolve_due_at == dt.datetime(2026, 5, 14, 23, 59, 59, tzinfo=CHINA)
    assert ticket.sla_next_kind == "resolve_warning"
    assert ticket.sla_next_at == dt.datetime(2026, 5, 14, 0, 0, tzinfo=CHINA)
    assert sweep_at(dt.datetime(2026, 5, 13, 23, 0, tzinfo=CHINA)).handled == {}
    assert sweep_at(dt.datetime(2026, 5, 14, 0, 0, tzinfo=CHINA)).handled == {"resolve_warning": 1}
    assert sweep_at(dt.datetime(2026, 5, 14, 23, 59, 59, tzinfo=CHINA)).handled == {
        "resolve_breach": 1
    }
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.supervised and ticket.resolved_on_time is None  # stamped at the first reply
    notified = set(
        StaffNotification.objects.filter(ticket=ticket, kind="sla_breach").values_list(
            "recipient__username", flat=True
        )
    )
    assert notified == {"handler_a", "supervisor_a"}


def test_it_reminds_at_nine_on_each_later_working_day_while_breached(fresh, cast, departments):
    with time_machine.travel(at(5), tick=False):
        ticket = walk(fresh, cast, departments, "in_progress")
    sweep_at(dt.datetime(2026, 5, 15, 0, 0, 1, tzinfo=CHINA))  # warning + breach
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.sla_next_kind == "reminder"
    # The deadline passed on Thu 05-14, so reminders go out at 09:00 on Fri 05-15, then Mon 05-18.
    assert ticket.sla_next_at == dt.datetime(2026, 5, 15, 9, 0, tzinfo=CHINA)
    assert sweep_at(dt.datetime(2026, 5, 15, 8, 59, tzinfo=CHINA)).handled == {}
    assert sweep_at(dt.datetime(2026, 5, 15, 9, 0, tzinfo=CHINA)).handled == {"reminder": 1}
    assert sweep_at(dt.datetime(2026, 5, 16, 9, 0, tzinfo=CHINA)).handled == {}  # Saturday
    assert sweep_at(dt.datetime(2026, 5, 18, 9, 0, tzinfo=CHINA)).handled == {"reminder": 1}
    assert sweep_at(dt.datetime(2026, 5, 18, 17, 0, tzinfo=CHINA)).handled == {}
    with time_machine.travel(dt.datetime(2026, 5, 18, 10, 0, tzinfo=CHINA), tick=False):
        services.ticket_reply(actor=cast["handler_a"], ticket_id=ticket.pk, content="已处理完毕。")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.sla_next_at is None
    assert sweep_at(dt.datetime(2026, 5, 20, 9, 0, tzinfo=CHINA)).handled == {}
    assert kinds(ticket).count("sla_reminder") == 2
    assert StaffNotification.objects.filter(ticket=ticket, kind="sla_reminder").exists()


def test_it_stops_the_clock_while_waiting_for_the_citizen(fresh, cast, departments):
    with time_machine.travel(at(5), tick=False):
        ticket = walk(fresh, cast, departments, "waiting_citizen")
    assert ticket.sla_next_at is None
    assert sweep_at(dt.datetime(2026, 5, 20, 9, 0, tzinfo=CHINA)).handled == {}


def test_it_skips_a_bad_ticket_and_goes_on(make_ticket, caplog):
    with time_machine.travel(T0, tick=False):
        bad = make_ticket()
        good = make_ticket()
    # Corrupt data (e.g. a hand-edited row) makes handling this ticket raise.
    Ticket.objects.filter(pk=bad.pk).update(resolve_basis={"start": "not a date"})
    report = sweep_at(at(21))
    assert report.failed == [bad.pk]
    assert report.handled == {"ack_warning": 1}
    assert "SLA sweep: ticket" in caplog.text
    assert kinds(Ticket.objects.get(pk=good.pk)) == ["created", "sla_warning"]
    assert kinds(Ticket.objects.get(pk=bad.pk)) == ["created"]


def test_the_command_runs_one_pass_and_prints_what_it_did(fresh, capsys):
    with time_machine.travel(at(21), tick=False):
        call_command("sla_sweep", "--once")
    assert "ack_warning 1" in capsys.readouterr().out
    with time_machine.travel(at(22), tick=False):
        call_command("sla_sweep", "--once")
    assert "没有到期的时限事件" in capsys.readouterr().out


def test_the_looping_command_stops_cleanly_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "MINSHENG_VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)  # its own SQLite file: the test database is not committed
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sla_sweep", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    started = ""
    for _ in range(50):  # log lines may come first; the handler is in place before this one
        started += process.stdout.readline()
        if "已启动" in started:
            break
    assert "已启动" in started, started
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=20)
    out = started + out
    assert process.returncode == 0, out
    assert "已停止" in out


@requires_postgres
def test_the_due_query_uses_the_partial_index(fresh):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM tickets_ticket WHERE sla_next_at <= now() "
            "ORDER BY sla_next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "ticket_sla_next" in plan, plan


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweepers_write_every_event_exactly_once(make_ticket):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket() for _ in range(40)]
    with time_machine.travel(at(31), tick=False):  # one clock for both threads
        reports = run_together(sweep_once, sweep_once)
    total = sum((report.handled for report in reports), start=type(reports[0].handled)())
    assert total == {"ack_warning": 40, "ack_breach": 40}
    for ticket in tickets:
        assert kinds(ticket) == ["created", "sla_warning", "sla_breach"]
