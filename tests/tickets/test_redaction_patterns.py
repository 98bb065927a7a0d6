"""Unit tables for the rules of issues 14 and 17: numbers next to the word that names them,
short building/room forms, familiar forms of address, set phrases that are not names, WeChat
IDs and QQ numbers; and the spans a reviewer is asked to look at twice."""

from __future__ import annotations

import pytest

from tickets.redaction import find_suspects, highlight_masked, redact
from tickets.redaction.checks import id18_valid, luhn_valid
from tickets.redaction.names import find_familiar_names
from tickets.redaction.patterns import find_bank_card, find_id_card, find_qq, find_wechat
from tickets.redaction.suspicious import suspects_fingerprint

WRONG_ID = "420102199003071233"  # the check digit should be 2
WRONG_CARD = "6222021234567890129"  # fails Luhn (…128 passes)


def spans(finder: object, text: str) -> list[str]:
    return [text[start:end] for start, end in finder(text)]  # type: ignore[operator]


def test_it_uses_numbers_that_fail_their_checks() -> None:
    assert not id18_valid(WRONG_ID) and not luhn_valid(WRONG_CARD)


@pytest.mark.parametrize(
    "text",
    [
        f"身份证号{WRONG_ID}",
        f"身份证号码：{WRONG_ID}",
        f"身份证 {WRONG_ID}",
        f"身份证是{WRONG_ID}",
        f"身份证号为 {WRONG_ID}",
        f"证件号码{WRONG_ID}",
        "身份证42010219900307123x",
        "身份证号42010219450101123",  # a digit left out
    ],
)
def test_it_masks_an_id_number_next_to_its_word_whatever_its_check_digit(text: str) -> None:
    assert len(spans(find_id_card, text)) == 1
    assert redact(text).text.endswith("[身份证号]")


@pytest.mark.parametrize(
    "text",
    [
        f"银行卡{WRONG_CARD}",
        f"储蓄卡{WRONG_CARD}",
        f"卡号：{WRONG_CARD}",
        f"账号 {WRONG_CARD}",
        f"帐号是{WRONG_CARD}",
        f"信用卡号为{WRONG_CARD}",
        "卡号 6222 0212 3456 7890 129",
        "账号6222-0212-3456-7890-129",
        "银行卡号 1234567890123456",
    ],
)
def test_it_masks_a_card_number_next_to_its_word_whatever_its_luhn_digit(text: str) -> None:
    assert len(spans(find_bank_card, text)) == 1
    assert redact(text).text.endswith("[银行卡号]")


@pytest.mark.parametrize(
    "text",
    [
        f"订单号{WRONG_ID}",
        f"证号{WRONG_ID}",
        f"身份证已经补办了，订单号{WRONG_ID}",
        f"流水号{WRONG_CARD}",
        f"银行卡丢了，快递单号{WRONG_CARD}",
        "身份证号还没拿到",
        "卡号和密码都对",
    ],
)
def test_it_keeps_such_a_number_far_from_those_words(text: str) -> None:
    assert redact(text).text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5栋3号", "[地址]"),
        ("12栋8号漏水", "[地址]漏水"),
        ("7号楼2室", "[地址]"),
        ("3幢1号门口", "[地址]门口"),
        ("2号楼5室的住户", "[地址]的住户"),
        ("5号院3号楼2单元401室", "[地址]"),
        ("二栋5室", "[地址]"),
        ("3单元2号", "[地址]"),
        # a flat's layout, a metro exit, a count of buildings: not an address
        ("3室2厅", "3室2厅"),
        ("5号线3号口", "5号线3号口"),
        ("第3栋到第5栋", "第3栋到第5栋"),
        ("有5户人家", "有5户人家"),
    ],
)
def test_it_masks_short_building_and_room_forms(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("老王说", ["老王"]),
        ("小李来了", ["小李"]),
        ("物业的小张", ["小张"]),
        ("隔壁老王家", ["老王"]),
        ("老王师傅", ["老王师傅"]),
        ("快递员小刘", ["小刘"]),
        ("老李和小王", ["老李", "小王"]),
        ("找了老孙", ["老孙"]),
        # words, not people
        ("老师说", []),
        ("一小时", []),
        ("小程序", []),
        ("老顾客", []),
        ("小高层", []),
        ("老房子", []),
        ("小王子", []),
        ("小黄车", []),
        ("小龙虾", []),
        ("小于五米", []),
        ("从小", []),
    ],
)
def test_it_finds_familiar_forms_of_address(text: str, expected: list[str]) -> None:
    assert spans(find_familiar_names, text) == expected


@pytest.mark.parametrize(
    "text", ["王师傅修好了", "李阿姨很热心", "问张大爷才知道", "说王阿姨", "对门何大姐"]
)
def test_it_masks_a_surname_with_a_title_even_after_a_one_character_word(text: str) -> None:
    assert "[姓名]" in redact(text).text


@pytest.mark.parametrize(
    "phrase", ["郑重声明", "严正声明", "石沉大海", "杨柳依依", "金玉其外", "林林总总", "曾几何时"]
)
def test_it_keeps_four_character_phrases_that_begin_with_a_surname(phrase: str) -> None:
    assert redact(f"{phrase}，请尽快处理。").text == f"{phrase}，请尽快处理。"


def test_it_still_masks_a_four_character_name_with_a_compound_surname() -> None:
    assert redact("物业的上官婉儿说下周来修").text == "物业的[姓名]说下周来修"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("微信号wjg_1988", ["wjg_1988"]),
        ("微信：zhangsan-2020", ["zhangsan-2020"]),
        ("加我微信 Liu_xh88", ["Liu_xh88"]),
        ("他的微信是 chen_lao_ban", ["chen_lao_ban"]),
        ("vx: abc12345", ["abc12345"]),
        ("加V：abc12345", ["abc12345"]),
        ("微信号 2233445566", ["2233445566"]),
        ("发到 wxid_a1b2c3d4e5 这个号", ["wxid_a1b2c3d4e5"]),
        ("微信公众号", []),
        ("微信小程序 abc", []),
        ("微信 ab1", []),  # shorter than WeChat allows
    ],
)
def test_it_finds_wechat_ids(text: str, expected: list[str]) -> None:
    assert spans(find_wechat, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("QQ号是 123456789", ["123456789"]),
        ("qq:987654321", ["987654321"]),
        ("QQ号码：23456789", ["23456789"]),
        ("扣扣 2233445566", ["2233445566"]),
        ("企鹅号10001", ["10001"]),
        ("QQ群 123456789", []),
        ("QQ 1234", []),  # QQ numbers have at least five digits
        ("QQ012345", []),
    ],
)
def test_it_finds_qq_numbers(text: str, expected: list[str]) -> None:
    assert spans(find_qq, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("QQ号码：23456789", "QQ号码：[QQ号]"),
        ("我微信13912345678", "我微信[电话]"),
        ("QQ邮箱 345678901@qq.com", "QQ邮箱 [邮箱]"),
        ("微信 wjg_1988，QQ 123456789，邮箱 wjg@163.com", "微信 [微信号]，QQ [QQ号]，邮箱 [邮箱]"),
    ],
)
def test_it_labels_wechat_qq_and_email_masks(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的证号420102199003071233", [("id", "420102199003071233")]),
        ("42010219900307123X", [("id", "42010219900307123X")]),
        ("加我 wjg_1988 发照片", [("handle", "wjg_1988")]),
        ("微博：xiaoming 有视频", [("handle", "xiaoming")]),
        ("@青山发布 请关注", [("handle", "@青山发布")]),
        ("发邮件 wang@163", [("handle", "@163")]),
        ("快递单号SF1234567890123", [("id", "SF1234567890123")]),
        ("打 138 1234 5678", [("number", "138 1234 5678")]),
        ("验证码863512", [("number", "863512")]),
        ("幺三八一二三四五六七八", [("number", "幺三八一二三四五六七八")]),
        # public by nature, or quantities and dates
        ("拨打12345热线", []),
        ("电力95598", []),
        ("案件编号20240601000123", []),
        ("金额12345.60元", []),
        ("噪音65分贝", []),
        ("从2024-06-01到2024-06-15", []),
        ("9:00-17:00", []),
        ("PM2.5浓度", []),
        ("电话[电话]，微信[微信号]，QQ[QQ号]", []),
    ],
)
def test_it_finds_spans_a_reviewer_must_look_at(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(suspect.kind, suspect.text) for suspect in find_suspects(text)] == expected


def test_it_flags_suspects_in_the_public_copy_for_the_reviewer() -> None:
    html = highlight_masked("电话[电话]，证号420102199003071233 <b>")
    assert '<mark class="mask">[电话]</mark>' in html
    assert (
        '<mark class="suspicious" data-kind="id" title="疑似证件号或卡号">'
        "420102199003071233</mark>" in html
    )
    assert html.endswith("&lt;b&gt;")


def test_it_fingerprints_exactly_the_spans_shown() -> None:
    first = [("content", suspect) for suspect in find_suspects("证号420102199003071233")]
    same = [("content", suspect) for suspect in find_suspects("证号420102199003071233")]
    other = [("content", suspect) for suspect in find_suspects("证号420102199003071234")]
    moved = [("reply", suspect) for suspect in find_suspects("证号420102199003071233")]
    assert suspects_fingerprint(first) == suspects_fingerprint(same)
    assert len({suspects_fingerprint(item) for item in (first, other, moved)}) == 3
