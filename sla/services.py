"""Reading the working calendar and SLA policies from the database for the pure clock.

Both tables are tiny and change rarely (an administrator edits a policy, a year's holiday
schedule is imported), while every intake, transition and sweep step needs them. So the process
keeps one snapshot of both (``_reference``), tagged with a version kept in the Django cache (Redis
in production, shared by every process): every write to ``SlaPolicy``, ``WorkingDay`` or
``CalendarYear`` puts a new version there once it commits (signals below, and
``calendar_replace_years``, whose bulk writes send none), and a reader whose snapshot carries
another version loads a new one. A change takes effect at once in the writing process and with the
next read in every other; inside the writing transaction, before it commits, reads go to the
database. A process-local cache (locmem) cannot tell one process of another's change (the
embedded default's ``calendar_import`` command runs beside the server), so there the snapshot is
not kept and every read goes to the database, which is a local SQLite file there.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from sla import clock
from sla.models import CalendarYear, SlaPolicy, WorkingDay

logger = logging.getLogger(__name__)

# Generous: the longest limit (15 working days + 10 of extension) across the longest holiday.
CALENDAR_WINDOW_DAYS = 400
DEFAULT_POLICY = clock.Policy(unit=clock.WORKING_DAYS, amount=10, counting=clock.NEXT_DAY)
DEFAULT_REDO_POLICY = clock.Policy(unit=clock.WORKING_DAYS, amount=5, counting=clock.NEXT_DAY)

REFERENCE_VERSION_KEY = "sla:reference-version"
# None: keep the snapshot when the default cache is shared between processes (not locmem or
# dummy). Tests may set True to exercise the snapshot on a process-local cache.
REFERENCE_SNAPSHOT: bool | None = None
_LOCAL_BACKENDS = ("LocMemCache", "DummyCache")
_CALENDAR_MEMO_SIZE = 64


@dataclass(frozen=True)
class _PolicyRow:
    kind: str
    request_type: str
    urgency: str
    category_id: int | None
    policy: clock.Policy


def _policy_rows() -> tuple[_PolicyRow, ...]:
    rows = SlaPolicy.objects.filter(active=True).order_by("kind", "request_type", "urgency", "pk")
    return tuple(
        _PolicyRow(
            kind=row.kind,
            request_type=row.request_type,
            urgency=row.urgency,
            category_id=row.category_id,
            policy=row.as_policy(),
        )
        for row in rows
    )


class _Direct:
    """The tables read as they are, each time (no snapshot)."""

    @property
    def policies(self) -> tuple[_PolicyRow, ...]:
        return _policy_rows()

    def calendar(self, start: dt.date, days: int) -> clock.WorkCalendar:
        end = start + dt.timedelta(days=days)
        overrides = WorkingDay.objects.filter(date__gte=start, date__lte=end).values_list(
            "date", "is_workday"
        )
        years = CalendarYear.objects.values_list("year", flat=True)
        return clock.calendar_from_rows(overrides, years)


@dataclass
class _Snapshot:
    """Active policies, every calendar exception (sorted by date) and the covered years."""

    version: str
    policies: tuple[_PolicyRow, ...]
    overrides: tuple[tuple[dt.date, bool], ...]
    years: frozenset[int]
    calendars: dict[tuple[dt.date, int], clock.WorkCalendar] = field(default_factory=dict)

    def calendar(self, start: dt.date, days: int) -> clock.WorkCalendar:
        key = (start, days)
        found = self.calendars.get(key)
        if found is None:
            dates = [day for day, _work in self.overrides]
            low = bisect.bisect_left(dates, start)
            high = bisect.bisect_right(dates, start + dt.timedelta(days=days))
            found = clock.calendar_from_rows(self.overrides[low:high], self.years)
            if len(self.calendars) >= _CALENDAR_MEMO_SIZE:
                self.calendars.clear()
            self.calendars[key] = found
        return found


_Reference = _Direct | _Snapshot
_snapshot: _Snapshot | None = None
_pending = threading.local()  # .write: the _Write of this thread's uncommitted changes


class _Write:
    """Uncommitted changes to the reference tables in one transaction (``block`` is its
    outermost atomic block, None in autocommit)."""

    __slots__ = ("block", "published")

    def __init__(self, block: Any) -> None:
        self.block = block
        self.published = False


def _load(version: str) -> _Snapshot:
    return _Snapshot(
        version=version,
        policies=_policy_rows(),
        overrides=tuple(WorkingDay.objects.order_by("date").values_list("date", "is_workday")),
        years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
    )


def _snapshot_enabled() -> bool:
    if REFERENCE_SNAPSHOT is not None:
        return REFERENCE_SNAPSHOT
    backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    return not backend.endswith(_LOCAL_BACKENDS)


def _writing_here() -> bool:
    """True inside a transaction that has changed the reference tables and not committed."""
    write: _Write | None = getattr(_pending, "write", None)
    if write is None or write.published:
        return False
    connection = transaction.get_connection()
    return bool(connection.in_atomic_block and connection.atomic_blocks[0] is write.block)


def _current_version() -> str:
    version = cache.get(REFERENCE_VERSION_KEY)
    if version is None:
        cache.add(REFERENCE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(REFERENCE_VERSION_KEY)
    if version is None:
        raise LookupError("the cache keeps no version")
    return str(version)


def _reference() -> _Reference:
    """The policies and the calendar: the process's snapshot while the shared version still
    names it (one cache read), else a fresh load."""
    global _snapshot
    if not _snapshot_enabled() or _writing_here():
        return _Direct()
    try:
        version = _current_version()
    except Exception:  # the cache being down must not stop intake: read the database
        logger.warning("sla reference version unavailable", exc_info=True)
        # A change published while the cache was away may never reach us: start afresh.
        _snapshot = None
        return _Direct()
    snapshot = _snapshot
    if snapshot is not None and snapshot.version == version:
        return snapshot
    # Loaded after the version was read: never older than the version it is kept under.
    snapshot = _load(version)
    _snapshot = snapshot
    return snapshot


def _publish(write: _Write) -> None:
    global _snapshot
    if write.published:
        return
    write.published = True
    if getattr(_pending, "write", None) is write:
        _pending.write = None
    _snapshot = None
    try:
        cache.set(REFERENCE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.exception("sla reference version could not be renewed: other processes keep theirs")


def reference_changed() -> None:
    """Note a write to the SLA policies or the working calendar: reads in this transaction go
    to the database, and every process reloads once it commits."""
    connection = transaction.get_connection()
    block = connection.atomic_blocks[0] if connection.in_atomic_block else None
    write: _Write | None = getattr(_pending, "write", None)
    if write is None or write.published or write.block is not block:
        write = _Write(block)
        _pending.write = write
    # One callback per write: a callback registered inside a savepoint that rolls back is
    # dropped, a later one still publishes. The first to run publishes, the others do nothing.
    transaction.on_commit(lambda: _publish(write))


def _on_reference_write(sender: Any, **kwargs: Any) -> None:
    reference_changed()


def _on_migrate(sender: Any, **kwargs: Any) -> None:
    # A flush (tests) or a data migration may change the tables without model signals.
    if getattr(sender, "label", None) == "sla":
        _publish(_Write(None))


for _model in (SlaPolicy, WorkingDay, CalendarYear):
    post_save.connect(_on_reference_write, sender=_model, dispatch_uid=f"sla-ref-save-{_model}")
    post_delete.connect(_on_reference_write, sender=_model, dispatch_uid=f"sla-ref-delete-{_model}")
post_migrate.connect(_on_migrate, dispatch_uid="sla-ref-migrate")


def calendar_load(*, start: dt.date, days: int = CALENDAR_WINDOW_DAYS) -> clock.WorkCalendar:
    """The calendar from ``start`` on: the exceptions in the window and the covered years."""
    return _reference().calendar(start, days)


def calendar_uncovered_days(*, today: dt.date, horizon_days: int | None = None) -> list[dt.date]:
    """First days of each uncovered year within the horizon (empty when all is covered)."""
    horizon = horizon_days or settings.MINSHENG["CALENDAR_HORIZON_DAYS"]
    covered = set(CalendarYear.objects.values_list("year", flat=True))
    last = today + dt.timedelta(days=horizon)
    missing = []
    for year in range(today.year, last.year + 1):
        if year not in covered:
            missing.append(max(dt.date(year, 1, 1), today))
    return missing


@dataclass(frozen=True)
class Deadlines:
    ack_due_at: dt.datetime
    resolve_due_at: dt.datetime
    resolve_unit: str
    calendar_confirmed: bool
    policy: clock.Policy = DEFAULT_POLICY


def policy_select(
    *, request_type: str, urgency: str, category_id: int | None, kind: str = "resolution"
) -> clock.Policy:
    """The most specific active policy: urgency match, then category, then request type."""
    return _policy_from(
        _reference(),
        request_type=request_type,
        urgency=urgency,
        category_id=category_id,
        kind=kind,
    )


def _policy_from(
    reference: _Reference, *, request_type: str, urgency: str, category_id: int | None, kind: str
) -> clock.Policy:
    best: _PolicyRow | None = None
    best_score = (-1, -1, -1)
    for row in reference.policies:
        if (
            row.kind != kind
            or row.request_type not in ("", request_type)
            or row.urgency not in ("", urgency)
            or (row.category_id is not None and row.category_id != category_id)
        ):
            continue
        score = (
            int(row.urgency != ""),
            int(row.category_id is not None),
            int(row.request_type != ""),
        )
        if score > best_score:
            best, best_score = row, score
    if best is None:
        return DEFAULT_REDO_POLICY if kind == SlaPolicy.Kind.REDO else DEFAULT_POLICY
    return best.policy


def deadlines_compute(
    *,
    received_at: dt.datetime,
    request_type: str,
    urgency: str,
    category_id: int | None,
) -> Deadlines:
    reference = _reference()
    policy = _policy_from(
        reference,
        request_type=request_type,
        urgency=urgency,
        category_id=category_id,
        kind=SlaPolicy.Kind.RESOLUTION,
    )
    calendar = reference.calendar(clock.local_date(received_at), CALENDAR_WINDOW_DAYS)
    due = clock.resolve_due(received_at, policy, calendar)
    return Deadlines(
        ack_due_at=clock.ack_due(received_at, settings.MINSHENG["ACK_MINUTES"]),
        resolve_due_at=due.at,
        resolve_unit=policy.unit,
        calendar_confirmed=due.confirmed,
        policy=policy,
    )


def redo_deadline(*, reopened_at: dt.datetime, category_id: int | None) -> clock.Deadline:
    return redo_deadline_and_policy(reopened_at=reopened_at, category_id=category_id)[0]


def redo_deadline_and_policy(
    *, reopened_at: dt.datetime, category_id: int | None
) -> tuple[clock.Deadline, clock.Policy]:
    """重办: 5 working days from the reopen by default (a category's redo policy wins)."""
    reference = _reference()
    policy = _policy_from(
        reference, request_type="", urgency="", category_id=category_id, kind=SlaPolicy.Kind.REDO
    )
    calendar = reference.calendar(clock.local_date(reopened_at), CALENDAR_WINDOW_DAYS)
    return clock.resolve_due(reopened_at, policy, calendar), policy


def deadline_shift(*, deadline: dt.datetime, days: int) -> clock.Deadline:
    calendar = calendar_load(start=clock.local_date(deadline))
    return clock.shift_deadline(deadline, days, calendar)


def pause_apply(
    *, deadline: dt.datetime, paused_at: dt.datetime, resumed_at: dt.datetime
) -> tuple[clock.Deadline, int]:
    calendar = calendar_load(start=clock.local_date(min(paused_at, deadline)))
    return clock.pause_shift(deadline, paused_at, resumed_at, calendar)


def calendar_replace_years(*, entries: list[Any], source: str) -> list[int]:
    """Replace the exceptions of every year in ``entries`` with them and mark those years as
    covered. Entries that match the plain rule are dropped (the table holds exceptions only).
    Returns the years written."""
    years = sorted({entry.date.year for entry in entries})
    with transaction.atomic():
        for year in years:
            WorkingDay.objects.filter(date__year=year).delete()
            WorkingDay.objects.bulk_create(
                [
                    WorkingDay(date=e.date, is_workday=e.is_workday, name=e.name, source=source)
                    for e in entries
                    if e.date.year == year and e.is_workday != (e.date.weekday() < 5)
                ]
            )
            CalendarYear.objects.update_or_create(year=year, defaults={"source": source[:64]})
        # bulk_create and the filtered delete send no model signals: say so explicitly.
        reference_changed()
    return years
