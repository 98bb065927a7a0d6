"""The demo district's data: departments, categories, people, complaint texts, and the mix
of channels, states and ages the loader draws from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tickets.models import (
    Channel,
    RequestType,
    Role,
    State,
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
