"""Who may do what (pure: no database). Department scope is decided by the caller."""

from __future__ import annotations

from tickets.models import Role

ACTIONS: dict[str, str] = {
    "acknowledge": "受理",
    "assign": "派单",
    "accept": "签收",
    "return_to_dispatch": "退单",
    "transfer": "转办",
    "request_info": "要求补充",
    "resume": "恢复办理",
    "reply": "答复",
    "reopen": "重办",
    "close": "办结",
    "merge_into": "合并",
    "link_lead": "关联主案",
    "unlink_lead": "取消关联主案",
    "mark_invalid": "标记无效",
    "withdraw": "撤回",
    "classify": "修改分类",
    "note": "内部备注",
    "request_extension": "申请延期",
    "decide_extension": "审批延期",
}

_HANDLER = {
    "accept",
    "return_to_dispatch",
    "transfer",
    "request_info",
    "resume",
    "reply",
    "note",
    "request_extension",
}
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.DISPATCHER: frozenset(
        {
            "acknowledge",
            "assign",
            "transfer",
            "resume",
            "reply",
            "reopen",
            "close",
            "merge_into",
            "link_lead",
            "unlink_lead",
            "mark_invalid",
            "classify",
            "note",
        }
    ),
    Role.HANDLER: frozenset(_HANDLER),
    Role.SUPERVISOR: frozenset(_HANDLER | {"reopen", "close", "classify", "decide_extension"}),
    Role.LEADERSHIP: frozenset(),
    Role.ADMIN: frozenset(ACTIONS),
}
# Roles that see and act on every ticket; the others only on their department's subtree.
CITYWIDE_ROLES = frozenset({Role.DISPATCHER, Role.LEADERSHIP, Role.ADMIN})


def role_sees_all(role: str) -> bool:
    return role in CITYWIDE_ROLES


def role_may(role: str, action: str, *, own_department: bool) -> bool:
    """May a user of ``role`` take ``action`` on a ticket (in its own department or not)?"""
    if action not in ROLE_ACTIONS.get(role, frozenset()):
        return False
    return role_sees_all(role) or own_department
