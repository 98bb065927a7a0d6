"""A month of history from a previous system, as JSON Lines (deterministic, for the tests)."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
CHANNELS = ("website", "wechat", "weibo", "hotline")
TYPES = ("consult", "help", "complaint", "suggest")
PLACES = ("建设路", "解放大道", "青山公园", "和平街道", "钢都花园")


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="minutes")


def month_of_history(year: int = 2026, month: int = 3, count: int = 60, seed: int = 7) -> list[str]:
    """``count`` cases received in the month: most acknowledged, assigned to bureau a, b or
    section a1, replied within 0–20 days, some rated, some returned, extended or reopened."""
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        received = dt.datetime(year, month, 1 + number % 28, 8 + number % 10, rng.randrange(60),
                               tzinfo=CHINA)  # fmt: skip
        case: dict[str, Any] = {
            "id": f"OLD-{year}{month:02d}-{number:04d}",
            "channel": CHANNELS[number % len(CHANNELS)],
            "request_type": TYPES[number % len(TYPES)],
            "category": ("lights", "housing")[number % 2],
            "title": f"{PLACES[number % len(PLACES)]}的问题",
            "content": f"{PLACES[number % len(PLACES)]}路灯不亮、物业不作为，请尽快处理。",
            "received_at": _iso(received),
        }
        if number % 13 == 12:  # never acknowledged
            lines.append(json.dumps(case, ensure_ascii=False))
            continue
        acknowledged = received + dt.timedelta(minutes=rng.choice((3, 12, 25, 40, 90)))
        case["acknowledged_at"] = _iso(acknowledged)
        case["department"] = ("a", "b", "a1")[number % 3]
        if number % 7 == 3:
            case["returns"] = [
                {"at": _iso(acknowledged + dt.timedelta(hours=2)), "reason": "非本部门职责"}
            ]
        if number % 9 == 4:
            case["extensions"] = [
                {"requested_at": _iso(acknowledged + dt.timedelta(days=1)), "days": 3,
                 "reason": "需要现场勘查", "approved": True}
            ]  # fmt: skip
        if number % 6 != 5:  # replied
            replied = acknowledged + dt.timedelta(days=rng.randrange(0, 21), hours=2)
            case["replies"] = [{"at": _iso(replied), "content": "已处理并回访。"}]
            if number % 4 != 1:
                satisfaction = ("satisfied", "basically_satisfied", "unsatisfied")[number // 2 % 3]
                case["feedback"] = [
                    {"at": _iso(replied + dt.timedelta(days=1)), "satisfaction": satisfaction,
                     "resolved": satisfaction != "unsatisfied"}
                ]  # fmt: skip
        lines.append(json.dumps(case, ensure_ascii=False))
    return lines
