"""What a reviewer must look at twice: spans of a public copy that still look like a number, an
ID or an account handle, whether or not a rule recognised them as personal data.

The masking rules are precise on purpose (an order number stays); this list is wide on purpose
(an order number is shown to the reviewer). A reviewer may publish a copy that still has such a
span only after confirming it explicitly. Pure functions, no database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tickets.redaction.core import KIND_LABELS

SUSPECT_LABELS: dict[str, str] = {
    "number": "疑似号码",
    "id": "疑似证件号或卡号",
    "handle": "疑似账号",
}

_ALNUM = "0-9A-Za-z"
# Digits in groups joined by single spaces or hyphens: 138 1234 5678, 6222-0212-3456.
DIGITS = re.compile(rf"(?<![{_ALNUM}_.])\d+(?:[ -]\d+)*(?![{_ALNUM}_])")
# A phone number read out in Chinese numerals: 幺三八一二三四五六七八.
CN_DIGITS = re.compile(r"[〇零幺一二三四五六七八九]{7,}")
# Letters and digits mixed (SF1234567890123, E12345678, 42010219900307123X), or letters joined
# by "_" or "-" (chen_lao_ban, zhangsan-2020): an ID or an account name, not a word.
TOKEN = re.compile(rf"(?<![{_ALNUM}_.@-])[{_ALNUM}][{_ALNUM}_-]*[{_ALNUM}](?![{_ALNUM}_@-])")
# @mentions (Weibo, Douyin) and what is left of an address the e-mail rule did not see (wang@163).
MENTION = re.compile(r"@[^\s@，。、；;：:！!？?（）()《》<>\"'“”]{1,30}")
# An account name right after the word for one, even letters only: 微博：xiaoming.
HANDLE_WORD = re.compile(
    r"(?:微信|微博|抖音|快手|小红书|[Bb]站|[Qq]{2}|[Ii][Dd]|账号|帐号|用户名|昵称)"
    r"(?:号|名)?\s*(?:是|为|:|：)?\s*([A-Za-z][A-Za-z0-9_.-]{3,29})(?![A-Za-z0-9_.-])"
)
MASK_TOKEN = re.compile(r"\[(?:" + "|".join(map(re.escape, KIND_LABELS.values())) + r")\]")

# What follows a quantity: 12345元, 65分贝, 3600平方米.
UNIT = re.compile(
    r"\s*(?:元|块|角|万|亿|米|公里|千米|平方|平米|亩|吨|斤|公斤|千克|克|升|度|分贝|人|户|次|件|"
    r"个|台|辆|天|小时|分钟|秒|%|％|kg|km|KB|MB|GB)"
)
DECIMALS = re.compile(r"[.．]\d+")
DATE = re.compile(r"^(\d{4})[-/ ](\d{1,2})[-/ ](\d{1,2})$")
# Hotlines that are public by nature: 12345, 12315, 12369 (government), 95598, 96123 (services).
SERVICE_NUMBER = re.compile(r"^(?:12\d{3}|9[56]\d{3})$")


@dataclass(frozen=True)
class Suspect:
    kind: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return SUSPECT_LABELS[self.kind]


def _is_case_number(digits: str) -> bool:
    """Case numbers (YYYYMMDD + 6) are public already: Open311 lists every one."""
    if len(digits) != 14:
        return False
    try:
        dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return digits[:2] == "20"


def _number_kind(text: str, match: re.Match[str]) -> str | None:
    chunk = match.group(0)
    digits = re.sub(r"\D", "", chunk)
    if len(digits) < 5 or DATE.match(chunk) or SERVICE_NUMBER.match(chunk):
        return None
    if _is_case_number(digits) and chunk == digits:
        return None
    after = text[match.end() :]
    decimals = DECIMALS.match(after)
    if UNIT.match(after, decimals.end() if decimals else 0):
        return None  # 12345元, 12345.60元
    return "id" if len(digits) >= 15 else "number"


def _candidates(text: str) -> Iterator[Suspect]:
    for match in DIGITS.finditer(text):
        kind = _number_kind(text, match)
        if kind:
            yield Suspect(kind, match.start(), match.end(), match.group(0))
    for match in CN_DIGITS.finditer(text):
        yield Suspect("number", match.start(), match.end(), match.group(0))
    for match in TOKEN.finditer(text):
        token = match.group(0)
        letters, digits = sum(c.isalpha() for c in token), sum(c.isdigit() for c in token)
        if len(token) < 6 or not letters:
            continue
        if "_" in token or "-" in token:
            yield Suspect("handle", match.start(), match.end(), token)
        elif digits >= 2:
            yield Suspect("id", match.start(), match.end(), token)
    for match in MENTION.finditer(text):
        yield Suspect("handle", match.start(), match.end(), match.group(0))
    for match in HANDLE_WORD.finditer(text):
        yield Suspect("handle", match.start(1), match.end(1), match.group(1))


def find_suspects(text: str) -> list[Suspect]:
    """Every span of ``text`` that looks like a number, an ID or a handle and is not a mask
    token; where two overlap, the longer one is kept."""
    text = text or ""
    masks = [match.span() for match in MASK_TOKEN.finditer(text)]
    kept: list[Suspect] = []
    for suspect in sorted(_candidates(text), key=lambda s: (s.start - s.end, s.start)):
        spans = masks + [(item.start, item.end) for item in kept]
        if not any(suspect.start < end and start < suspect.end for start, end in spans):
            kept.append(suspect)
    return sorted(kept, key=lambda suspect: suspect.start)


def suspects_fingerprint(found: Iterable[tuple[str, Suspect]]) -> str:
    """Names exactly the spans a reviewer was shown (field and text), so a confirmation covers
    those spans and nothing typed afterwards."""
    digest = hashlib.sha256()
    for field, suspect in found:
        digest.update(f"{field}\x1f{suspect.start}\x1f{suspect.text}\x1e".encode())
    return digest.hexdigest()[:20]
