"""The monthly report's written summary: a table of cases (pure, no database)."""

from __future__ import annotations

import pytest

from dashboards.metrics import LeagueRow
from dashboards.summary import report_summary
from dashboards.values import Figures, Rate


def _month(received: int, replied: int, on_time: tuple[int, int], overdue: int = 0) -> Figures:
    return Figures(key="all", label="合计", received=received,
                   reply_rate=Rate(replied, received), on_time_rate=Rate(*on_time),
                   overdue_open=overdue)  # fmt: skip


def _dept(name: str, on_time: tuple[int, int], rank: int | None) -> LeagueRow:
    figures = Figures(key=name, label=name, received=on_time[1], on_time_rate=Rate(*on_time))
    return LeagueRow(figures, rank, rank is None)


def _summary(current: Figures, previous: Figures, league: list[LeagueRow]) -> list[str]:
    return report_summary(period_label="2026年3月", previous_label="2026年2月",
                          current=current, previous=previous, league=league)  # fmt: skip


def test_it_states_volume_rates_changes_departments_and_overdue():
    league = [
        _dept("城管局", (18, 20), 1),
        _dept("住建局", (9, 12), 2),
        _dept("市容科", (3, 4), None),
    ]
    assert _summary(_month(60, 51, (40, 51), 3), _month(50, 40, (38, 45)), league) == [
        "2026年3月共受理诉求 60 件，比上月（2026年2月，50 件）增加 10 件。",
        "回复率 85.0%（51/60 件已答复），比上月上升 5.0 个百分点；"
        "按时办结率 78.4%（40/51 件按时），比上月下降 6.0 个百分点。",
        "按时办结率最高的部门是城管局（90.0%），最低的是住建局（75.0%）。"
        "另有 1 个部门样本不足 10 件，未参与排名。",
        "统计截止时仍有 3 件超过办结时限未答复。",
    ]


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (_month(0, 0, (0, 0)), "上月（2026年2月）没有受理记录"),
        (_month(20, 10, (5, 10)), "与上月（2026年2月，20 件）持平"),
        (_month(30, 10, (5, 10)), "比上月（2026年2月，30 件）减少 10 件"),
    ],
)
def test_it_compares_the_volume_with_last_month(previous, expected):
    assert expected in _summary(_month(20, 10, (5, 10)), previous, [])[0]


def test_it_says_when_a_rate_cannot_be_compared_or_did_not_move():
    rates = _summary(_month(20, 10, (5, 10)), _month(0, 0, (0, 0)), [])[1]
    assert rates == (
        "回复率 50.0%（10/20 件已答复），上月无可比数据；"
        "按时办结率 50.0%（5/10 件按时），上月无可比数据。"
    )
    same = _summary(_month(20, 10, (5, 10)), _month(40, 20, (9, 18)), [])[1]
    assert same.count("与上月持平") == 2


@pytest.mark.parametrize(
    ("league", "expected"),
    [
        ([], "本月没有可排名的部门。"),
        ([_dept("城管局", (3, 4), None)], "各部门按时办结率的样本均不足 10 件，本月不作部门排名。"),
        ([_dept("城管局", (9, 10), 1)], "参与排名的部门只有城管局，按时办结率 90.0%。"),
        (
            [_dept("城管局", (9, 10), 1), _dept("住建局", (18, 20), 1)],
            "参与排名的 2 个部门按时办结率均为 90.0%。",
        ),
        (
            [
                _dept("城管局", (10, 10), 1),
                _dept("住建局", (20, 20), 1),
                _dept("物业科", (5, 10), 3),
            ],
            "按时办结率最高的部门是城管局、住建局（100.0%），最低的是物业科（50.0%）。",
        ),
    ],
)
def test_it_names_the_best_and_worst_ranked_departments(league, expected):
    assert _summary(_month(20, 10, (5, 10)), _month(20, 10, (5, 10)), league)[2] == expected


def test_it_says_so_when_nothing_came_in():
    assert _summary(_month(0, 0, (0, 0)), _month(5, 5, (5, 5)), []) == [
        "2026年3月没有受理诉求；上月（2026年2月）受理 5 件。"
    ]
    assert _summary(_month(0, 0, (0, 0)), _month(0, 0, (0, 0)), []) == ["2026年3月没有受理诉求。"]
