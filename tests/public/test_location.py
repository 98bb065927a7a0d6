"""The one rule for where the public is told a case is (``tickets.public.location``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tickets.public.location import coarse_coordinate, street_level


@pytest.mark.parametrize(
    ("address", "street"),
    [
        ("武汉市青山区和平街道建设路88号3栋2单元501室", "武汉市青山区和平街道建设路"),
        ("武汉市青山区和平街道建设路88号[地址]", "武汉市青山区和平街道建设路"),
        ("青山区建设路123号", "青山区建设路"),
        ("建设路与和平大道交叉口往东50米", "建设路与和平大道"),
        ("工人村街青和居社区12号楼", "工人村街"),
        ("和平街道红旗小区5栋", "和平街道"),
        ("红旗小区5栋", ""),
        ("青山区红旗小区东门", "青山区"),
        ("建设路三十八号", "建设路"),
        ("建设路口", "建设路"),
        ("友谊大道１２号", "友谊大道"),
        ("  建设路  ８８号 ", "建设路"),
        ("", ""),
        ("小区门口", ""),
    ],
)
def test_it_cuts_an_address_back_to_its_street(address: str, street: str) -> None:
    assert street_level(address) == street


@pytest.mark.parametrize(
    ("value", "coarse"),
    [
        (Decimal("30.612345"), 30.612),
        (Decimal("114.301500"), 114.302),
        (Decimal("-33.868800"), -33.869),
        (None, None),
    ],
)
def test_it_rounds_coordinates_to_about_100_metres(value: Decimal | None, coarse: float) -> None:
    assert coarse_coordinate(value) == coarse
