"""What the bench data is made of: texts, channels, request types and the state mixes of old,
last-month and current tickets (weights)."""

from __future__ import annotations

from tickets.models.choices import Channel, RequestType, State

TEXTS = [
    ("路灯损坏", "和平街88号小区门口的路灯坏了一个星期了，晚上出行很不方便，请尽快修理。"),
    ("信号灯时长", "建设路与解放大道交叉口红绿灯时间太短，老人过马路来不及，建议延长。"),
    ("夜间施工噪音", "幸福小区旁边的工地晚上十一点后还在施工，噪音很大，影响休息。"),
    ("垃圾清运", "长江路菜市场门口垃圾堆放好几天没人清运，气味很大，请环卫部门处理。"),
    ("公交班次", "公交12路早高峰间隔太长，经常等半小时，建议加密班次。"),
    ("占道经营", "人民路步行街两侧占道经营严重，行人只能走机动车道，存在安全隐患。"),
    ("供暖不热", "阳光花园3栋室内温度只有十四度，物业推说是热力公司的问题。"),
    ("欠薪", "在某装修公司做工三个月，老板拖欠工资一万二千元，多次讨要无果。"),
]
CHANNELS = [
    (Channel.HOTLINE, 45),
    (Channel.WECHAT, 25),
    (Channel.WEBSITE, 20),
    (Channel.WEIBO, 5),
    (Channel.OPEN311, 5),
]
TYPES = [
    (RequestType.COMPLAINT, 35),
    (RequestType.HELP, 30),
    (RequestType.CONSULT, 20),
    (RequestType.SUGGEST, 10),
    (RequestType.REPORT, 5),
]
# State mixes: months long past are almost all closed; the current month is mostly open.
OLD_MIX = [
    (State.CLOSED, 84),
    (State.REPLIED, 5),
    (State.IN_PROGRESS, 3),
    (State.MERGED, 3),
    (State.INVALID, 5),
]
MONTH_MIX = [
    (State.CLOSED, 70),
    (State.REPLIED, 12),
    (State.IN_PROGRESS, 6),
    (State.ASSIGNED, 2),
    (State.WAITING_CITIZEN, 2),
    (State.MERGED, 3),
    (State.INVALID, 5),
]
CURRENT_MIX = [
    (State.NEW, 10),
    (State.ACKNOWLEDGED, 10),
    (State.ASSIGNED, 15),
    (State.IN_PROGRESS, 30),
    (State.WAITING_CITIZEN, 5),
    (State.REPLIED, 15),
    (State.CLOSED, 10),
    (State.MERGED, 2),
    (State.INVALID, 3),
]
