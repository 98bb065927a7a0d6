"""Helpers for the dashboard tests: cases written as history (exact timestamps, final states)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tickets.models import Department, Ticket
from tickets.services.history import (
    HistoryExtension,
    HistoryFeedback,
    HistoryRecord,
    HistoryReply,
    HistoryReturn,
    tickets_import_history,
)

CHINA = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> dt.datetime:
    """'03-02 09:00' in March 2026, or a full 'YYYY-MM-DD HH:MM', Asia/Shanghai."""
    if len(text) <= 11:
        text = "2026-" + text
    return dt.datetime.fromisoformat(text).replace(tzinfo=CHINA)


@pytest.fixture
def case(departments: dict[str, Department], categories: dict[str, Any]) -> Callable[..., Ticket]:
    counter = {"n": 0}

    def make(
        received: str,
        *,
        dept: str | None = None,
        category: str | None = None,
        channel: str = "website",
        request_type: str = "help",
        ack: str | None = None,
        assigned: str | None = None,
        replies: tuple[str, ...] = (),
        feedback: tuple[tuple[str, str, bool | None], ...] = (),
        returns: tuple[str, ...] = (),
        extensions: tuple[tuple[str, int], ...] = (),
        invalid: str | None = None,
    ) -> Ticket:
        counter["n"] += 1
        record = HistoryRecord(
            source_id=f"T{counter['n']}",
            channel=channel,
            request_type=request_type,
            urgency="normal",
            content="建设路路灯不亮",
            received_at=at(received),
            category=categories[category] if category else None,
            department=departments[dept] if dept else None,
            acknowledged_at=at(ack) if ack else None,
            assigned_at=at(assigned) if assigned else None,
            returns=[HistoryReturn(at=at(item), reason="非本部门职责") for item in returns],
            extensions=[
                HistoryExtension(
                    requested_at=at(when),
                    days=days,
                    reason="需要协调",
                    approved=True,
                    decided_at=at(when),
                )
                for when, days in extensions
            ],
            replies=[HistoryReply(at=at(item), content="已处理") for item in replies],
            feedback=[
                HistoryFeedback(at=at(when), satisfaction=sat, resolved=resolved)
                for when, sat, resolved in feedback
            ],
            invalid_at=at(invalid) if invalid else None,
            invalid_reason="广告" if invalid else "",
        )
        (ticket,) = tickets_import_history(records=[record])
        ticket.refresh_from_db()
        return ticket

    return make


@pytest.fixture
def march(case: Callable[..., Ticket]) -> dict[str, Ticket]:
    """The hand-computed month of tests/dashboards/test_metrics.py (March 2026, no holidays)."""
    return {
        "t1": case("03-02 09:00", dept="a", category="lights", request_type="consult",
                   ack="03-02 09:10", replies=("03-03 10:00",),
                   feedback=(("03-04 10:00", "satisfied", True),)),
        "t2": case("03-02 09:00", dept="a", category="lights", request_type="complaint",
                   channel="hotline", ack="03-02 09:45", replies=("03-25 10:00",),
                   feedback=(("03-26 10:00", "unsatisfied", False),)),
        "t3": case("03-10 09:00", dept="a", category="housing", ack="03-10 09:05",
                   extensions=(("03-20 10:00", 2),)),
        "t4": case("03-30 09:00", dept="a", category="lights", channel="wechat",
                   ack="03-30 09:20", assigned="03-30 09:30", returns=("03-30 10:00",)),
        "t5": case("03-05 09:00", channel="weibo"),
        "t6": case("03-06 09:00", dept="b", category="housing", request_type="consult",
                   ack="03-06 09:05", replies=("03-09 16:00",),
                   feedback=(("03-10 09:00", "basically_satisfied", None),)),
        "t7": case("03-07 09:00", ack="03-07 09:05", invalid="03-07 10:00"),
        "t8": case("2026-02-27 09:00", dept="a", ack="2026-02-27 09:10"),
    }  # fmt: skip
