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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets import services
from tickets.models import (
    OPEN_STATES,
    Category,
    Channel,
    CitizenIdentity,
    Department,
    RequestType,
    Role,
    StaffProfile,
    State,
    Ticket,
    Urgency,
)

DISTRICT_CODE = "qingshan"
SEED = 20240601
TICKETS = 300
DAYS = 45
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
WECHAT_ACCOUNT = "gh_qingshan12345"
WEIBO_ACCOUNT = "qingshan_weibo"

T = TypeVar("T")

# --- organisation --------------------------------------------------------------------------

# (code, name, level, parent code)
DEPARTMENTS: list[tuple[str, str, str, str]] = [
    (DISTRICT_CODE, "青山区", "district", ""),
    ("cgj", "区城管局", "bureau", DISTRICT_CODE),
    ("cgj-sr", "市容环卫科", "section", "cgj"),
    ("cgj-zf", "城管执法大队", "section", "cgj"),
    ("zjj", "区住建局", "bureau", DISTRICT_CODE),
    ("zjj-wy", "物业管理科", "section", "zjj"),
    ("zjj-fw", "房屋安全科", "section", "zjj"),
    ("jtj", "区交通运输局", "bureau", DISTRICT_CODE),
    ("jtj-gj", "公交管理科", "section", "jtj"),
    ("jtj-dl", "道路养护科", "section", "jtj"),
    ("sthjj", "区生态环境局", "bureau", DISTRICT_CODE),
    ("scjgj", "区市场监管局", "bureau", DISTRICT_CODE),
    ("swj", "区水务局", "bureau", DISTRICT_CODE),
    ("jyj", "区教育局", "bureau", DISTRICT_CODE),
    ("wjw", "区卫健委", "bureau", DISTRICT_CODE),
    ("gafj", "青山公安分局", "bureau", DISTRICT_CODE),
    ("jdb", "街道办事处", "bureau", DISTRICT_CODE),
    ("jdb-hp", "和平街道", "section", "jdb"),
    ("jdb-gr", "工人村街道", "section", "jdb"),
    ("jdb-hq", "红旗街道", "section", "jdb"),
]

# (code, name, parent code, default department code)
CATEGORIES: list[tuple[str, str, str, str]] = [
    ("city", "市容环境", "", "cgj"),
    ("streetlights", "路灯", "city", "cgj-sr"),
    ("street-vendors", "占道经营", "city", "cgj-zf"),
    ("garbage", "垃圾清运", "city", "cgj-sr"),
    ("illegal-building", "违章搭建", "city", "cgj-zf"),
    ("outdoor-ads", "户外广告", "city", "cgj-sr"),
    ("housing", "住房", "", "zjj"),
    ("property", "物业", "housing", "zjj-wy"),
    ("roof-leak", "房屋漏水", "housing", "zjj-fw"),
    ("old-estates", "老旧小区改造", "housing", "zjj"),
    ("traffic", "交通", "", "jtj"),
    ("buses", "公交", "traffic", "jtj-gj"),
    ("road-damage", "道路破损", "traffic", "jtj-dl"),
    ("taxis", "出租车", "traffic", "jtj"),
    ("environment", "生态环境", "", "sthjj"),
    ("noise", "噪声扰民", "environment", "sthjj"),
    ("cooking-fumes", "餐饮油烟", "environment", "sthjj"),
    ("air-pollution", "大气污染", "environment", "sthjj"),
    ("market", "市场监管", "", "scjgj"),
    ("food-safety", "食品安全", "market", "scjgj"),
    ("prices", "价格收费", "market", "scjgj"),
    ("elevators", "电梯安全", "market", "scjgj"),
    ("water", "供水排水", "", "swj"),
    ("water-outage", "停水", "water", "swj"),
    ("pipe-leak", "管道漏水", "water", "swj"),
    ("waterlogging", "积水内涝", "water", "swj"),
    ("education", "教育", "", "jyj"),
    ("enrolment", "招生入学", "education", "jyj"),
    ("tutoring", "校外培训", "education", "jyj"),
    ("health", "医疗卫生", "", "wjw"),
    ("clinics", "医疗服务", "health", "wjw"),
    ("vaccination", "疫苗接种", "health", "wjw"),
    ("public-security", "社会治安", "", "gafj"),
    ("disorder", "治安问题", "public-security", "gafj"),
    ("parking", "违章停车", "public-security", "gafj"),
    ("traffic-lights", "交通信号灯", "public-security", "gafj"),
    ("community", "社区事务", "", "jdb"),
    ("neighbours", "邻里纠纷", "community", "jdb-hp"),
    ("elderly-care", "养老服务", "community", "jdb-gr"),
    ("community-services", "社区服务", "community", "jdb-hq"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    role: str
    department: str
    superuser: bool = False

    @property
    def password(self) -> str:
        # Bureau handlers beyond the two named ones share one password, to keep the list short.
        if self.username.startswith("handler-"):
            return "minsheng-handler"
        return f"minsheng-{self.username}"


DEMO_USERS: list[DemoUser] = [
    DemoUser("dispatcher", "张敏", Role.DISPATCHER, DISTRICT_CODE),
    DemoUser("handler", "李强", Role.HANDLER, "cgj"),
    DemoUser("handler2", "王芳", Role.HANDLER, "zjj"),
    DemoUser("supervisor", "赵刚", Role.SUPERVISOR, "cgj"),
    DemoUser("leadership", "陈书记", Role.LEADERSHIP, DISTRICT_CODE),
    DemoUser("admin", "系统管理员", Role.ADMIN, DISTRICT_CODE, superuser=True),
    DemoUser("handler-jtj", "刘洋", Role.HANDLER, "jtj"),
    DemoUser("handler-sthjj", "孙丽", Role.HANDLER, "sthjj"),
    DemoUser("handler-scjgj", "周杰", Role.HANDLER, "scjgj"),
    DemoUser("handler-swj", "吴涛", Role.HANDLER, "swj"),
    DemoUser("handler-jyj", "郑静", Role.HANDLER, "jyj"),
    DemoUser("handler-wjw", "冯磊", Role.HANDLER, "wjw"),
    DemoUser("handler-gafj", "何勇", Role.HANDLER, "gafj"),
    DemoUser("handler-jdb", "罗娟", Role.HANDLER, "jdb"),
]
BUREAU_HANDLERS = {"cgj": "handler", "zjj": "handler2"} | {
    user.department: user.username for user in DEMO_USERS if user.username.startswith("handler-")
}

# --- what citizens write -------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    category: str
    request_type: str
    text: str
    may_be_urgent: bool = False


TEMPLATES: list[Template] = [
    Template(
        "streetlights",
        RequestType.HELP,
        "{place}的路灯已经坏了一个多星期，晚上一片漆黑，老人孩子出行很不安全，请尽快派人维修。",
    ),
    Template(
        "street-vendors",
        RequestType.COMPLAINT,
        "{place}每天傍晚都有大量流动摊贩占道经营，行人只能走到机动车道上，希望城管部门加强管理。",
    ),
    Template(
        "garbage",
        RequestType.COMPLAINT,
        "{place}的垃圾桶已经三天没人清运了，垃圾堆满溢出，天气热气味很大，请尽快处理。",
    ),
    Template(
        "illegal-building",
        RequestType.REPORT,
        "{place}有住户在楼顶私自搭建彩钢房，已经施工好几天了，担心影响房屋结构安全，请核查。",
    ),
    Template(
        "property",
        RequestType.COMPLAINT,
        "{place}物业收费后不作为，绿化无人打理，门禁坏了半个月没修，业主多次反映都没有回应。",
    ),
    Template(
        "roof-leak",
        RequestType.HELP,
        "我家住{place}顶楼，最近一下雨屋顶就漏水，墙面发霉，物业和开发商互相推诿，请帮忙协调维修。",
    ),
    Template(
        "buses",
        RequestType.SUGGEST,
        "建议在{place}附近增设公交站点，目前最近的站点要步行二十多分钟，居民上下班很不方便。",
    ),
    Template(
        "road-damage",
        RequestType.HELP,
        "{place}路面出现一个大坑，已经有电动车在这里摔倒，下雨天积水看不见更危险，请尽快修补。",
        may_be_urgent=True,
    ),
    Template(
        "noise",
        RequestType.COMPLAINT,
        "{place}附近工地夜间施工到凌晨一两点，噪音非常大，严重影响休息，请核查是否有夜间施工许可。",
    ),
    Template(
        "cooking-fumes",
        RequestType.COMPLAINT,
        "{place}楼下餐馆油烟直排，没有安装油烟净化设备，家里窗户都不敢开，请环保部门查处。",
    ),
    Template(
        "food-safety",
        RequestType.REPORT,
        "在{place}一家小吃店用餐后出现腹泻，店内卫生条件很差，怀疑食材不新鲜，请市场监管部门检查。",
    ),
    Template(
        "prices",
        RequestType.COMPLAINT,
        "{place}的超市标价和结账价格不一致，多收了钱，找店员理论也不给退，请市场监管部门处理。",
    ),
    Template(
        "elevators",
        RequestType.HELP,
        "{place}的电梯经常突然停运，上周还困过人，物业说在等配件，已经拖了一个月，请督促维修。",
        may_be_urgent=True,
    ),
    Template(
        "water-outage",
        RequestType.CONSULT,
        "{place}从今天早上开始停水，事先没有收到任何通知，请问什么时候能恢复供水？",
        may_be_urgent=True,
    ),
    Template(
        "waterlogging",
        RequestType.HELP,
        "每次下大雨{place}都会严重积水，最深的地方没过膝盖，车辆无法通行，请疏通排水管网。",
        may_be_urgent=True,
    ),
    Template(
        "enrolment",
        RequestType.CONSULT,
        "孩子今年上小学，户籍在{place}，请问对口学校是哪所？需要准备哪些入学材料？",
    ),
    Template(
        "tutoring",
        RequestType.REPORT,
        "{place}有一家校外培训机构周末违规开展学科类培训，收费很高，请教育部门查处。",
    ),
    Template(
        "clinics",
        RequestType.COMPLAINT,
        "在{place}附近的社区卫生服务中心就诊，排队两个多小时，医生态度也很差，希望改进服务。",
    ),
    Template(
        "parking",
        RequestType.COMPLAINT,
        "{place}门口长期有车辆乱停乱放，堵住了消防通道和小区出入口，请交警部门治理。",
    ),
    Template(
        "neighbours",
        RequestType.HELP,
        "{place}楼上住户长期在阳台养鸡，气味难闻还很吵，多次沟通无果，请社区帮忙调解。",
    ),
    Template(
        "elderly-care",
        RequestType.CONSULT,
        "{place}的老人想申请居家养老服务补贴，请问需要什么条件、到哪里办理？",
    ),
    Template(
        "traffic-lights",
        RequestType.SUGGEST,
        "{place}的红绿灯设置不合理，行人绿灯只有十几秒，老人根本走不过去，建议延长。",
    ),
    Template(
        "disorder",
        RequestType.REPORT,
        "{place}附近最近晚上经常有人聚集喝酒闹事，还发生过打架，居民很害怕，希望加强巡逻。",
    ),
    Template(
        "air-pollution",
        RequestType.REPORT,
        "{place}附近有工厂晚上偷偷排放废气，气味刺鼻，请环保部门夜间突击检查。",
    ),
]

PLACES = [
    "建设路与青山大道交叉口",
    "和平街道幸福小区",
    "红旗路88号",
    "青山公园南门",
    "钢都花园二期",
    "工人村三街坊",
    "冶金大道地铁站B口",
    "青和居小区",
    "团结大道菜市场",
    "新沟桥小学门口",
    "仁和路步行街",
    "厂前还建小区",
    "八大家花园",
    "青山镇老街",
    "临江大道江滩段",
    "钢花村街道办对面",
]
ENDINGS = [
    "",
    "谢谢！",
    "希望尽快解决。",
    "之前已经反映过一次，还是没有解决。",
    "麻烦尽快处理，谢谢。",
]
SPAM = [
    "低价代办各类证件，诚信经营，加微信详聊。",
    "测试",
    "你好",
    "转发抽奖，转发本条微博就有机会获得手机一部！",
    "？？？",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
QUESTIONS = [
    "请提供具体门牌号和现场照片，以便我们到现场核查。",
    "请补充问题发生的具体时间段。",
    "请提供购物小票或付款凭证。",
    "请说明您方便接听电话的时间，我们将与您联系。",
]
REPLIES = [
    "您好，您反映的问题经{dept}现场核查属实，已安排人员处理完毕。感谢您对我区工作的支持！",
    "您好，{dept}已联系相关单位，问题已于近日整改到位，我们将持续跟踪。",
    "您好，经{dept}调查，已责令相关方限期整改，并将加强日常巡查。如有问题请再次反映。",
]
CONSULT_REPLIES = [
    "您好，关于您咨询的问题，{dept}答复如下：请携带身份证和户口簿到所在街道政务服务中心办理。",
    "您好，经{dept}了解，相关情况已在区政府网站公布，您也可拨打12345热线进一步咨询。",
]
RETURN_REASONS = ["该问题不属于本部门职责，请重新派单。", "诉求地址不在本部门辖区，请转相关部门。"]

# How many tickets end in each state (300 in all).
STATE_MIX: list[tuple[str, int]] = [
    (State.NEW, 24),
    (State.ACKNOWLEDGED, 18),
    (State.ASSIGNED, 26),
    (State.IN_PROGRESS, 42),
    (State.WAITING_CITIZEN, 15),
    (State.REPLIED, 40),
    (State.CLOSED, 100),
    (State.MERGED, 15),
    (State.INVALID, 20),
]
CHANNEL_MIX: list[tuple[str, int]] = [
    (Channel.WEBSITE, 30),
    (Channel.WECHAT, 30),
    (Channel.WEIBO, 15),
    (Channel.HOTLINE, 25),
]
# How long ago tickets heading for each state arrived, in days (low, high).
AGE_DAYS: dict[str, tuple[float, float]] = {
    State.ACKNOWLEDGED: (0.1, 3),
    State.ASSIGNED: (0.2, 6),
    State.IN_PROGRESS: (1, 14),
    State.WAITING_CITIZEN: (1, 12),
    State.REPLIED: (2, 12),
    State.CLOSED: (8, DAYS),
    State.MERGED: (1, 40),
    State.INVALID: (0.5, DAYS),
}
# Open tickets that arrived long ago, so the data has overdue cases.
OLD_AGE_DAYS = (18.0, 40.0)


# --- the run -------------------------------------------------------------------------------


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


@contextmanager
def _frozen(moment: dt.datetime) -> Iterator[None]:
    # A dev dependency (requirements-dev.txt, which ``make run`` installs): imported here only.
    import time_machine

    with time_machine.travel(moment, tick=False):
        yield


def _at(moment: dt.datetime, action: Callable[..., T], **kwargs: Any) -> T:
    with _frozen(moment):
        return action(**kwargs)


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


class Steps:
    """One ticket's way through the workflow: each step a little after the one before."""

    def __init__(self, loader: Loader, ticket: Ticket, plan: Plan) -> None:
        self.loader = loader
        self.rng = loader.rng
        self.ticket = ticket
        self.plan = plan
        self.moment = ticket.received_at
        self.dispatcher = loader.users["dispatcher"]

    def _next(self, delay: dt.timedelta) -> dt.datetime:
        # Never in the future: squeeze the step between the last one and now.
        latest = self.loader.now - 20 * MINUTE
        moment = self.moment + delay
        if moment > latest:
            room = max(latest - self.moment, MINUTE)
            moment = self.moment + room * self.rng.uniform(0.2, 0.6)
        self.moment = moment
        return moment

    def _do(self, delay: dt.timedelta, action: Callable[..., Ticket], **kwargs: Any) -> Ticket:
        self.ticket = _at(self._next(delay), action, ticket_id=self.ticket.pk, **kwargs)
        return self.ticket

    def acknowledge(self) -> Ticket:
        if self.ticket.state != State.NEW:
            return self.ticket  # 12345 work orders arrive acknowledged
        late = self.rng.random() < 0.12
        minutes = self.rng.uniform(32, 120) if late else self.rng.uniform(2, 25)
        return self._do(minutes * MINUTE, services.ticket_acknowledge, actor=self.dispatcher)

    def answerable_by_dispatcher(self) -> bool:
        template = TEMPLATES[self.plan.template]
        return template.request_type == RequestType.CONSULT and self.rng.random() < 0.4

    def classify(self) -> None:
        if self.ticket.category_id is not None:
            return
        category = self.loader.categories[TEMPLATES[self.plan.template].category]
        self._do(
            self.rng.uniform(1, 10) * MINUTE,
            services.ticket_classify,
            actor=self.dispatcher,
            category_id=category.pk,
        )

    def assign(self) -> Ticket:
        self.classify()
        if self.rng.random() < 0.08:
            # Sent to the wrong bureau first: it returns the case (退单) and dispatch tries again.
            wrong = self.loader.departments[self.rng.choice(["jtj", "swj", "jdb"])]
            category = self.ticket.category
            if category is not None and wrong.pk != category.default_department_id:
                self._do(
                    self.rng.uniform(5, 60) * MINUTE,
                    services.ticket_assign,
                    actor=self.dispatcher,
                    department_id=wrong.pk,
                )
                self._do(
                    self.rng.uniform(1, 6) * HOUR,
                    services.ticket_return,
                    actor=self.loader.handler_for(self.ticket),
                    reason=self.rng.choice(RETURN_REASONS),
                )
        return self._do(
            self.rng.uniform(5, 60) * MINUTE, services.ticket_assign, actor=self.dispatcher
        )

    def accept(self) -> Ticket:
        return self._do(
            self.rng.uniform(0.5, 8) * HOUR,
            services.ticket_accept,
            actor=self.loader.handler_for(self.ticket),
        )

    def request_info(self) -> Ticket:
        return self._do(
            self.rng.uniform(2, 30) * HOUR,
            services.ticket_request_info,
            actor=self.ticket.assignee or self.loader.handler_for(self.ticket),
            question=self.rng.choice(QUESTIONS),
        )

    def citizen_answers(self, message: services.IncomingMessage) -> Ticket:
        moment = self._next(self.rng.uniform(2, 48) * HOUR)
        if message.may_follow_up:
            # The citizen answers in the same chat: intake joins it to the ticket and resumes.
            answer = services.IncomingMessage(
                channel=message.channel,
                sender_kind=message.sender_kind,
                sender_id=message.sender_id,
                account=message.account,
                text=f"补充：具体位置在{PLACES[self.plan.place]}东侧五十米左右，照片稍后发送。",
            )
            _at(moment, services.intake_message, message=answer)
        else:
            _at(
                moment,
                services.ticket_resume,
                actor=self.ticket.assignee or self.loader.handler_for(self.ticket),
                ticket_id=self.ticket.pk,
                note="市民已电话补充情况",
            )
        self.ticket = Ticket.objects.get(pk=self.ticket.pk)
        return self.ticket

    def reply(self, *, by_dispatcher: bool = False) -> Ticket:
        remaining = self.ticket.resolve_due_at - self.moment
        if by_dispatcher:
            self.classify()
            delay = self.rng.uniform(10, 90) * MINUTE
        elif self.rng.random() < 0.15 or remaining < HOUR:
            delay = max(remaining, dt.timedelta()) + self.rng.uniform(0.3, 3) * DAY  # late
        else:
            delay = max(remaining * self.rng.uniform(0.1, 0.8), 30 * MINUTE)
        department = self.ticket.department.name if self.ticket.department else "区政务服务热线"
        consult = self.ticket.request_type == RequestType.CONSULT
        actor = self.dispatcher if by_dispatcher else self.ticket.assignee
        return self._do(
            delay,
            services.ticket_reply,
            actor=actor or self.loader.handler_for(self.ticket),
            content=self.rng.choice(CONSULT_REPLIES if consult else REPLIES).format(
                dept=department
            ),
        )

    def close_or_reopen(self, *, reopen: bool = False) -> Ticket:
        delay = self.rng.uniform(1, 5) * DAY
        if reopen:
            return self._do(
                delay,
                services.ticket_reopen,
                actor=self.dispatcher,
                reason="市民回访不满意：问题没有解决。",
            )
        return self._do(delay, services.ticket_close, actor=self.dispatcher)

    def mark_invalid(self) -> Ticket:
        reason = "广告或无实际诉求内容" if self.plan.spam else "经核实不属于政务诉求"
        return self._do(
            self.rng.uniform(5, 40) * MINUTE,
            services.ticket_mark_invalid,
            actor=self.dispatcher,
            reason=reason,
        )

    def merge(self, target: Ticket | None) -> Ticket:
        assert target is not None
        return self._do(
            self.rng.uniform(5, 40) * MINUTE,
            services.ticket_merge,
            actor=self.dispatcher,
            into_case_no=target.case_no,
        )


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
