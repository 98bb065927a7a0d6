"""Hot-issue clustering as a pure function: documents in, clusters out (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from tickets.hotspots.cluster import (
    Doc,
    Settings,
    clusters_find,
    gazetteer,
    km_between,
    pair_quality,
    split_place,
)

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


def doc(key: int, text: str, hours_ago: float = 1.0, **fields: object) -> Doc:
    return Doc(key=key, text=text, at=NOW - dt.timedelta(hours=hours_ago), **fields)  # type: ignore[arg-type]


def together(found: list, *keys: int) -> bool:
    return any(set(keys) <= set(cluster.keys) for cluster in found)


PIPE = [
    doc(1, "幸福小区3栋楼下水管爆了，水哗哗往外冒", 5, address="和平街道幸福小区"),
    doc(2, "来电人反映幸福小区供水管道破裂，大量自来水外涌，请尽快抢修。", 4.5),
    doc(3, "幸福小区门口自来水管爆裂，水漫了半条路", 4),
    doc(4, "幸福小区的水管破了两个多小时了还没人来修", 3, address="和平街道幸福小区"),
]


def test_it_puts_reports_of_one_burst_pipe_together() -> None:
    found = clusters_find(PIPE)
    assert together(found, 1, 2, 3, 4)
    assert found[0].size == 4


def test_it_keeps_the_same_problem_at_another_place_apart() -> None:
    other = [
        doc(11, "钢都花园二期12栋旁边的水管爆了，水冒得老高", 4, address="钢都花园二期"),
        doc(12, "钢都花园二期供水管破裂，水流到地下车库了", 3.5),
        doc(13, "钢都花园这边水管破了还在漏水", 3),
    ]
    found = clusters_find(PIPE + other)
    assert together(found, 1, 2, 3, 4)
    assert together(found, 11, 12, 13)
    assert not together(found, 1, 11)


def test_it_keeps_another_problem_at_the_same_place_apart() -> None:
    lift = [
        doc(21, "幸福小区5栋电梯今天下午困人，半小时后才有人来", 4, address="和平街道幸福小区5栋"),
        doc(22, "幸福小区5栋电梯又坏了，又困人二十多分钟", 3.5),
        doc(23, "幸福小区5栋电梯频繁停运，今天还发生困人", 3),
    ]
    found = clusters_find(PIPE + lift)
    assert together(found, 21, 22, 23)
    assert not together(found, 1, 21)


def test_it_tells_two_places_apart_by_coordinates_alone() -> None:
    # No place named in the text: only the WeChat locations say these are two estates 2.4 km apart.
    here, there = (30.6478, 114.3788), (30.6332, 114.4105)
    texts = [
        "我们小区停水了，到现在还没来水",
        "这边停水了，没有任何通知",
        "家里没水了，什么时候恢复供水",
    ]
    docs = [
        doc(31 + i, text, 3 - i * 0.2, lat=here[0], lon=here[1]) for i, text in enumerate(texts)
    ]
    docs += [
        doc(41 + i, text, 3 - i * 0.2, lat=there[0] + 0.0004, lon=there[1])
        for i, text in enumerate(texts)
    ]
    found = clusters_find(docs)
    assert together(found, 31, 32, 33)
    assert together(found, 41, 42, 43)
    assert not together(found, 31, 41)


def test_it_leaves_reports_far_apart_in_time_in_separate_clusters() -> None:
    early = [doc(51, "红旗路路灯不亮，晚上很黑", 160), doc(52, "红旗路这段路灯都黑了", 159)]
    late = [doc(53, "红旗路路灯不亮，晚上很黑", 2), doc(54, "红旗路这段路灯都黑了", 1)]
    found = clusters_find(early + late, Settings(window_hours=72))
    assert together(found, 51, 52)
    assert together(found, 53, 54)
    assert not together(found, 51, 53)


def test_it_takes_identical_reports_as_one_issue() -> None:
    same = [doc(60 + i, "团结大道菜市场门口垃圾三天没人清运了", 5 - i) for i in range(5)]
    found = clusters_find(same)
    assert [cluster.size for cluster in found] == [5]


def test_it_names_a_cluster_by_its_place_and_keywords() -> None:
    found = clusters_find(PIPE)
    assert found[0].area == "和平街道幸福小区"
    assert "水管" in found[0].terms
    assert found[0].first_at == PIPE[0].at
    assert found[0].last_at == PIPE[-1].at


def test_it_handles_nothing_and_one_ticket() -> None:
    assert clusters_find([]) == []
    [single] = clusters_find([doc(1, "测试")])
    assert single.keys == [1]


def test_place_names_come_from_the_addresses_and_are_blanked_from_the_topic() -> None:
    places = gazetteer(["和平街道幸福小区", "钢都花园二期"])
    assert {"幸福", "钢都"} <= places
    assert "小区" not in places and "花园" not in places
    found, masked = split_place("幸福小区水管爆了", places)
    assert "幸福" in found
    assert "幸福" not in masked and "水管爆了" in masked


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [((30.0, 114.0), (30.0, 114.0), 0.0), ((30.0, 114.0), (30.01, 114.0), 1.112)],
)
def test_distance_on_the_ground(a: tuple, b: tuple, expected: float) -> None:
    assert km_between(a, b) == pytest.approx(expected, abs=0.01)


def test_pair_quality_counts_pairs() -> None:
    truth = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c"}
    quality = pair_quality(truth, [[1, 2], [3, 4], [5]])
    # True pairs: (1,2),(1,3),(2,3). Found pairs: (1,2) right, (3,4) wrong.
    assert quality.true_pairs == 3
    assert quality.found_pairs == 2
    assert quality.precision == pytest.approx(0.5)
    assert quality.recall == pytest.approx(1 / 3)
    perfect = pair_quality(truth, [[1, 2, 3], [4], [5]])
    assert (perfect.precision, perfect.recall) == (1.0, 1.0)
