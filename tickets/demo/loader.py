"""Demo data for ``manage.py load_demo``: one district, its departments, categories, a login per
role, and about 300 tickets that went through the real intake and workflow services.

Every ticket is opened by ``intake_message`` and moved only by the transition services, with
time frozen (time-machine) at each step's moment, so timelines, deadlines, on-time stamps and
case numbers are exactly what the live system would have produced over the last 45 days.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets import services
from tickets.demo.data import (
    AGE_DAYS,
    BUREAU_HANDLERS,
    CATEGORIES,
    CHANNEL_MIX,
    DEMO_USERS,
    DEPARTMENTS,
    DISTRICT_CODE,
    ENDINGS,
    OLD_AGE_DAYS,
    PLACES,
    SEED,
    SPAM,
    STATE_MIX,
    SURNAMES,
    TEMPLATES,
    WECHAT_ACCOUNT,
    WEIBO_ACCOUNT,
)
from tickets.demo.steps import Steps
from tickets.demo.timing import _at
from tickets.models import (
    OPEN_STATES,
    Category,
    Channel,
    CitizenIdentity,
    Department,
    Role,
    StaffProfile,
    State,
    Ticket,
    Urgency,
)

T = TypeVar("T")


@dataclass
class Plan:
    target: str
    channel: str
    received_at: dt.datetime
    template: int
    place: int
    urgent: bool
    spam: str = ""
    duplicate_of: Ticket | None = None


@dataclass
class Result:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    overdue: int = 0


def demo_loaded() -> bool:
    return Department.objects.filter(code=DISTRICT_CODE).exists()


class Loader:
    """Builds the demo in one transaction; ``now`` is the real time the run started."""

    def __init__(self, *, now: dt.datetime, progress: Callable[[str], None]) -> None:
        self.now = now
        self.progress = progress
        self.rng = random.Random(SEED)
        self.departments: dict[str, Department] = {}
        self.bureau_of: dict[int, str] = {}
        self.categories: dict[str, Category] = {}
        self.users: dict[str, Any] = {}
        self.created: list[tuple[Ticket, int, int]] = []
        self.sender_seq = 0

    # organisation, categories and people

    def organisation(self) -> None:
        for code, name, level, parent in DEPARTMENTS:
            self.departments[code] = Department.objects.create(
                code=code, name=name, level=level, parent=self.departments.get(parent)
            )
        for code, _name, level, parent in DEPARTMENTS:
            bureau = code if level == "bureau" else parent
            self.bureau_of[self.departments[code].pk] = bureau
        for code, name, parent, department in CATEGORIES:
            self.categories[code] = Category.objects.create(
                code=code,
                name=name,
                parent=self.categories.get(parent),
                default_department=self.departments[department],
            )

    def people(self) -> None:
        model = get_user_model()
        hashes: dict[str, str] = {}
        for spec in DEMO_USERS:
            user = model.objects.filter(username=spec.username).first()
            if user is None:
                if spec.password not in hashes:
                    hashes[spec.password] = make_password(spec.password)
                user = model(
                    username=spec.username,
                    first_name=spec.name,
                    password=hashes[spec.password],
                    is_staff=spec.superuser,
                    is_superuser=spec.superuser,
                )
                user.save()
            StaffProfile.objects.update_or_create(
                user=user,
                defaults={"role": spec.role, "department": self.departments[spec.department]},
            )
            self.users[spec.username] = user

    # planning

    def plans(self) -> list[Plan]:
        targets = [state for state, count in STATE_MIX for _ in range(count)]
        channels = [channel for channel, weight in CHANNEL_MIX for _ in range(weight)]
        plans = [self._plan(target, self.rng.choice(channels)) for target in targets]
        plans.sort(key=lambda plan: plan.received_at)
        return plans

    def _plan(self, target: str, channel: str) -> Plan:
        rng = self.rng
        if target == State.NEW:
            # Most arrived in the last 25 minutes; the rest have waited too long.
            recent = rng.random() < 0.6
            age = dt.timedelta(minutes=rng.uniform(1, 25) if recent else rng.uniform(35, 600))
            if channel == Channel.HOTLINE:
                channel = Channel.WECHAT  # 12345 work orders arrive already acknowledged
        else:
            low, high = AGE_DAYS[target]
            if target in OPEN_STATES and rng.random() < 0.25:
                low, high = OLD_AGE_DAYS
            age = dt.timedelta(days=rng.uniform(low, high))
        template = rng.randrange(len(TEMPLATES))
        return Plan(
            target=target,
            channel=channel,
            received_at=self.now - age,
            template=template,
            place=rng.randrange(len(PLACES)),
            urgent=TEMPLATES[template].may_be_urgent and rng.random() < 0.25,
            spam=rng.choice(SPAM) if target == State.INVALID and rng.random() < 0.6 else "",
        )

    # intake

    def message(self, plan: Plan) -> services.IncomingMessage:
        rng = self.rng
        self.sender_seq += 1
        seq = self.sender_seq
        template = TEMPLATES[plan.template]
        place = PLACES[plan.place]
        text = plan.spam or template.text.format(place=place) + rng.choice(ENDINGS)
        if plan.duplicate_of is not None:
            text = "同样的问题：" + template.text.format(place=place)
        name = rng.choice(SURNAMES) + rng.choice(["先生", "女士"])
        phone = f"139{SEED % 10000:04d}{seq:04d}"
        on_form = plan.channel in (Channel.WEBSITE, Channel.HOTLINE) and not plan.spam
        message = services.IncomingMessage(
            channel=plan.channel,
            sender_kind=CitizenIdentity.Kind.PHONE,
            sender_id=phone,
            text=text,
            sender_name=name,
            request_type=template.request_type,
            urgency=Urgency.URGENT if plan.urgent else Urgency.NORMAL,
            # Forms and 12345 operators pick a category; chat messages are classified later.
            category_code=template.category if on_form else "",
            address=place if on_form else "",
            received_at=plan.received_at,
        )
        if plan.channel == Channel.WEBSITE:
            message.phone, message.may_follow_up = phone, False
        elif plan.channel == Channel.HOTLINE:
            message.sender_kind = CitizenIdentity.Kind.HOTLINE_CALLER
            message.phone, message.may_follow_up, message.acknowledged = phone, False, True
            message.external_ref = f"QS{plan.received_at:%Y%m%d}{seq:05d}"
        elif plan.channel == Channel.WECHAT:
            message.sender_kind = CitizenIdentity.Kind.WECHAT_OPENID
            message.account = WECHAT_ACCOUNT
            message.sender_id = f"oQs{SEED:08d}demo{seq:06d}"
        else:
            message.sender_kind = CitizenIdentity.Kind.WEIBO_UID
            message.account = WEIBO_ACCOUNT
            message.sender_id = f"{5_000_000_000 + seq}"
            message.sender_name = ""
        return message

    def open(self, plan: Plan) -> tuple[Ticket, services.IncomingMessage]:
        if plan.target == State.MERGED:
            plan.duplicate_of = self._merge_target()
            if plan.duplicate_of is None:
                plan.target = State.INVALID
            else:
                _ticket, plan.template, plan.place = next(
                    item for item in self.created if item[0].pk == plan.duplicate_of.pk
                )
        message = self.message(plan)
        result = _at(plan.received_at, services.intake_message, message=message)
        if result.ticket is None or result.action != "created":
            raise RuntimeError(f"demo intake did not open a ticket: {result.action}")
        self.created.append((result.ticket, plan.template, plan.place))
        return result.ticket, message

    def _merge_target(self) -> Ticket | None:
        recent = [ticket.pk for ticket, _t, _p in self.created[-60:]]
        candidates = list(
            Ticket.objects.filter(pk__in=recent)
            .exclude(state__in=[State.MERGED, State.INVALID])
            .exclude(content__startswith="同样的问题")
            .order_by("pk")
        )
        return self.rng.choice(candidates) if candidates else None

    # moving tickets along

    def handler_for(self, ticket: Ticket) -> Any:
        bureau = self.bureau_of[ticket.department_id] if ticket.department_id else "cgj"
        if bureau == "cgj" and self.rng.random() < 0.3:
            return self.users["supervisor"]
        return self.users[BUREAU_HANDLERS[bureau]]

    def drive(self, ticket: Ticket, plan: Plan, message: services.IncomingMessage) -> Ticket:
        """Take the ticket to its planned state, one service call per step."""
        steps = Steps(self, ticket, plan)
        target = plan.target
        if target == State.NEW:
            return ticket
        if target == State.INVALID:
            if ticket.state == State.NEW and self.rng.random() < 0.5:
                steps.acknowledge()
            return steps.mark_invalid()
        if target == State.MERGED:
            if self.rng.random() < 0.3:
                steps.acknowledge()
            return steps.merge(plan.duplicate_of)
        steps.acknowledge()
        if target == State.ACKNOWLEDGED:
            return steps.ticket
        if target in (State.REPLIED, State.CLOSED) and steps.answerable_by_dispatcher():
            steps.reply(by_dispatcher=True)
        else:
            steps.assign()
            if target == State.ASSIGNED:
                return steps.ticket
            steps.accept()
            if target == State.WAITING_CITIZEN:
                return steps.request_info()
            if self.rng.random() < 0.15:
                steps.request_info()
                steps.citizen_answers(message)
            if target == State.IN_PROGRESS:
                return steps.ticket
            steps.reply()
        if target == State.CLOSED:
            if self.rng.random() < 0.08:
                steps.close_or_reopen(reopen=True)
                steps.reply()
            steps.close_or_reopen()
        return steps.ticket

    def run(self) -> None:
        self.organisation()
        self.people()
        plans = self.plans()
        for number, plan in enumerate(plans, start=1):
            ticket, message = self.open(plan)
            self.drive(ticket, plan, message)
            if number % 50 == 0 or number == len(plans):
                self.progress(f"已生成 {number}/{len(plans)} 件工单")


def overdue_q(now: dt.datetime) -> Q:
    return Q(state=State.NEW, ack_due_at__lt=now) | Q(
        state__in=[s for s in OPEN_STATES if s != State.NEW], resolve_due_at__lt=now
    )


def demo_load(*, progress: Callable[[str], None] = lambda line: None) -> Result:
    """Create the demo once: a second run finds the district and changes nothing."""
    if demo_loaded():
        return Result(created=False)
    now = timezone.now()
    with transaction.atomic():
        Loader(now=now, progress=progress).run()
        # The demo's timelines are history: the notices and callbacks they queued were never
        # due to anyone, so they are closed as not sent instead of being sent now.
        from integrations.models import OutboxMessage

        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).update(
            status=OutboxMessage.Status.UNDELIVERABLE, last_error="演示历史数据，不发送"
        )
    counts = Counter(Ticket.objects.values_list("state", flat=True))
    return Result(
        created=True,
        counts={state: counts.get(state, 0) for state in State.values},
        overdue=Ticket.objects.filter(overdue_q(timezone.now())).count(),
    )


# --- the logins table ----------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def logins_table() -> str:
    """Username, password, role and department of each demo account that exists."""
    profiles = {
        profile.user.username: profile
        for profile in StaffProfile.objects.select_related("user", "department").filter(
            user__username__in=[spec.username for spec in DEMO_USERS]
        )
    }
    rows = [("用户名", "密码", "角色", "部门")]
    for spec in DEMO_USERS:
        profile = profiles.get(spec.username)
        if profile is None:
            continue
        role = str(Role(profile.role).label) + (
            "（超级用户，可登录 /admin/）" if spec.superuser else ""
        )
        department = profile.department.name if profile.department else "-"
        rows.append((spec.username, spec.password, role, department))
    if len(rows) == 1:
        return "尚未加载演示数据：请先运行 manage.py load_demo。"
    widths = [max(_width(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "演示账号：\n" + "\n".join(lines)
