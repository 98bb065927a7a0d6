"""Reply templates (答复模板) per category, chosen by the category's code or name.

There is no model for these yet: a category whose code or name matches a key below gets its
templates, every other one the general ones. ``{case_no}`` and ``{department}`` are filled in.
"""

from __future__ import annotations

from tickets.models import Ticket

GENERAL = [
    (
        "已办理",
        "您好！您反映的问题（编号 {case_no}）已由{department}核实处理。"
        "处理结果：______。感谢您对我们工作的支持。",
    ),
    (
        "解释说明",
        "您好！关于您反映的问题（编号 {case_no}），经{department}核实，情况如下：______。"
        "如有疑问，请致电 12345。",
    ),
    (
        "不属于职责",
        "您好！您反映的问题（编号 {case_no}）不属于本部门职责范围，建议您向______反映。",
    ),
]
# Matched against the category's code first, then as a substring of its name.
BY_CATEGORY: dict[str, list[tuple[str, str]]] = {
    "路灯": [
        (
            "路灯已修复",
            "您好！您反映的路灯故障（编号 {case_no}）已由{department}安排维修，"
            "路灯已于____恢复照明。感谢您的反映。",
        ),
    ],
    "物业": [
        (
            "已督促物业",
            "您好！关于您反映的物业问题（编号 {case_no}），{department}已约谈物业服务企业，"
            "责令其于____前整改到位，并将跟踪整改情况。",
        ),
    ],
    "噪音": [
        (
            "已现场查处",
            "您好！您反映的噪音扰民问题（编号 {case_no}），{department}已派员现场核查并依法处理。",
        ),
    ],
    "道路": [
        (
            "已安排修复",
            "您好！您反映的道路问题（编号 {case_no}）已由{department}安排修复，预计____完成。",
        ),
    ],
}


def reply_templates(ticket: Ticket) -> list[tuple[str, str]]:
    """(title, text) pairs for the reply form: the category's own first, then general ones."""
    department = ticket.department.name if ticket.department else "承办部门"
    chosen: list[tuple[str, str]] = []
    category = ticket.category
    if category is not None:
        for key, templates in BY_CATEGORY.items():
            if key == category.code or key in category.name:
                chosen.extend(templates)
    return [
        (title, text.format(case_no=ticket.case_no, department=department))
        for title, text in chosen + GENERAL
    ]
