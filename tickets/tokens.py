"""Words of a citizen's message for the text models (hot issues, routing suggestions).

Pure functions of text (no database). jieba segments the Chinese (search mode, so
``供水管`` also yields ``供水`` and ``水管``); boilerplate that every message shares (来电人反映,
请尽快处理) is dropped; a small lexicon of 12345 concepts maps the many ways people name one
problem (爆管, 水管破了, 供水管道破裂) to one shared token, so two reports of one burst pipe look
alike even when they share few words. The lexicon is domain knowledge, not a model: extend it
when dispatchers see a hot issue split in two.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tickets.redaction.names import _segmenter

MENTION = re.compile(r"[@＠][\w\u3400-\u9fff]+")
HAS_WORD = re.compile(r"[\w\u3400-\u9fff]")
RUNS = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")
CJK_START = re.compile(r"[\u3400-\u9fff]")

STOPWORDS = frozenset(
    """
    的 了 是 在 我 我们 我家 你 你们 他 她 它 他们 这 那 这边 那边 都 也 还 就 又 很 太 和 与 及
    或 被 把 给 让 对 向 从 到 有 没 没有 不 要 会 能 可以 一个 一些 什么 怎么 怎么办 为什么 吗
    呢 啊 吧 呀 哦 嘛 啦 请 请问 尽快 希望 麻烦 谢谢 感谢 帮忙 处理 解决 反映 来电 来电人 市民
    投诉 举报 建议 咨询 问题 情况 相关 部门 目前 已经 现在 今天 昨天 每天 一直 还是 多次 这里
    那里 那个 这个 能不能 有没有 人 称 再次 要求 表示 说 其 之 等 后 前 上 下 里 中 个 次 已 未
    并 且 而 但 但是 因为 所以 如果 非常 特别 比较 严重 影响 您好 你好 尽早 及时 一下 最近 经常
    之前 一次 还有 时候 知道 任何 一直在 好几天 天天 多人
    """.split()
)

# concept: the words that name it. Each word found adds the concept's token ("概念:<name>").
CONCEPTS: dict[str, str] = {
    "水管": "水管 供水管 自来水管 管道 管子 爆管 管网 主管 供水管道",
    "破裂": "爆 爆裂 破裂 破 裂 爆管 冒水 外涌 漏水 渗水",
    "停水": "停水 没水 断水 来水 无水 恢复供水 水压",
    "积水": "积水 淹 水深 内涝 没过 排水 排水口 雨水口 下水道",
    "污水": "污水 排污 化粪池 倒灌 冒污水 外溢 堵塞",
    "噪音": "噪音 噪声 吵 吵死 吵醒 声音 响 扰民 睡不着 睡不好 睡觉",
    "施工": "施工 打桩 挖掘机 作业 干活 装修 电钻 电锯 切割 工地",
    "夜间": "夜间 晚上 半夜 凌晨 深夜 夜里 十二点 十一点 两三点",
    "垃圾": "垃圾 清运 环卫 满溢 垃圾站 垃圾桶",
    "路灯": "路灯 灯 不亮 漆黑 黑漆漆 景观灯",
    "电梯": "电梯 困人 扶梯 维保",
    "油烟": "油烟 烧烤 烟熏 熏 油烟机",
    "异味": "异味 臭 刺鼻 怪味 气味 臭味 化工味 废气",
    "摊贩": "摊贩 摆摊 地摊 占道 小摊 夜市 流动摊贩",
    "停车": "停车 违停 乱停 停放 乱停乱放 僵尸车",
    "路面": "坑 坑洞 塌陷 路面 破损 裂缝 开裂",
    "信号灯": "信号灯 红绿灯 黄灯 绿灯",
    "公交": "公交 公交车 线路 站点 改线 班次 停靠站 公交站",
    "培训": "培训 培训机构 学费 退费 课时费 跑路 卷钱",
    "疫苗": "疫苗 狂犬 接种 打针",
    "广场舞": "广场舞 音响 音箱",
    "河道": "死鱼 河道 水质 发臭 发黑",
    "围挡": "围挡 堵车 拥堵",
    "井盖": "井盖 窨井盖 窨井",
    "补贴": "津贴 补贴 高龄",
    "入学": "划片 学区 片区 对口 招生 入学",
    "食品": "腹泻 拉肚子 上吐下泻 吃坏 肚子痛 变质 过期",
    "价格": "价签 标价 多收 结账 收银 明码标价",
    "出租车": "拒载 打表 议价 出租车",
    "漏雨": "漏雨 屋面 防水 顶楼 屋顶",
    "流浪狗": "流浪狗 野狗 流浪犬",
    "候车亭": "候车亭 顶棚 站台",
    "树木": "倒伏 刮倒 大树 行道树 树枝",
    "午餐": "午餐 午饭 配餐 饭菜",
    "食堂": "食堂 老年食堂",
    "门禁": "门禁",
    "停车费": "停车费 停车收费",
    "渣土": "渣土 渣土车 撒漏 尘土 冲洗",
    "公厕": "公厕 厕所",
    "违建": "违建 搭建 加建 扩建 彩钢房",
}
_LEXICON: dict[str, tuple[str, ...]] = {}
for _concept, _words in CONCEPTS.items():
    for _word in _words.split():
        _LEXICON[_word] = (*_LEXICON.get(_word, ()), "概念:" + _concept)


def normalise(text: str) -> str:
    """Lower case, without @mentions (a Weibo post names an account, not the problem)."""
    return MENTION.sub(" ", text or "").lower()


@lru_cache(maxsize=50_000)
def _segments(text: str) -> tuple[str, ...]:
    return tuple(_segmenter().lcut_for_search(text))


def words(text: str) -> list[str]:
    """The meaningful words of ``text`` (search-mode jieba, stopwords and punctuation out)."""
    return [
        word
        for word in _segments(normalise(text))
        if HAS_WORD.search(word) and word not in STOPWORDS and not word.isspace()
    ]


def concepts(found: list[str]) -> list[str]:
    """One ``概念:<name>`` token per concept word in ``found`` (a word may name two)."""
    out: list[str] = []
    for word in found:
        out.extend(_LEXICON.get(word, ()))
    return out


def chars(text: str, low: int = 1, high: int = 2) -> list[str]:
    """Character n-grams of the Chinese runs (``low``..``high``), whole runs of letters/digits:
    robust where segmentation differs (``钢都花园`` vs ``钢都``)."""
    out: list[str] = []
    for run in RUNS.findall(text):
        if not CJK_START.match(run):
            out.append(run)
            continue
        for size in range(low, high + 1):
            out.extend(run[i : i + size] for i in range(len(run) - size + 1))
    return out
