"""The routing-suggestion model as pure functions: training, stored weights, inference."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.tickets.hotspot_fixture import labelled
from tickets.suggest.model import (
    Sample,
    Weights,
    accuracy,
    evaluate,
    features,
    holdout_split,
    train,
)

WATER, CITY, TRAFFIC = 1, 2, 3
HISTORY = [
    Sample("小区停水了，什么时候恢复供水", department=WATER, category=10),
    Sample("水管爆裂，自来水外涌，请抢修", department=WATER, category=11),
    Sample("供水管道漏水严重，路面冒水", department=WATER, category=11),
    Sample("家里没水了，也没有停水通知", department=WATER, category=10),
    Sample("路灯坏了一个星期，晚上很黑", department=CITY, category=20),
    Sample("垃圾三天没人清运，气味很大", department=CITY, category=21),
    Sample("流动摊贩占道经营，行人只能走机动车道", department=CITY, category=22),
    Sample("路灯不亮，请尽快维修", department=CITY, category=20),
    Sample("公交班次太少，早高峰等半小时", department=TRAFFIC, category=30),
    Sample("路面有个大坑，电动车摔倒了", department=TRAFFIC, category=31),
    Sample("建议增设公交站点，步行太远", department=TRAFFIC, category=30),
    Sample("道路破损严重，坑洼积水", department=TRAFFIC, category=31),
]


def test_it_suggests_the_department_and_category_with_two_next_choices() -> None:
    weights = train(HISTORY)
    choices = weights.choices(Sample("我们小区水管破了，一直在漏水"), "department")
    assert choices[0].label == WATER
    assert len(choices) == 3 and len({c.label for c in choices}) == 3
    assert choices[0].probability > choices[1].probability >= choices[2].probability
    assert sum(c.probability for c in choices) == pytest.approx(1.0)  # three classes: all of them
    category = weights.choices(Sample("路灯晚上不亮"), "category")
    assert category[0].label == 20


def test_stored_weights_give_what_scikit_learn_gives() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    weights = Weights.from_bytes(train(HISTORY, seed=0).to_bytes())
    vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True)
    matrix = vectorizer.fit_transform(HISTORY)
    model = LogisticRegression(C=10.0, max_iter=100, random_state=0)
    model.fit(matrix, [s.department for s in HISTORY])
    probe = Sample("路灯坏了，垃圾也没人清运")
    expected = model.predict_proba(vectorizer.transform([probe]))[0]
    got = {c.label: c.probability for c in weights.choices(probe, "department")}
    for label, probability in zip(model.classes_, expected, strict=True):
        assert got[int(label)] == pytest.approx(probability, abs=1e-4)


def test_the_weights_are_plain_arrays_that_load_without_pickle() -> None:
    blob = train(HISTORY, meta={"samples": 12}).to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
    assert Weights.from_bytes(blob).meta == {"samples": 12}


def test_where_a_ticket_is_counts_too() -> None:
    north, south = (30.65, 114.38), (30.61, 114.44)
    samples = [
        Sample("楼下噪音扰民", lat=north[0], lon=north[1], department=1) for _ in range(6)
    ] + [Sample("楼下噪音扰民", lat=south[0], lon=south[1], department=2) for _ in range(6)]
    weights = train(samples)
    assert weights.choices(Sample("噪音", lat=north[0], lon=north[1]), "department")[0].label == 1
    assert weights.choices(Sample("噪音", lat=south[0], lon=south[1]), "department")[0].label == 2


def test_two_departments_and_unknown_words() -> None:
    weights = train([s for s in HISTORY if s.department in (WATER, CITY)])
    choices = weights.choices(Sample("停水"), "department")
    assert choices[0].label == WATER and len(choices) == 2
    assert sum(c.probability for c in choices) == pytest.approx(1.0)
    unknown = weights.choices(Sample("！！！"), "department")  # nothing it knows: the priors
    assert len(unknown) == 2


def test_a_target_with_one_label_is_left_out() -> None:
    weights = train([Sample("停水", department=1, category=None), Sample("路灯", department=2)])
    assert weights.choices(Sample("停水"), "category") == []


def test_the_held_back_split_is_fixed() -> None:
    first = holdout_split(HISTORY, seed=7)
    assert first == holdout_split(HISTORY, seed=7)
    assert len(first[1]) == 2 and not set(map(id, first[0])) & set(map(id, first[1]))


def test_accuracy_counts_top1_and_top3() -> None:
    weights = train(HISTORY)
    measured = accuracy(weights, HISTORY, "department")
    assert measured.tested == len(HISTORY)
    assert measured.top1 == 1.0 and measured.top3 == 1.0


def test_it_routes_hand_written_tickets_to_their_category() -> None:
    """On the labelled hot-issue set (varied, hand-written texts), a category model trained on
    a fixed 80% places the held-back 20% (measured: top-1 0.71, top-3 0.82 on 62 tickets)."""
    items = labelled()
    codes = sorted({item.category for item in items})
    samples = [
        Sample(item.doc.text, address=item.doc.address, category=codes.index(item.category))
        for item in items
    ]
    measured = evaluate(samples)["category"]
    assert measured["tested"] >= 60
    assert measured["top3"] >= 0.7
    assert measured["top1"] >= 0.55
