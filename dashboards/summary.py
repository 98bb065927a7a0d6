"""The written summary that opens the monthly report (pure: figures in, Chinese sentences out).

Leadership reads the first page and little else: how many cases, the reply rate and the
on-time rate with their change against last month, and which departments did best and worst
(by 按时办结率, among those with enough cases to rank; the same ranking as the report's table).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from dashboards.metrics import SAMPLE_MIN, LeagueRow
from dashboards.values import Figures, Rate


def _points(current: Rate, previous: Rate) -> str:
    """The change of a rate against last month, in words."""
    if current.percent is None or previous.percent is None:
        return "上月无可比数据"
    diff: Decimal = current.percent - previous.percent
    if diff == 0:
        return "与上月持平"
    return f"比上月{'上升' if diff > 0 else '下降'} {abs(diff)} 个百分点"


def _volume(received: int, previous: Figures, previous_label: str) -> str:
    if previous.received == 0:
        return f"上月（{previous_label}）没有受理记录"
    diff = received - previous.received
    before = f"上月（{previous_label}，{previous.received} 件）"
    if diff == 0:
        return f"与{before}持平"
    return f"比{before}{'增加' if diff > 0 else '减少'} {abs(diff)} 件"


def _rate_sentence(name: str, rate: Rate, previous: Rate, what: str) -> str:
    if rate.den == 0:
        return f"本月没有可计算{name}的工单"
    return f"{name} {rate.display}（{rate.num}/{rate.den} 件{what}），{_points(rate, previous)}"


def _names(rows: Sequence[LeagueRow]) -> str:
    return "、".join(row.figures.label for row in rows)


def _departments(league: Sequence[LeagueRow]) -> str:
    ranked = [row for row in league if row.rank is not None]
    small = sum(1 for row in league if row.insufficient)
    if not ranked:
        if not small:
            return "本月没有可排名的部门。"
        return f"各部门按时办结率的样本均不足 {SAMPLE_MIN} 件，本月不作部门排名。"
    if len(ranked) == 1:
        only = ranked[0]
        text = f"参与排名的部门只有{only.figures.label}，按时办结率 {only.figures.on_time_rate}。"
    else:
        best = [row for row in ranked if row.rank == ranked[0].rank]
        worst = [row for row in ranked if row.rank == ranked[-1].rank]
        if best == worst:
            text = f"参与排名的 {len(ranked)} 个部门按时办结率均为 {best[0].figures.on_time_rate}。"
        else:
            text = (
                f"按时办结率最高的部门是{_names(best)}（{best[0].figures.on_time_rate}），"
                f"最低的是{_names(worst)}（{worst[0].figures.on_time_rate}）。"
            )
    if small:
        text += f"另有 {small} 个部门样本不足 {SAMPLE_MIN} 件，未参与排名。"
    return text


def report_summary(
    *,
    period_label: str,
    previous_label: str,
    current: Figures,
    previous: Figures,
    league: Sequence[LeagueRow],
) -> list[str]:
    """The paragraphs of the summary, in the order they are printed."""
    if current.received == 0:
        before = f"上月（{previous_label}）受理 {previous.received} 件" if previous.received else ""
        return [f"{period_label}没有受理诉求" + (f"；{before}" if before else "") + "。"]
    opening = (
        f"{period_label}共受理诉求 {current.received} 件，"
        f"{_volume(current.received, previous, previous_label)}。"
    )
    rates = (
        _rate_sentence("回复率", current.reply_rate, previous.reply_rate, "已答复")
        + "；"
        + _rate_sentence("按时办结率", current.on_time_rate, previous.on_time_rate, "按时")
        + "。"
    )
    overdue = (
        f"统计截止时仍有 {current.overdue_open} 件超过办结时限未答复。"
        if current.overdue_open
        else "统计截止时没有超过办结时限未答复的工单。"
    )
    return [opening, rates, _departments(league), overdue]
