"""The queue: departments, categories, citizens, tickets and their timeline.

A ticket's ``state`` is a protected FSM field: it changes only through the transition methods
below, and those are called only from ``tickets.services`` (which lock the row, check the
actor, write a TicketEvent and schedule side effects after commit).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, DateTimeField, F, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from tickets.channels import channel_choices
from tickets.models.choices import OPEN_STATES, RequestType, State, Urgency
from tickets.models.people import Category, Citizen, Department
from tickets.models_public import new_public_id

# Read out over the phone and typed from a note: no character that looks like another
# (no 0/O, no 1/l/I) and no case to get wrong. 31 symbols x 12 = 59 bits.
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 12
QUERY_CODE_GROUP = 4


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def query_code_is_plain(code: str) -> bool:
    """True for codes of this alphabet (those made before it mix cases and look-alikes)."""
    return len(code) == QUERY_CODE_LENGTH and all(char in QUERY_CODE_ALPHABET for char in code)


def query_code_normalise(typed: str) -> str:
    """What a citizen typed, as a plain code: spaces and dashes out, letters upper case."""
    return "".join(char for char in typed if char not in " \t-－—　").upper()


def query_code_display(code: str) -> str:
    """A plain code in groups of four (ABCD-EFGH-JKMN); an older code as it is."""
    if not query_code_is_plain(code):
        return code
    step = QUERY_CODE_GROUP
    return "-".join(code[i : i + step] for i in range(0, len(code), step))


# The inbox's queue order (new cases by their ack deadline first, then the rest by resolution
# deadline); the inbox sorts by these and the partial indexes below hold them pre-sorted.
QUEUE_BUCKET = Case(
    When(state=State.NEW, then=Value(0)), default=Value(1), output_field=IntegerField()
)
QUEUE_DUE = Case(
    When(state=State.NEW, then=F("ack_due_at")),
    default=F("resolve_due_at"),
    output_field=DateTimeField(),
)


class Ticket(FSMModelMixin, models.Model):
    case_no = models.CharField(_("编号"), max_length=14, unique=True)
    # The case's id wherever the public reads it (public pages, Open311): never the sequential
    # case number. Its public record takes the same id. Null only for cases that were already
    # there when the column came and never needed one (see migration 0010).
    public_id = models.CharField(
        _("公开编号"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        default=new_public_id,
        editable=False,
    )
    query_code = models.CharField(_("查询码"), max_length=24, default=new_query_code)
    # The choices are a function (the channels registered at start): a new channel needs no
    # migration.
    channel = models.CharField(_("渠道"), max_length=16, choices=channel_choices)
    channel_account = models.CharField(_("渠道账号"), max_length=64, blank=True)
    request_type = models.CharField(
        _("诉求类型"), max_length=16, choices=RequestType.choices, default=RequestType.HELP
    )
    urgency = models.CharField(
        _("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.PROTECT
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    citizen = models.ForeignKey(
        Citizen,
        verbose_name=_("市民"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    title = models.CharField(_("标题"), max_length=200, blank=True)
    content = models.TextField(_("内容"))
    address = models.CharField(_("地址"), max_length=300, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    state = FSMField(_("状态"), default=State.NEW, choices=State.choices, protected=True)
    received_at = models.DateTimeField(_("收到时间"))
    ack_due_at = models.DateTimeField(_("受理时限"))
    acknowledged_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    ack_on_time = models.BooleanField(_("及时受理"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("办结时限"))
    resolve_unit = models.CharField(_("时限单位"), max_length=16, default="working_days")
    calendar_confirmed = models.BooleanField(_("日历已确认"), default=True)
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    first_replied_at = models.DateTimeField(_("首次答复时间"), null=True, blank=True)
    resolved_on_time = models.BooleanField(_("按时办结"), null=True, blank=True)
    replied_at = models.DateTimeField(_("最近答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    supervised = models.BooleanField(_("督办"), default=False)
    # The current SLA cycle (a reopen or an approved extension starts a new one): what the
    # deadline was computed from, which warnings/breaches already happened, and what is next.
    resolve_basis = models.JSONField(
        _("时限依据"), default=dict, blank=True, help_text=_("起算时间、策略与顺延工作日")
    )
    ack_warned = models.BooleanField(_("受理已预警"), default=False)
    ack_breached = models.BooleanField(_("受理已超时"), default=False)
    resolve_warned = models.BooleanField(_("办结已预警"), default=False)
    resolve_breached = models.BooleanField(_("办结已超时"), default=False)
    last_reminder_at = models.DateTimeField(_("最近催办"), null=True, blank=True)
    sla_next_at = models.DateTimeField(_("下次时限事件"), null=True, blank=True)
    sla_next_kind = models.CharField(_("下次时限事件类型"), max_length=20, blank=True)
    confidential = models.BooleanField(_("保密"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("合并到"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    external_ref = models.CharField(_("12345 工单编号"), max_length=64, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        indexes = [
            models.Index(fields=["state", "ack_due_at", "id"], name="ticket_state_ackdue"),
            models.Index(fields=["state", "resolve_due_at", "id"], name="ticket_state_resdue"),
            models.Index(fields=["department", "state", "resolve_due_at"], name="ticket_dept"),
            models.Index(fields=["received_at"], name="ticket_received"),
            models.Index(fields=["ack_due_at"], name="ticket_new_ackdue", condition=Q(state="new")),
            models.Index(
                fields=["resolve_due_at"],
                name="ticket_open_resdue",
                condition=Q(state__in=["acknowledged", "assigned", "in_progress"]),
            ),
            # The inbox's first page (and every "more") without sorting all open tickets.
            models.Index(
                QUEUE_BUCKET,
                QUEUE_DUE,
                F("id"),
                name="ticket_queue",
                condition=Q(state__in=list(OPEN_STATES)),
            ),
            models.Index(
                F("department"),
                QUEUE_BUCKET,
                QUEUE_DUE,
                F("id"),
                name="ticket_dept_queue",
                condition=Q(state__in=list(OPEN_STATES)),
            ),
            # The sweep reads only this: tickets whose next SLA event has come.
            models.Index(
                fields=["sla_next_at", "id"],
                name="ticket_sla_next",
                condition=Q(sla_next_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_no} {self.title}".strip()

    @property
    def query_code_display(self) -> str:
        return query_code_display(self.query_code)

    # --- transitions: called only by tickets.services ------------------------------------
    # Each records the data the new state needs; the services compute and check the rest.

    @transition(field=state, source=State.NEW, target=State.ACKNOWLEDGED)
    def acknowledge(self, *, at: Any) -> None:
        self.acknowledged_at = at

    @transition(field=state, source=State.ACKNOWLEDGED, target=State.ASSIGNED)
    def assign(self, *, department: Department, assignee: Any = None) -> None:
        self.department = department
        self.assignee = assignee

    @transition(field=state, source=State.ASSIGNED, target=State.IN_PROGRESS)
    def accept(self, *, assignee: Any) -> None:
        self.assignee = assignee

    @transition(field=state, source=State.ASSIGNED, target=State.ACKNOWLEDGED)
    def return_to_dispatch(self) -> None:
        # Back with the dispatchers: no longer the department's case (the event keeps which
        # department returned it).
        self.department = None
        self.assignee = None

    @transition(field=state, source=State.IN_PROGRESS, target=State.ASSIGNED)
    def transfer(self, *, department: Department) -> None:
        self.department = department
        self.assignee = None

    @transition(field=state, source=State.IN_PROGRESS, target=State.WAITING_CITIZEN)
    def request_info(self, *, at: Any) -> None:
        self.paused_at = at

    @transition(field=state, source=State.WAITING_CITIZEN, target=State.IN_PROGRESS)
    def resume(self) -> None:
        self.paused_at = None

    @transition(field=state, source=[State.ACKNOWLEDGED, State.IN_PROGRESS], target=State.REPLIED)
    def reply(self, *, at: Any) -> None:
        self.replied_at = at
        if self.first_replied_at is None:
            self.first_replied_at = at

    @transition(field=state, source=[State.REPLIED, State.CLOSED], target=State.IN_PROGRESS)
    def reopen(self) -> None:
        self.reopen_count += 1
        self.closed_at = None

    @transition(field=state, source=State.REPLIED, target=State.CLOSED)
    def close(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(field=state, source=list(OPEN_STATES), target=State.MERGED)
    def merge_into(self, *, target: Ticket) -> None:
        self.duplicate_of = target

    @transition(field=state, source=[State.NEW, State.ACKNOWLEDGED], target=State.INVALID)
    def mark_invalid(self) -> None:
        pass

    @transition(field=state, source=list(OPEN_STATES), target=State.INVALID)
    def withdraw(self) -> None:
        pass
