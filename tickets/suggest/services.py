"""Training the routing-suggestion model from closed tickets (nightly, in both ways to run).

``routing_train_if_due`` is the periodic job: between 02:00 and 06:00 (Asia/Shanghai) it trains
the night's model once. Several workers may run it at the same moment: the one that creates the
night's ``RoutingModel`` row (unique on ``trained_for``) trains, the others see the row and stop.
A row left in "training" by a worker that died is taken over after ``STALE``. Outside the night
it trains only an installation that has no model yet and a small history (the demo: seconds);
a large history waits for the night (or ``manage.py routing_train``), so that minutes of
training never land on office hours.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from sla.clock import CHINA
from tickets.models import RoutingModel, State, Ticket
from tickets.suggest.model import Sample, evaluate, train

logger = logging.getLogger(__name__)

NIGHTLY_AT = dt.time(2, 0)
NIGHT_ENDS = dt.time(6, 0)
# Without any model, a history up to this size is learned at once, whatever the hour.
TRAIN_AT_ONCE_MAX = 5_000
STALE = dt.timedelta(hours=2)
# The newest closed tickets learned from (older history adds little and costs time).
MAX_SAMPLES = 100_000
# Below this, suggestions would be guesses: the page says so instead.
MIN_SAMPLES = 30
KEEP_MODELS = 3
HISTORY_STATES = (State.CLOSED, State.REPLIED)


@dataclass
class TrainResult:
    status: str
    trained_for: dt.date | None = None
    samples: int = 0
    took_ms: int = 0

    def summary(self) -> str:
        return (
            f"{self.status} {self.trained_for or ''} {self.samples} 件 {self.took_ms} 毫秒".strip()
        )


def batch_date(now: dt.datetime) -> dt.date:
    """The night a model belongs to: before 02:00 it is still the previous night's."""
    local = now.astimezone(CHINA)
    return (local - dt.timedelta(hours=NIGHTLY_AT.hour, minutes=NIGHTLY_AT.minute)).date()


def history_samples(*, limit: int = MAX_SAMPLES) -> list[Sample]:
    """The newest closed (or answered) tickets that a department handled, as samples. The
    department is where the ticket ended: after any return or transfer."""
    rows = (
        Ticket.objects.filter(state__in=HISTORY_STATES)
        .exclude(department__isnull=True, category__isnull=True)
        .order_by("-received_at", "-id")
        .values(
            "title",
            "content",
            "address",
            "latitude",
            "longitude",
            "request_type",
            "department_id",
            "category_id",
        )[:limit]
    )
    return [
        Sample(
            text=f"{row['title']} {row['content']}".strip(),
            address=row["address"] or "",
            lat=float(row["latitude"]) if row["latitude"] is not None else None,
            lon=float(row["longitude"]) if row["longitude"] is not None else None,
            request_type=row["request_type"] or "",
            department=row["department_id"],
            category=row["category_id"],
        )
        for row in rows
    ]


def _claim(day: dt.date, now: dt.datetime, force: bool) -> RoutingModel | None:
    """The night's row, created (or taken over) by this worker; None when another has it."""
    with transaction.atomic():
        existing = RoutingModel.objects.select_for_update().filter(trained_for=day).first()
        if existing is not None:
            training = existing.status == RoutingModel.Status.TRAINING
            stale = training and existing.started_at < now - STALE
            if (training and not stale) or not (force or stale):
                return None
            existing.status = RoutingModel.Status.TRAINING
            existing.started_at, existing.finished_at, existing.error = now, None, ""
            existing.save(update_fields=["status", "started_at", "finished_at", "error"])
            return existing
    try:
        with transaction.atomic():
            return RoutingModel.objects.create(trained_for=day, started_at=now)
    except IntegrityError:
        return None  # another worker claimed it a moment ago


def routing_train(*, now: dt.datetime | None = None, force: bool = False) -> TrainResult:
    """Train the night's model from the history (``force``: again, even if it exists)."""
    now = now or timezone.now()
    day = batch_date(now)
    row = _claim(day, now, force)
    if row is None:
        return TrainResult(status="skipped", trained_for=day)
    started = time.monotonic()
    try:
        samples = history_samples()
        departments = {s.department for s in samples if s.department is not None}
        if len(samples) < MIN_SAMPLES or len(departments) < 2:
            row.status, row.samples = RoutingModel.Status.TOO_LITTLE, len(samples)
            row.finished_at = timezone.now()
            row.save(update_fields=["status", "samples", "finished_at"])
            return TrainResult(status=row.status, trained_for=day, samples=len(samples))
        # How good it is, on a fixed held-back fifth; then the model itself, on everything.
        metrics = evaluate(samples)
        weights = train(samples, meta={"trained_for": day.isoformat(), "samples": len(samples)})
        row.weights = weights.to_bytes()
        row.metrics = metrics
        row.samples = len(samples)
        row.status = RoutingModel.Status.READY
        row.finished_at = timezone.now()
        row.save(update_fields=["weights", "metrics", "samples", "status", "finished_at"])
    except Exception as error:
        logger.exception("routing model training failed")
        row.status, row.error = (
            RoutingModel.Status.FAILED,
            f"{type(error).__name__}: {error}"[:2000],
        )
        row.finished_at = timezone.now()
        row.save(update_fields=["status", "error", "finished_at"])
        return TrainResult(status=row.status, trained_for=day)
    keep = list(
        RoutingModel.objects.order_by("-trained_for").values_list("pk", flat=True)[:KEEP_MODELS]
    )
    RoutingModel.objects.exclude(pk__in=keep).delete()
    took = int((time.monotonic() - started) * 1000)
    return TrainResult(status=row.status, trained_for=day, samples=row.samples, took_ms=took)


def _at_night(now: dt.datetime) -> bool:
    return NIGHTLY_AT <= now.astimezone(CHINA).time() < NIGHT_ENDS


def routing_train_if_due(*, now: dt.datetime | None = None) -> TrainResult:
    """The periodic job: train tonight's model if nobody has; by day only a first model from
    a small history (see the module's docstring)."""
    now = now or timezone.now()
    day = batch_date(now)
    if (
        RoutingModel.objects.filter(trained_for=day)
        .exclude(status=RoutingModel.Status.TRAINING, started_at__lt=now - STALE)
        .exists()
    ):
        return TrainResult(status="not_due", trained_for=day)
    if not _at_night(now):
        if RoutingModel.objects.filter(status=RoutingModel.Status.READY).exists():
            return TrainResult(status="not_due", trained_for=day)
        history = Ticket.objects.filter(state__in=HISTORY_STATES)[: TRAIN_AT_ONCE_MAX + 1]
        if history.count() > TRAIN_AT_ONCE_MAX:
            return TrainResult(status="waits_for_night", trained_for=day)
    return routing_train(now=now)
