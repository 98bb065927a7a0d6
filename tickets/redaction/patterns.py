"""Pattern rules: each finds candidate spans of one kind in the original text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from tickets.redaction.checks import id15_valid, id18_valid, luhn_valid

Span = tuple[int, int]
Finder = Callable[[str], Iterator[Span]]

EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Digits that stand alone: not part of a longer number (nor of a word like "A12").
_NOT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_AFTER = r"(?![0-9A-Za-z])"
ID_CARD = re.compile(_NOT_BEFORE + r"(\d{17}[\dXx]|\d{15})" + _NOT_AFTER)
# 16–19 digits, optionally in groups of four separated by a space or a hyphen.
_CARD = r"\d{4}(?:[ -]?\d{4}){2}[ -]?\d{4}(?:[ -]?\d{1,3})?|\d{16,19}"
BANK_CARD = re.compile(_NOT_BEFORE + rf"({_CARD})" + _NOT_AFTER)
BANK_WORDS = ("卡号", "银行卡", "账号", "帐号", "储蓄卡", "信用卡", "借记卡")
# What may stand between a word and the number it names: "身份证号码：", "卡号为 ", "账号是".
_FILLER = r"(?:号码|号)?\s*(?:是|为|:|：)?\s*"
# Right after the word that names it, a number of the right shape is masked whatever its check
# digit: citizens mistype, and a mistyped ID number is still theirs. 15–18 characters, so an
# ID with a digit left out is masked too.
ID_NEAR_WORD = re.compile(
    r"(?:身份证|证件)" + _FILLER + _NOT_BEFORE + r"(\d{14,17}[\dXx])" + _NOT_AFTER
)
BANK_NEAR_WORD = re.compile(
    r"(?:银行卡|储蓄卡|信用卡|借记卡|卡号|账号|帐号|账户|帐户)"
    + _FILLER
    + _NOT_BEFORE
    + rf"({_CARD})"
    + _NOT_AFTER
)

# WeChat IDs: 6–20 letters, digits, "_" or "-", starting with a letter (WeChat's own rule), or
# a QQ or phone number used as one; only right after a word that says it is a WeChat ID. The
# generated "wxid_…" form is unmistakable anywhere.
WECHAT = re.compile(
    r"(?:微信|威信|薇信|[Vv]信|(?<![A-Za-z])(?:[VvWw][Xx]|加[Vv]))"
    r"(?:号码|号|[Ii][Dd])?\s*(?:是|为|:|：)?\s*"
    r"(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]{5,19}|[1-9]\d{4,10})(?![A-Za-z0-9_-])"
)
WXID = re.compile(r"(?<![A-Za-z0-9_])wxid_[A-Za-z0-9_-]{4,30}(?![A-Za-z0-9_-])", re.IGNORECASE)
# QQ numbers: 5–11 digits after "QQ" (or 扣扣 / 企鹅号). "QQ群 123456789" is a group, not a
# person, and "QQ邮箱" is caught by the e-mail rule.
QQ = re.compile(
    r"(?<![A-Za-z])(?:[Qq]{2}|扣扣|企鹅号)(?:号码|号)?\s*(?:是|为|:|：)?\s*"
    r"([1-9]\d{4,10})" + _NOT_AFTER
)

MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _NOT_AFTER
)
# Area code (0 + 2–3 digits), optionally in brackets, then a 7–8 digit number and an extension.
LANDLINE = re.compile(
    r"(?<![0-9A-Za-z])(?:[(（]0\d{2,3}[)）]\s?|0\d{2,3}[ -]?)[2-9]\d{2,3}[ -]?\d{4}"
    r"(?:[-转]\d{1,5})?" + _NOT_AFTER
)
# A bare local number counts only right after a word that says it is a phone number.
LOCAL_PHONE = re.compile(
    r"(?:电话|手机|座机|联系方式|号码|致电|打)(?:号码|是|为|[:：])?\s*([2-9]\d{2,3}[ -]?\d{4})"
    + _NOT_AFTER
)

_PROVINCE = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_LETTER = "A-HJ-NP-Za-hj-np-z"
PLATE = re.compile(
    rf"[{_PROVINCE}][{_LETTER}][·•・.\s]?"
    rf"(?:[DFdf][{_LETTER}0-9]\d{{4}}|\d{{5}}[DFdf]|[{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳])"
    + _NOT_AFTER
)

_CN = "一二三四五六七八九十"
_BUILDING = r"(?:\d{1,3}(?:号楼|栋|幢|号院)|[A-Za-z]\d{0,2}(?:号楼|栋|幢|座))"
_BUILDING_CN = rf"[{_CN}]{{1,3}}(?:号楼|栋|幢)"
_UNIT = rf"(?:\d{{1,2}}|[{_CN}]{{1,3}})单元"
_ROOM_WORD = r"(?:室|房间|号房|户)"
# After a building or a unit a room may have one digit, if a word says it is a room or a door
# number (5栋3号, 7号楼2室); "3室2厅" is a flat's layout, not a room.
_ROOM = rf"(?:\d{{2,5}}(?:{_ROOM_WORD}|房|号)?|\d(?:{_ROOM_WORD}|号)(?![厅卫]))"
_ROOM_STRICT = rf"\d{{2,5}}{_ROOM_WORD}"
_ROOM_AFTER_CN = rf"(?:{_ROOM_STRICT}|\d(?:{_ROOM_WORD}|号)(?![厅卫]))"
_SEP = r"[-\s]?"
ADDRESS = re.compile(
    _NOT_BEFORE
    + "(?:"
    # 5号院3号楼: a compound, then a building in it.
    + rf"{_BUILDING}(?:{_SEP}{_BUILDING})?(?:{_SEP}{_UNIT})?(?:{_SEP}{_ROOM})?"
    + rf"|{_BUILDING_CN}{_SEP}(?:{_UNIT}(?:{_SEP}{_ROOM})?|{_ROOM_AFTER_CN})"
    + rf"|{_UNIT}(?:{_SEP}{_ROOM})?"
    + rf"|{_ROOM_STRICT}"
    # 3-2-501: building, unit, room (a date has a four-digit year, so it never matches).
    + r"|\d{1,3}-\d{1,2}-\d{2,4}(?:室|号)?"
    + ")"
    + r"(?![0-9A-Za-z-])"
)


def find_email(text: str) -> Iterator[Span]:
    for match in EMAIL.finditer(text):
        yield match.span()


def find_id_card(text: str) -> Iterator[Span]:
    for match in ID_CARD.finditer(text):
        number = match.group(1)
        if id18_valid(number) or id15_valid(number):
            yield match.span(1)
    for match in ID_NEAR_WORD.finditer(text):
        yield match.span(1)


def find_bank_card(text: str) -> Iterator[Span]:
    for match in BANK_NEAR_WORD.finditer(text):
        yield match.span(1)
    for match in BANK_CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if not 16 <= len(digits) <= 19 or not luhn_valid(digits):
            continue
        # Luhn alone passes one number in ten: ask also for a card-issuer prefix (UnionPay 62,
        # Visa 4, Mastercard 5, JCB/Amex 3, domestic debit 9) or a word naming a card nearby.
        nearby = text[max(0, match.start() - 8) : match.start()]
        if digits[0] in "34569" or any(word in nearby for word in BANK_WORDS):
            yield match.span(1)


def find_phone(text: str) -> Iterator[Span]:
    for pattern in (MOBILE, LANDLINE):
        for match in pattern.finditer(text):
            yield match.span()
    for match in LOCAL_PHONE.finditer(text):
        yield match.span(1)


def find_wechat(text: str) -> Iterator[Span]:
    for match in WECHAT.finditer(text):
        yield match.span(1)
    for match in WXID.finditer(text):
        yield match.span()


def find_qq(text: str) -> Iterator[Span]:
    for match in QQ.finditer(text):
        yield match.span(1)


def find_plate(text: str) -> Iterator[Span]:
    for match in PLATE.finditer(text):
        yield match.span()


BUILDING_ONLY = re.compile(r"^\d{1,3}号[楼院]$")
BUILDING_ALONE = re.compile(r"^\d{1,3}(?:号楼|栋|幢)$")


def find_address(text: str) -> Iterator[Span]:
    for match in ADDRESS.finditer(text):
        start = match.start()
        before = text[start - 1] if start else ""
        # 红旗路88号楼下: a street number followed by 楼下, not building 88 (street level stays).
        if BUILDING_ONLY.match(match.group(0)) and before and before in "路街道巷弄":
            continue
        # 第3栋到第5栋: buildings counted, with no estate, unit or room.
        if BUILDING_ALONE.match(match.group(0)) and before == "第":
            continue
        yield match.span()
