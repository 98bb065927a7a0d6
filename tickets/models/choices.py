"""Channels, request types, urgency, states and roles."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Every channel a case can come in through. Each value but those of
    ``INTERNAL_CHANNELS`` is a package under ``integrations/`` that declares its
    ``ChannelSpec`` (a system check refuses to start without it); a ticket's ``channel``
    field takes its choices from ``tickets.channels``, so a new value needs no migration."""

    WEBSITE = "website", _("网站")
    WECHAT = "wechat", _("微信")
    WEIBO = "weibo", _("微博")
    HOTLINE = "hotline", _("12345热线")
    OPEN311 = "open311", _("Open311")
    IMPORT = "import", _("历史导入")


# Cases the tickets app makes itself (history import): no channel package, no notices.
INTERNAL_CHANNELS = frozenset({Channel.IMPORT})


class RequestType(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    SUGGEST = "suggest", _("建议")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class State(models.TextChoices):
    NEW = "new", _("待受理")
    ACKNOWLEDGED = "acknowledged", _("已受理")
    ASSIGNED = "assigned", _("已派单")
    IN_PROGRESS = "in_progress", _("办理中")
    WAITING_CITIZEN = "waiting_citizen", _("待补充")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已合并")
    INVALID = "invalid", _("无效")


OPEN_STATES = (
    State.NEW,
    State.ACKNOWLEDGED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.WAITING_CITIZEN,
)
RESOLUTION_CLOCK_STATES = (State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS)


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", _("受理派单员")
    HANDLER = "handler", _("承办人")
    SUPERVISOR = "supervisor", _("督办/部门负责人")
    LEADERSHIP = "leadership", _("领导")
    ADMIN = "admin", _("管理员")
