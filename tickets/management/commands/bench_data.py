"""Fill the database with a city's worth of tickets for ``make bench`` (PostgreSQL: COPY).

``python manage.py bench_data --tickets 1000000`` writes departments (a tree of ``--departments``
nodes), categories, two staff users, then tickets spread over thirteen months (``--month-tickets``
of them in the last full month, the one the metrics and PDF workloads read), in every state with
the stamps that state implies (acknowledged, replied, closed, on-time flags), their timeline
events and some feedback. ``--due`` open tickets are due for the SLA sweep; ``bench_prime_due``
below makes them due again before each timed pass. Bench tickets have case numbers ``BN…`` that
the real numbering (``YYYYMMDDnnnnnn``) never produces, so they are easy to tell apart and
``--reset`` removes exactly them. On SQLite (tests) the same rows go in with ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from sla.clock import CHINA
from tickets.models import (
    Category,
    Department,
    Feedback,
    Role,
    StaffProfile,
    Ticket,
    TicketEvent,
)

PREFIX = "BN"
DUE_MARK = "bench-due"
BENCH_USERS = {"bench-dispatcher": Role.DISPATCHER, "bench-leader": Role.LEADERSHIP}
from bench.mix import CHANNELS, CURRENT_MIX, MONTH_MIX, OLD_MIX, TEXTS, TYPES  # noqa: E402

OPEN = {"new", "acknowledged", "assigned", "in_progress", "waiting_citizen"}
ACKED = OPEN - {"new"} | {"replied", "closed"}
DISPATCHED = {"assigned", "in_progress", "waiting_citizen", "replied", "closed"}
REPLIED = {"replied", "closed"}
TICKET_COLUMNS = (
    "id case_no query_code channel channel_account request_type urgency category_id "
    "department_id title content address state received_at ack_due_at acknowledged_at "
    "ack_on_time resolve_due_at resolve_unit calendar_confirmed first_replied_at "
    "resolved_on_time replied_at closed_at supervised resolve_basis ack_warned ack_breached "
    "resolve_warned resolve_breached sla_next_at sla_next_kind confidential reopen_count "
    "external_ref version created_at updated_at"
).split()
EVENT_COLUMNS = "ticket_id kind actor_label from_state to_state payload created_at".split()
FEEDBACK_COLUMNS = "ticket_id satisfaction resolved comment channel cycle created_at".split()


def _chooser(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    values = [value for value, _ in weighted]
    weights = [weight for _, weight in weighted]

    def choose() -> Any:
        return rng.choices(values, weights)[0]

    return choose


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The last full calendar month (Asia/Shanghai): what W5 and W6 read."""
    local = now.astimezone(CHINA)
    this_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous = (this_month - dt.timedelta(days=1)).replace(day=1)
    return previous, this_month


def _departments(count: int) -> list[int]:
    """A tree: districts, bureaus under them, sections under the bureaus."""
    existing = list(Department.objects.filter(code__startswith="bn-").values_list("pk", flat=True))
    if len(existing) >= count:
        return existing[:count]
    Department.objects.filter(code__startswith="bn-", tickets__isnull=True).delete()
    districts = max(1, count // 20)
    made: list[Department] = []
    for index in range(districts):
        made.append(
            Department.objects.create(
                code=f"bn-d{index:03d}", name=f"第{index + 1}区", level=Department.Level.DISTRICT
            )
        )
    index = 0
    while len(made) < count:
        parent = made[index % len(made)]
        level = (
            Department.Level.BUREAU
            if parent.level == Department.Level.DISTRICT
            else Department.Level.SECTION
        )
        made.append(
            Department.objects.create(
                code=f"bn-{len(made):04d}",
                name=f"{parent.name}{'局' if level == Department.Level.BUREAU else '科'}{len(made)}",
                level=level,
                parent=parent,
            )
        )
        index += 1
    return [department.pk for department in made]


def _categories(departments: list[int]) -> list[int]:
    ids = list(Category.objects.filter(code__startswith="bn-").values_list("pk", flat=True))
    if ids:
        return ids
    for index, (title, _text) in enumerate(TEXTS * 4):
        category = Category.objects.create(
            code=f"bn-c{index:02d}",
            name=f"{title}{index // len(TEXTS) + 1}",
            default_department_id=departments[index % len(departments)],
        )
        ids.append(category.pk)
    return ids


def _users() -> None:
    for username, role in BENCH_USERS.items():
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": "压测", "is_staff": False}
        )
        user.set_password("bench-password")
        user.save()
        StaffProfile.objects.update_or_create(user=user, defaults={"role": role})


def _ts(value: dt.datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def _flag(value: bool | None) -> str:
    return "\\N" if value is None else ("t" if value else "f")


class Generator:
    """Rows for tickets, events and feedback, as tab-separated COPY text."""

    def __init__(
        self, *, seed: int, now: dt.datetime, departments: list[int], categories: list[int]
    ):
        self.rng = random.Random(seed)
        self.now = now
        self.departments = departments
        self.categories = categories
        self.channel = _chooser(self.rng, CHANNELS)
        self.request_type = _chooser(self.rng, TYPES)
        self.mixes = {
            "old": _chooser(self.rng, OLD_MIX),
            "month": _chooser(self.rng, MONTH_MIX),
            "current": _chooser(self.rng, CURRENT_MIX),
        }
        # A few departments get most of the work, as in any city.
        self.department_weights = [1.0 / (1 + index % 50) for index in range(len(departments))]

    def ticket(
        self, pk: int, received: dt.datetime, era: str, due: bool
    ) -> tuple[str, list[str], str | None]:
        rng = self.rng
        state = "new" if due else str(self.mixes[era]())
        title, text = TEXTS[pk % len(TEXTS)]
        channel = str(self.channel())
        acked_at = received + dt.timedelta(minutes=rng.uniform(1, 45)) if state in ACKED else None
        ack_due = received + dt.timedelta(minutes=30)
        resolve_due = received + dt.timedelta(days=rng.choice((3, 5, 7, 10, 15)))
        department = (
            rng.choices(self.departments, self.department_weights)[0]
            if state in DISPATCHED or (state == "acknowledged" and rng.random() < 0.3)
            else None
        )
        replied_at = (
            acked_at + dt.timedelta(hours=rng.uniform(2, 24 * 14))
            if state in REPLIED and acked_at is not None
            else None
        )
        closed_at = (
            replied_at + dt.timedelta(days=rng.uniform(1, 7))
            if state == "closed" and replied_at is not None
            else None
        )
        if closed_at is not None and closed_at > self.now:
            closed_at = self.now
        if replied_at is not None and replied_at > self.now:
            replied_at = self.now - dt.timedelta(minutes=1)
        sla_next_at: dt.datetime | None = None
        sla_kind = ""
        if due:
            received = self.now - dt.timedelta(minutes=25)
            ack_due = received + dt.timedelta(minutes=30)
            sla_next_at, sla_kind = received + dt.timedelta(minutes=20), "ack_warning"
        elif state in OPEN:
            sla_next_at = self.now + dt.timedelta(days=rng.uniform(1, 60))
            sla_kind = "resolve_warning" if state != "new" else "ack_breach"
        breached = state in OPEN and resolve_due < self.now
        row = [
            str(pk),
            f"{PREFIX}{pk:012d}",
            f"bench{pk:x}",
            channel,
            DUE_MARK if due else "",
            str(self.request_type()),
            "urgent" if rng.random() < 0.05 else "normal",
            str(self.categories[pk % len(self.categories)]),
            "\\N" if department is None else str(department),
            title,
            text,
            "青山区和平街",
            state,
            _ts(received),
            _ts(ack_due),
            _ts(acked_at),
            _flag(None if acked_at is None else acked_at <= ack_due),
            _ts(resolve_due),
            "working_days",
            "t",
            _ts(replied_at),
            _flag(None if replied_at is None else replied_at <= resolve_due),
            _ts(replied_at),
            _ts(closed_at),
            _flag(breached),
            "{}",
            _flag(False),
            _flag(state == "new" and ack_due < self.now and not due),
            _flag(breached),
            _flag(breached),
            _ts(sla_next_at),
            sla_kind,
            "f",
            "0",
            "",
            "1",
            _ts(received),
            _ts(closed_at or replied_at or acked_at or received),
        ]
        events = [self._event(pk, "created", "市民", "", "new", received)]
        if acked_at is not None:
            events.append(self._event(pk, "acknowledge", "受理员", "new", "acknowledged", acked_at))
        if state in DISPATCHED and acked_at is not None:
            assigned = acked_at + dt.timedelta(minutes=5)
            events.append(self._event(pk, "assign", "受理员", "acknowledged", "assigned", assigned))
        if replied_at is not None:
            events.append(self._event(pk, "reply", "承办人", "in_progress", "replied", replied_at))
        if closed_at is not None:
            events.append(self._event(pk, "close", "系统", "replied", "closed", closed_at))
        if state in ("merged", "invalid"):
            events.append(self._event(pk, state, "受理员", "new", state, received))
        feedback = None
        if closed_at is not None and rng.random() < 0.4:
            satisfaction = rng.choices(
                ["satisfied", "basically_satisfied", "unsatisfied"], [70, 20, 10]
            )[0]
            feedback = "\t".join(
                [
                    str(pk),
                    satisfaction,
                    _flag(satisfaction != "unsatisfied"),
                    "",
                    channel,
                    "0",
                    _ts(closed_at),
                ]
            )
        return "\t".join(row), events, feedback

    def _event(self, pk: int, kind: str, label: str, src: str, dst: str, at: dt.datetime) -> str:
        return "\t".join([str(pk), kind, label, src, dst, "{}", _ts(at)])


def _eras(
    total: int, month_tickets: int, now: dt.datetime
) -> Iterator[tuple[str, dt.datetime, dt.datetime, int]]:
    """(era, start, end, count): 300k in the last full month, the rest over eleven older
    months and the current month so far."""
    month_start, month_end = month_bounds(now)
    month_tickets = min(month_tickets, total)
    rest = total - month_tickets
    current = rest // 8
    older = rest - current
    yield "current", month_end, now, current
    yield "month", month_start, month_end, month_tickets
    start = month_start
    per_month, extra = divmod(older, 11)
    for index in range(11):
        end = start
        start = (start - dt.timedelta(days=1)).replace(day=1)
        yield "old", start, end, per_month + (1 if index < extra else 0)


class Command(BaseCommand):
    help = "压测数据：批量写入工单、事件与回访（PostgreSQL 用 COPY）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--month-tickets", type=int, default=300_000)
        parser.add_argument("--departments", type=int, default=200)
        parser.add_argument("--due", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=12345)
        parser.add_argument(
            "--if-missing", action="store_true", help="已有同样数量的压测工单时跳过"
        )
        parser.add_argument("--reset", action="store_true", help="先删除已有的压测工单")

    def handle(self, *args: Any, **options: Any) -> None:
        total: int = options["tickets"]
        existing = Ticket.objects.filter(case_no__startswith=PREFIX).count()
        if options["if_missing"] and existing == total:
            self.stdout.write(f"已有 {existing} 张压测工单，跳过生成。")
            return
        started = time.monotonic()
        if existing or options["reset"]:
            bench_reset()
        departments = _departments(options["departments"])
        categories = _categories(departments)
        _users()
        now = timezone.now()
        generator = Generator(
            seed=options["seed"], now=now, departments=departments, categories=categories
        )
        first = (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        written = bench_write(
            generator,
            first=first,
            total=total,
            month_tickets=options["month_tickets"],
            due=min(options["due"], total),
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), "
                    "(SELECT MAX(id) FROM tickets_ticket))"
                )
                # VACUUM sets the visibility map (index-only scans); it cannot run in a
                # transaction (tests), where ANALYZE alone does.
                command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                for table in ("tickets_ticket", "tickets_ticketevent", "tickets_feedback"):
                    cursor.execute(f"{command} {table}")
        self.stdout.write(
            f"写入 {written[0]} 张工单、{written[1]} 条事件、{written[2]} 条回访，"
            f"用时 {time.monotonic() - started:.1f} 秒。"
        )


def bench_reset() -> None:
    """Remove the bench tickets (and their events, feedback, notifications, hot-issue
    memberships and lead links) with plain SQL."""
    with connection.cursor() as cursor:
        ids = "SELECT id FROM tickets_ticket WHERE case_no LIKE 'BN%%'"
        for table in (
            "tickets_ticketevent",
            "tickets_feedback",
            "tickets_staffnotification",
            "tickets_reply",
            "tickets_hotissuemember",
            "tickets_caselink",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE ticket_id IN ({ids})")
        # The hot-issue snapshot and lead links may point at bench tickets too.
        cursor.execute(f"DELETE FROM tickets_caselink WHERE lead_id IN ({ids})")
        cursor.execute(f"UPDATE tickets_hotissue SET lead_id = NULL WHERE lead_id IN ({ids})")
        cursor.execute("DELETE FROM tickets_ticket WHERE case_no LIKE 'BN%%'")


def bench_write(
    generator: Generator, *, first: int, total: int, month_tickets: int, due: int
) -> tuple[int, int, int]:
    counts = [0, 0, 0]
    pk = first
    chunk = 50_000
    due_left = due
    for era, start, end, count in _eras(total, month_tickets, generator.now):
        span = max((end - start).total_seconds(), 1.0)
        done = 0
        while done < count:
            size = min(chunk, count - done)
            tickets, events, feedback = io.StringIO(), io.StringIO(), io.StringIO()
            for _ in range(size):
                received = start + dt.timedelta(seconds=generator.rng.uniform(0, span))
                is_due = era == "current" and due_left > 0
                due_left -= int(is_due)
                row, ticket_events, rating = generator.ticket(pk, received, era, is_due)
                tickets.write(row + "\n")
                for line in ticket_events:
                    events.write(line + "\n")
                counts[1] += len(ticket_events)
                if rating is not None:
                    feedback.write(rating + "\n")
                    counts[2] += 1
                pk += 1
            _load(tickets.getvalue(), events.getvalue(), feedback.getvalue())
            done += size
            counts[0] += size
    return counts[0], counts[1], counts[2]


def _load(tickets: str, events: str, feedback: str) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table, columns, text in (
                    ("tickets_ticket", TICKET_COLUMNS, tickets),
                    ("tickets_ticketevent", EVENT_COLUMNS, events),
                    ("tickets_feedback", FEEDBACK_COLUMNS, feedback),
                ):
                    if text:
                        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                        with cursor.cursor.copy(sql) as copy:  # type: ignore[attr-defined]
                            copy.write(text)
            return
        Ticket.objects.bulk_create(_objects(Ticket, TICKET_COLUMNS, tickets))
        TicketEvent.objects.bulk_create(_objects(TicketEvent, EVENT_COLUMNS, events))
        Feedback.objects.bulk_create(_objects(Feedback, FEEDBACK_COLUMNS, feedback))


def _objects(model: Any, columns: list[str], text: str) -> list[Any]:
    """COPY text back into model instances (the SQLite path, for small sizes and tests)."""
    objects = []
    fields = {field.attname: field for field in model._meta.concrete_fields}
    for line in text.splitlines():
        values: dict[str, Any] = {}
        for column, raw in zip(columns, line.split("\t"), strict=True):
            field = fields[column]
            if raw == "\\N":
                values[column] = None
            elif field.get_internal_type() == "JSONField":
                values[column] = json.loads(raw)
            elif field.get_internal_type() == "BooleanField":
                values[column] = raw == "t"
            elif field.get_internal_type() == "DateTimeField":
                values[column] = dt.datetime.fromisoformat(raw)
            else:
                values[column] = field.to_python(raw)
        objects.append(model(**values))
    return objects


def bench_prime_due(*, now: dt.datetime | None = None) -> int:
    """Make exactly the bench's due tickets due for the sweep again (raw SQL: a bench reset,
    not a ticket change), and push any other bench ticket that became due meanwhile into the
    future. Returns how many are due."""
    now = now or timezone.now()
    received = now - dt.timedelta(minutes=25)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET sla_next_at = %s WHERE sla_next_at <= %s "
            "AND case_no LIKE 'BN%%' AND channel_account <> %s",
            [now + dt.timedelta(days=30), now + dt.timedelta(hours=1), DUE_MARK],
        )
        cursor.execute(
            "UPDATE tickets_ticket SET received_at = %s, ack_due_at = %s, ack_warned = false, "
            "ack_breached = false, sla_next_at = %s, sla_next_kind = 'ack_warning', "
            "last_reminder_at = NULL WHERE channel_account = %s AND case_no LIKE 'BN%%'",
            [
                received,
                received + dt.timedelta(minutes=30),
                received + dt.timedelta(minutes=20),
                DUE_MARK,
            ],
        )
        return int(cursor.rowcount)
