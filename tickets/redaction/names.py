"""People's names: the citizen's own, forms like 王先生 / 李女士 / 张某某, familiar forms like
老王 / 小李, and full names that a Chinese word segmenter (jieba, part-of-speech tag ``nr``)
finds.

The segmenter over-tags: many plain words, place names and four-character phrases carry ``nr``
(高峰, 红旗, 井盖, 向阳路, 郑重声明, 石沉大海). For plain words we prefer precision: a candidate
must start with a common surname, must not be a frequent dictionary word, must not be on the
list of known look-alikes, and must not be followed by a place word (路, 街道, 小区, …); a
four-character candidate must start with a compound surname (欧阳娜娜), since a single surname
and three characters is a set phrase far more often than a name. A missed name is caught by
the reviewer; a masked road name would make every record pending for nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

Span = tuple[int, int]

SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿"
    "关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华"
    "喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗"
    "瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 南宫".split()
)
# Surnames that are also prepositions or conjunctions: "和老师沟通", "向先生反映" are ambiguous,
# so these take only the unmistakable 某某 form.
AMBIGUOUS_SURNAMES = frozenset("和向于与同及时全成明关解单应车党路")
TITLES = (
    "先生 女士 小姐 师傅 阿姨 大爷 大妈 大姐 大哥 老师 医生 经理 主任 老板 书记 队长 律师 "
    "警官 科长 局长 处长 同志 老汉 奶奶 爷爷"
).split()
_TITLE_RE = "|".join(sorted(TITLES, key=len, reverse=True))
# 张某某 / 王某: 某 alone must not begin a word like 某些, 某天, 某个.
_MOU = r"某某|某(?![些种个天处时地项位次年月日样类件方单区栋部家])"
HONORIFIC = re.compile(
    rf"(?:{'|'.join(sorted(COMPOUND_SURNAMES))}|[{''.join(sorted(SURNAMES))}])"
    rf"(?:{_MOU}|(?:{_TITLE_RE}))"
)

# Words that begin with a surname and are tagged as names by the segmenter, but are not.
LOOKALIKES = frozenset(
    "高峰 红旗 井盖 高明 白云 陈列 向阳 常年 黄金 文明 方便 周到 金华 江南 万家 华润 马路 石油 "
    "林业 高速 杨柳 于是 和平 安全 明天 时间 成都 江汉 武昌 黄河 长江 钱塘 宁静 温暖 康复 "
    "安康 齐全 高新 罗马 钟表 海洋 雷锋 包公 宋体 龙头 米饭 黎明 景观 曲线 甘露 柏油 关门 "
    "金融 万达 苏宁 国美 沙发 华为 叶子 毛巾 牛奶 鲁迅 孔子 熊猫 黄牛 夏天 秋天 冷水 冷气 "
    "温度 程序 谷歌 任务 文化 申请 司机 路面 连续 宫殿 梅花 桂花 石头 苗木 管理 简单 房屋 "
    "邱山 江滩 金桥 易拉罐 童车 全民 龙虾 鲍鱼 余额 余量 贺卡 施工 师生 蓝天 卫生 宁波 常州 "
    "柳絮 古建筑 小时工".split()
)
# 老/小 + surname that are words, not people: 老师, 小时, 小米, 老房子, 小黄车 (each entry is
# matched at the position of 老/小, so longer entries stop longer words).
FAMILIAR_LOOKALIKES = frozenset(
    "老师 老农 老成 老房 老翁 老牛 老汤 老毛 老边 老景 老许 老白干 老马识途 老黄历 老古董 "
    "老江湖 老顾 老宋体 小于 小付 小农 小包 小叶 小商 小孔 小康 小房 小时 小曲 小段 小池 "
    "小牛 小石 小程 小米 小苗 小解 小费 小边 小钱 小项 小麦 小龙 小童 小熊 小毛 小许 小景 "
    "小宫 小谷 小方 小金 小黄车 小白菜 小白兔 小卫 小吃 小武 小蒋 小沙 小汪".split()
)
# Villages and hills: 宋家岗, 李家湾 are places (the next word is one of these on its own).
PLACE_TOKENS = frozenset("岗 坡 营 屯 寨 垸 咀 嘴 墩 铺 洲 坝 岭 塘 滩 坪 堡 畈 湾 台 集".split())
# A name is never followed directly by these (they make it a place: 向阳路, 红旗街道).
PLACE_WORDS = re.compile(
    r"^(?:路|街|道|大道|大街|巷|弄|胡同|村|镇|乡|区|县|市|省|桥|湖|江|河|山|园|广场|公园|小区|花园|"
    r"社区|街道|站|中学|小学|学校|医院|市场|超市|公司|大厦|商场|酒店|饭店|宾馆|家园|苑|城|湾|港|"
    r"口|门|坊|里|庄|集团|银行|工地|车站|码头|机场|地铁|店|委|局|厅|署|院|办)"
)
# A word followed by a building or a phase is the name of a housing estate (华庭9栋, 金城二期).
BUILDING_AFTER = re.compile(
    r"\s*(?:[A-Za-z]?\d{1,3}|[一二三四五六七八九十]{1,3})(?:栋|幢|号楼|号院|单元|期|座)"
)
# 卫健委, 城管局: an organisation, not a person.
ORG_ENDINGS = frozenset("委局厅署院")
NAME_TAGS = ("nr", "nrfg")
COMMON_WORD_FREQ = 100

_lock = threading.Lock()
_ready = False


def _segmenter() -> Any:
    """jieba, initialised once per process (it loads its dictionary in about a second)."""
    global _ready
    import jieba
    import jieba.posseg

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(60)
                jieba.initialize()
                _ready = True
    return jieba


def _surname_ok(word: str) -> bool:
    return word[:2] in COMPOUND_SURNAMES or word[0] in SURNAMES


def _plausible_name(word: str, flag: str, following: str, jieba: Any) -> bool:
    if not 2 <= len(word) <= 4 or not _surname_ok(word) or word in LOOKALIKES:
        return False
    if len(word) == 4 and word[:2] not in COMPOUND_SURNAMES:
        return False  # 郑重声明, 石沉大海, 杨柳依依: a set phrase, not 郑 + three characters
    if any(word.endswith(title) for title in TITLES):
        return False  # 陈书记: the honorific rule decides those
    if PLACE_WORDS.match(following) or PLACE_WORDS.match(word[-1:]) or word[-1] in ORG_ENDINGS:
        return False
    # A frequent dictionary word is a plain word far more often than somebody's name
    # (jieba's own "nrfg" words are names of people, so they may be more frequent).
    limit = COMMON_WORD_FREQ * (10 if flag == "nrfg" else 1)
    return int(jieba.dt.FREQ.get(word) or 0) < limit


def find_segmented_names(text: str) -> Iterator[Span]:
    jieba = _segmenter()
    tokens = [(token.word, token.flag) for token in jieba.posseg.cut(text)]
    offset = 0
    for index, (word, flag) in enumerate(tokens):
        start, offset = offset, offset + len(word)
        if flag not in NAME_TAGS:
            continue
        following = "".join(token for token, _flag in tokens[index + 1 : index + 3])
        if index + 1 < len(tokens) and tokens[index + 1][0] in PLACE_TOKENS:
            continue  # 宋家岗
        if BUILDING_AFTER.match(text, offset):
            continue  # 锦绣华庭9栋: the name of a housing estate
        if _plausible_name(word, flag, following, jieba):
            yield start, offset


def _dictionary_tokens(text: str) -> list[tuple[str, int, int]]:
    """Dictionary words only: without its HMM the segmenter never glues an unknown pair like
    问张 (问张大爷) or 员小 (快递员小刘) into one "word"."""
    return list(_segmenter().tokenize(text, HMM=False))


def _inside_word(tokens: list[tuple[str, int, int]]) -> set[int]:
    return {position for _word, start, end in tokens for position in range(start + 1, end)}


def find_honorific_names(text: str) -> Iterator[Span]:
    matches = list(HONORIFIC.finditer(text))
    if not matches:
        return
    # 语文老师, 公安局长, 关于某某: the "surname" ends a word that began before it.
    inside_word = _inside_word(_dictionary_tokens(text))
    for match in matches:
        if match.start() in inside_word:
            continue
        if match.group(0)[0] in AMBIGUOUS_SURNAMES and "某" not in match.group(0):
            continue
        yield match.span()


FAMILIAR = re.compile(rf"[老小][{''.join(sorted(SURNAMES - AMBIGUOUS_SURNAMES))}](?:{_TITLE_RE})?")


def find_familiar_names(text: str) -> Iterator[Span]:
    """老王, 小李 (and 老王师傅): 老/小 must begin a word, and the surname must not begin one
    (小程序, 老顾客, 小高层) unless it is the family's home (老王家)."""
    matches = list(FAMILIAR.finditer(text))
    if not matches:
        return
    tokens = _dictionary_tokens(text)
    starting = {start: word for word, start, _end in tokens}
    for match in matches:
        position = match.start()
        word = starting.get(position)
        if word is None or any(text.startswith(stop, position) for stop in FAMILIAR_LOOKALIKES):
            continue  # 从小, 大小: 老/小 ends a word that began before it
        pair = text[position : position + 2]
        if word != pair:
            if len(word) > 1:
                continue  # 小王子, 老房子, 小时候: one longer word
            after = starting.get(position + 1, "")
            family = after == pair[1] + "家"
            titled = any(after == pair[1] + title for title in TITLES)
            if len(after) > 1 and not family and not titled:
                continue  # 小程序, 老顾客, 小高层住宅
        yield match.span()


def find_known_names(text: str, names: Iterable[str]) -> Iterator[Span]:
    """The citizen's own name (and any other name we know), wherever it appears."""
    for name in {name.strip() for name in names if name and len(name.strip()) >= 2}:
        for match in re.finditer(re.escape(name), text):
            yield match.span()
