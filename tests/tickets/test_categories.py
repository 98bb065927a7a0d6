"""Category lists sort by the Chinese name (pinyin) and show no two entries alike: the website
form, the public filter, and the inbox's filter and classify menus."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.conftest import walk
from tickets.categories import CategoryRow, category_options_from
from tickets.models import Category, Department
from tickets.models_public import PublicRecord
from tickets.text import pinyin_sort_key


@pytest.mark.parametrize(
    ("names", "ordered"),
    [
        pytest.param(["物业", "路灯", "噪声扰民"], ["路灯", "物业", "噪声扰民"], id="plain"),
        # Read as words: 重庆 is chong2 qing4 (not zhong4), 银行 yin2 hang2, 长江 chang2.
        pytest.param(["重庆路", "长江", "银行"], ["长江", "重庆路", "银行"], id="heteronyms"),
        pytest.param(["路灯", "路面", "绿化"], ["路灯", "路面", "绿化"], id="same-first-syllable"),
        pytest.param(["12345热线", "安全"], ["12345热线", "安全"], id="digits-first"),
    ],
)
def test_it_sorts_chinese_names_by_their_reading(names: list[str], ordered: list[str]) -> None:
    assert sorted(names, key=lambda name: (pinyin_sort_key(name), name)) == ordered


def rows(*items: tuple[str, str, str]) -> list[CategoryRow]:
    return [CategoryRow(pk, code, name, parent) for pk, (code, name, parent) in enumerate(items, 1)]


def test_it_shows_a_repeated_name_with_its_parent() -> None:
    options = category_options_from(
        rows(
            ("jt-other", "其他", "交通"), ("sr-other", "其他", "市容环境"), ("lights", "路灯", "")
        ),
        staff=False,
    )
    assert [option.label for option in options] == ["交通 / 其他", "市容环境 / 其他", "路灯"]


def test_it_shows_the_public_one_entry_for_categories_alike_and_staff_each_with_its_code() -> None:
    alike = rows(("lights", "路灯", "市容"), ("lights-2", "路灯", "市容"), ("noise", "噪声", ""))
    public = category_options_from(alike, staff=False)
    assert [(o.code, o.label, o.codes) for o in public] == [
        ("lights", "市容 / 路灯", ("lights", "lights-2")),
        ("noise", "噪声", ("noise",)),
    ]
    staff = category_options_from(alike, staff=True)
    assert [o.label for o in staff] == ["市容 / 路灯（lights）", "市容 / 路灯（lights-2）", "噪声"]


@pytest.fixture
def catalogue(db: Any) -> dict[str, Category]:
    department = Department.objects.create(code="cg", name="城管局", level="bureau")
    city = Category.objects.create(code="a-city", name="市容环境")
    traffic = Category.objects.create(code="b-traffic", name="交通")
    made = {
        "city": city,
        "traffic": traffic,
        "noise": Category.objects.create(code="c-noise", name="噪声扰民"),
        "lights": Category.objects.create(
            code="d-lights", name="路灯", parent=city, default_department=department
        ),
        "lights2": Category.objects.create(code="e-lights", name="路灯", parent=city),
        "city-other": Category.objects.create(code="f-other", name="其他", parent=city),
        "traffic-other": Category.objects.create(code="g-other", name="其他", parent=traffic),
        "old": Category.objects.create(code="h-old", name="安全", active=False),
    }
    return made


def option_labels(html: str, select_name: str) -> list[str]:
    match = re.search(rf'<select [^>]*name="{select_name}".*?</select>', html, re.S)
    assert match is not None, select_name
    return re.findall(r"<option [^>]*>(.*?)</option>", match.group(0))[1:]


def test_the_website_form_lists_categories_by_chinese_name_once_each(
    client: Client, catalogue: dict[str, Category]
) -> None:
    html = client.get("/").content.decode()
    assert option_labels(html, "category") == [
        "交通",
        "市容环境 / 路灯",
        "交通 / 其他",
        "市容环境 / 其他",
        "市容环境",
        "噪声扰民",
    ]


def test_the_inbox_menus_sort_by_chinese_name_and_tell_alike_categories_apart(
    catalogue: dict[str, Category], cast: dict[str, Any]
) -> None:
    client = Client()
    client.force_login(cast["dispatcher"])
    html = client.get("/inbox/").content.decode()
    assert option_labels(html, "category") == [
        "交通",
        "市容环境 / 路灯（d-lights）",
        "市容环境 / 路灯（e-lights）",
        "交通 / 其他",
        "市容环境 / 其他",
        "市容环境",
        "噪声扰民",
    ]


def test_the_public_filter_lists_each_once_and_finds_the_cases_of_all_alike(
    client: Client,
    catalogue: dict[str, Category],
    make_ticket: Any,
    cast: dict[str, Any],
    departments: dict[str, Department],
) -> None:
    first = walk(make_ticket(category_code="d-lights"), cast, departments, "replied")
    second = walk(make_ticket(category_code="e-lights"), cast, departments, "replied")
    other = walk(make_ticket(category_code="c-noise"), cast, departments, "replied")
    ids = {t.pk: PublicRecord.objects.get(ticket=t).public_id for t in (first, second, other)}
    html = client.get("/public/").content.decode()
    assert option_labels(html, "category") == [
        "交通",
        "市容环境 / 路灯",
        "交通 / 其他",
        "市容环境 / 其他",
        "市容环境",
        "噪声扰民",
    ]
    for code in ("d-lights", "e-lights"):
        listed = client.get("/public/", {"category": code}).content.decode()
        assert ids[first.pk] in listed and ids[second.pk] in listed
        assert ids[other.pk] not in listed
        assert re.search(r'<option value="d-lights" selected>市容环境 / 路灯</option>', listed)


def test_a_renamed_category_moves_in_the_list(catalogue: dict[str, Category]) -> None:
    noise = catalogue["noise"]
    noise.name = "安静"
    noise.save(update_fields=["name"])
    noise.refresh_from_db()
    assert noise.name_sort == "an1 jing4"


def test_the_fill_migration_gives_existing_categories_their_sort_key(
    catalogue: dict[str, Category],
) -> None:
    import importlib

    from django.apps import apps

    Category.objects.update(name_sort="")
    importlib.import_module("tickets.migrations.0012_category_name_sort_fill").fill(apps, None)
    assert Category.objects.get(code="b-traffic").name_sort == "jiao1 tong1"
