"""Reading the routing suggestion for a ticket.

Each worker process keeps the newest ready model in memory and checks, with one indexed
look-up per suggestion, whether a newer one has been trained since; so after the night's
training every worker switches to it on its next suggestion, with no restart.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

from tickets.models import Category, Department, RoutingModel, Ticket
from tickets.suggest.model import Sample, Weights

EMPTY_MESSAGE = "暂无足够的历史工单，无法给出建议"

_lock = threading.Lock()
_loaded: dict[str, Any] = {"pk": None, "weights": None}


@dataclass(frozen=True)
class Option:
    pk: int
    name: str
    probability: float

    @property
    def percent(self) -> int:
        return round(self.probability * 100)


@dataclass
class Suggestion:
    departments: list[Option] = field(default_factory=list)
    categories: list[Option] = field(default_factory=list)
    trained_for: dt.date | None = None
    samples: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.departments and not self.categories

    @property
    def message(self) -> str:
        return EMPTY_MESSAGE if self.empty else ""


def routing_model_current() -> tuple[RoutingModel | None, Weights | None]:
    """The newest ready model (its row without the weights) and its weights."""
    row = (
        RoutingModel.objects.filter(status=RoutingModel.Status.READY)
        .order_by("-trained_for", "-pk")
        .defer("weights")
        .first()
    )
    if row is None:
        return None, None
    with _lock:
        if _loaded["pk"] != row.pk:
            blob = RoutingModel.objects.filter(pk=row.pk).values_list("weights", flat=True).first()
            if not blob:
                return None, None
            _loaded["weights"] = Weights.from_bytes(bytes(blob))
            _loaded["pk"] = row.pk
        weights: Weights = _loaded["weights"]
    return row, weights


def sample_of(ticket: Ticket) -> Sample:
    return Sample(
        text=f"{ticket.title} {ticket.content}".strip(),
        address=ticket.address or "",
        lat=float(ticket.latitude) if ticket.latitude is not None else None,
        lon=float(ticket.longitude) if ticket.longitude is not None else None,
        request_type=ticket.request_type or "",
    )


def _options(model: Any, choices: list[Any]) -> list[Option]:
    """Choices as names, dropping labels that are no longer active (a department closed since
    the model was trained)."""
    names = dict(
        model.objects.filter(pk__in=[c.label for c in choices], active=True).values_list(
            "pk", "name"
        )
    )
    return [Option(c.label, names[c.label], c.probability) for c in choices if c.label in names]


def routing_suggest(*, ticket: Ticket) -> Suggestion:
    """The department and category most likely for ``ticket``, with the two next choices;
    empty when no model has been trained yet (too little closed history)."""
    row, weights = routing_model_current()
    if row is None or weights is None:
        return Suggestion()
    sample = sample_of(ticket)
    return Suggestion(
        departments=_options(Department, weights.choices(sample, "department", top=6))[:3],
        categories=_options(Category, weights.choices(sample, "category", top=6))[:3],
        trained_for=row.trained_for,
        samples=row.samples,
        metrics=row.metrics or {},
    )
