"""Finding hot issues: clusters of tickets that report one problem at one place in one span
of time. Pure (no database): documents in, clusters out.

How two tickets are compared:

- **Topic**: TF-IDF (scikit-learn) over jieba words, character 1-2-grams and the concept
  tokens of ``tickets.tokens``, with the place names blanked out, so "幸福小区 水管爆了" and
  "幸福小区 电梯困人" are not alike just because they name one estate.
- **Place**: the character bigrams of the addresses that forms and the 12345 hotline carry
  make a gazetteer of this window's places; each ticket's place is the gazetteer bigrams its
  text and address contain. Two tickets that both name a place must name the same one.
- **Location**: two tickets that both carry coordinates (a WeChat location) must lie within
  ``radius_km``; within ``near_km`` counts for them.
- **Time**: only tickets received within ``window_hours`` of each other are compared.

The pair score is the topic similarity scaled by the place evidence. Clusters grow in the
order tickets arrived: each joins the cluster whose members (those within the time window)
it resembles most on average, if that average reaches ``threshold``; average linkage keeps
one ticket that resembles two issues from chaining them into one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickets.tokens import chars, concepts, normalise, words

# Bigrams that name a kind of place, not a place: never evidence of "the same place".
GENERIC_BIGRAMS = frozenset(
    """
    小区 花园 大道 街道 门口 路口 交叉 叉口 工地 公园 菜市 市场 菜场 地铁 铁站 附近 社区 小学
    中学 中心 服务 卫生 青山 山区 二期 一期 三期 广场 大厦 商场 医院 学校 公交 车站 旁边 对面
    楼下 一楼 顶楼 号楼 单元 临街 商铺 入口 出口
    """.split()
)
NO_PLACE = "<无地点>"


@dataclass(frozen=True)
class Doc:
    """One ticket as the clustering sees it."""

    key: int
    text: str
    at: dt.datetime
    address: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.2
    window_hours: float = 72.0
    radius_km: float = 1.0
    near_km: float = 0.5
    # Pairs whose topic similarity is below this are never looked at (the neighbour search).
    floor: float = 0.12
    # Place overlap below this, when both tickets name a place, means two places.
    place_min: float = 0.2
    # IDF is computed as if there were at least this many tickets (see ``_tfidf``).
    corpus_min: int = 1000


@dataclass
class Cluster:
    keys: list[int]
    label: str
    area: str
    first_at: dt.datetime
    last_at: dt.datetime
    cohesion: float = 0.0
    terms: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.keys)


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance on the ground (equirectangular: exact enough within a city)."""
    dy = (a[0] - b[0]) * 111.2
    dx = (a[1] - b[1]) * 111.2 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, dy)


def gazetteer(addresses: Iterable[str]) -> frozenset[str]:
    """The place bigrams of these addresses (without generic ones and numbers)."""
    found: set[str] = set()
    for address in addresses:
        for bigram in chars(normalise(address), 2, 2):
            if bigram not in GENERIC_BIGRAMS and not bigram.isdigit() and len(bigram) == 2:
                found.add(bigram)
    return frozenset(found)


def _full_text(doc: Doc) -> str:
    address = doc.address.strip()
    text = doc.text or ""
    return normalise(text + (" " + address if address and address not in text else ""))


def split_place(
    text: str, places: frozenset[str], addresses: Sequence[str] = ()
) -> tuple[list[str], str]:
    """(the place bigrams in ``text``, ``text`` with the place blanked). Whole addresses go
    first, so that the generic rest of a place name (地铁站B口) does not stay behind and make
    two problems at one place look alike."""
    found = [text[i : i + 2] for i in range(len(text) - 1) if text[i : i + 2] in places]
    for address in addresses:
        if address in text:
            text = text.replace(address, " " * len(address))
    masked = list(text)
    for i in range(len(text) - 1):
        if text[i : i + 2] in places:
            masked[i] = masked[i + 1] = " "
    return found, "".join(masked)


def topic_features(text: str) -> list[str]:
    """What a ticket is about: words, their character 1-2-grams and concepts (counted twice,
    as they stand for several words people use interchangeably)."""
    found = words(text)
    # Character n-grams of the kept words only: they bridge segmentation differences (供水管 /
    # 水管) without the boilerplate every message shares (之前已经反映过，麻烦尽快处理).
    return (
        ["词:" + word for word in found]
        + ["字:" + gram for gram in chars(" ".join(found), 1, 2)]
        + concepts(found) * 2
    )


def _tfidf(
    analyzer: Any, docs: Sequence[Any], empty: Any, corpus_min: int
) -> tuple[Any, list[str]]:
    """TF-IDF as if the corpus held at least ``corpus_min`` documents: in a handful of
    tickets every shared word would otherwise weigh the least, however telling it is."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True)
    padding = [empty] * max(0, corpus_min - len(docs))
    vectorizer.fit(list(docs) + padding)
    return vectorizer.transform(docs), list(vectorizer.get_feature_names_out())


class _Prepared:
    """Unique documents (identical reports collapse into one) and their vectors."""

    def __init__(self, docs: Sequence[Doc], settings: Settings) -> None:
        same: dict[tuple[str, float | None, float | None], list[Doc]] = {}
        for doc in docs:
            lat = round(doc.lat, 4) if doc.lat is not None else None
            lon = round(doc.lon, 4) if doc.lon is not None else None
            same.setdefault((_full_text(doc), lat, lon), []).append(doc)
        # Identical reports are one document, as long as each follows the last within the
        # window (the same text a fortnight later is news again).
        window = dt.timedelta(hours=settings.window_hours)
        self.groups: list[list[Doc]] = []
        for group in same.values():
            group.sort(key=lambda d: d.at)
            self.groups.append([group[0]])
            for doc in group[1:]:
                if doc.at - self.groups[-1][-1].at > window:
                    self.groups.append([])
                self.groups[-1].append(doc)
        self.heads = [group[0] for group in self.groups]
        self.places = gazetteer(doc.address for doc in docs if doc.address)
        # Longest first: "和平街道幸福小区5栋" before "和平街道幸福小区".
        addresses = sorted(
            {normalise(doc.address).strip() for doc in docs if len(doc.address.strip()) >= 3},
            key=len,
            reverse=True,
        )
        texts, self.place_tokens = [], []
        for head in self.heads:
            found, masked = split_place(_full_text(head), self.places, addresses)
            self.place_tokens.append(found)
            texts.append(masked)
        self.topic, self.topic_names = _tfidf(topic_features, texts, "", settings.corpus_min)
        place, names = _tfidf(
            lambda found: found or [NO_PLACE], self.place_tokens, [], settings.corpus_min
        )
        # Plain dicts: a pair's place overlap is then a few look-ups, not a sparse-row product.
        self.place = [
            {names[j]: float(w) for j, w in zip(row.indices, row.data, strict=True)}
            for row in place
        ]
        self.points = [
            (head.lat, head.lon) if head.lat is not None and head.lon is not None else None
            for head in self.heads
        ]

    def place_overlap(self, a: int, b: int) -> float:
        first, second = self.place[a], self.place[b]
        if len(second) < len(first):
            first, second = second, first
        return sum(weight * second.get(name, 0.0) for name, weight in first.items())

    def distance(self, a: int, b: int) -> float | None:
        first, second = self.points[a], self.points[b]
        if first is None or second is None:
            return None
        return km_between(first, second)

    def apart(self, a: int, b: int, settings: Settings) -> bool:
        """Do these two tickets lie at two different places (whatever they are about)?"""
        distance = self.distance(a, b)
        if distance is not None and distance > settings.radius_km:
            return True
        if self.place_tokens[a] and self.place_tokens[b]:
            return self.place_overlap(a, b) < settings.place_min
        return False


def _candidate_pairs(prepared: _Prepared, settings: Settings) -> list[tuple[int, int, float]]:
    """Pairs whose topic similarity reaches ``floor`` and who arrived within the window of
    each other (filtered on arrays, before any per-pair Python)."""
    if len(prepared.heads) < 2:
        return []
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(radius=1.0 - settings.floor, metric="cosine", algorithm="brute")
    graph = search.fit(prepared.topic).radius_neighbors_graph(prepared.topic, mode="distance")
    graph = graph.tocoo()
    seconds = np.array([head.at.timestamp() for head in prepared.heads])
    keep = (graph.row < graph.col) & (
        np.abs(seconds[graph.row] - seconds[graph.col]) <= settings.window_hours * 3600
    )
    return [
        (int(a), int(b), 1.0 - float(distance))
        for a, b, distance in zip(graph.row[keep], graph.col[keep], graph.data[keep], strict=True)
    ]


def pair_score(prepared: _Prepared, a: int, b: int, topic: float, settings: Settings) -> float:
    """The topic similarity, scaled by what place and location say (0: not one issue)."""
    first, second = prepared.heads[a], prepared.heads[b]
    if abs((first.at - second.at).total_seconds()) > settings.window_hours * 3600:
        return 0.0
    if prepared.apart(a, b, settings):
        return 0.0
    distance = prepared.distance(a, b)
    if prepared.place_tokens[a] and prepared.place_tokens[b]:
        return topic * (0.75 + 0.5 * prepared.place_overlap(a, b))
    if distance is not None and distance <= settings.near_km:
        return topic * 1.1
    return topic * 0.8


def _grow(
    prepared: _Prepared, edges: dict[int, dict[int, float]], settings: Settings
) -> list[list[int]]:
    window = dt.timedelta(hours=settings.window_hours)
    order = sorted(range(len(prepared.heads)), key=lambda i: prepared.heads[i].at)
    owner: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for index in order:
        at = prepared.heads[index].at
        neighbours = edges.get(index, {})
        best, best_score = None, 0.0
        for cluster in {owner[n] for n in neighbours if n in owner}:
            recent = [m for m in members[cluster] if abs(prepared.heads[m].at - at) <= window]
            if not recent:
                continue
            # One issue lies at one place: a member at another place rules the cluster out.
            if any(prepared.apart(index, m, settings) for m in members[cluster]):
                continue
            score = sum(neighbours.get(m, 0.0) for m in recent) / len(recent)
            if score > best_score:
                best, best_score = cluster, score
        if best is not None and best_score >= settings.threshold:
            owner[index] = best
            members[best].append(index)
        else:
            owner[index] = index
            members[index] = [index]
    return list(members.values())


def _label(prepared: _Prepared, heads: list[int], size: int = 3) -> list[str]:
    centroid = prepared.topic[heads].sum(axis=0).A1
    terms: list[str] = []
    for position in centroid.argsort()[::-1]:
        name = prepared.topic_names[position]
        if centroid[position] <= 0:
            break
        if name.startswith("概念:"):
            term = name.split(":", 1)[1]
        elif name.startswith("词:") and len(name) >= 4:
            term = name.split(":", 1)[1]
        else:
            continue
        if not any(term in kept or kept in term for kept in terms):
            terms.append(term)
        if len(terms) == size:
            break
    return terms


def _area(prepared: _Prepared, heads: list[int], addresses: dict[str, tuple[int, set[str]]]) -> str:
    """The cluster's most named address; else the window's address that shares most of its
    place bigrams (a chat message names the estate, a form carries its address)."""
    named = Counter(
        doc.address.strip() for i in heads for doc in prepared.groups[i] if doc.address.strip()
    )
    if named:
        return named.most_common(1)[0][0]
    bigrams = {gram for i in heads for gram in prepared.place_tokens[i]}
    best, best_key = "", (0, 0)
    for address, (count, grams) in addresses.items():
        key = (len(bigrams & grams), count)
        if key > best_key:
            best, best_key = address, key
    return best


def clusters_find(docs: Sequence[Doc], settings: Settings | None = None) -> list[Cluster]:
    """Every cluster of ``docs`` (singletons included), biggest first."""
    settings = settings or Settings()
    if not docs:
        return []
    prepared = _Prepared(docs, settings)
    edges: dict[int, dict[int, float]] = defaultdict(dict)
    for a, b, topic in _candidate_pairs(prepared, settings):
        score = pair_score(prepared, a, b, topic, settings)
        if score > 0:
            edges[a][b] = edges[b][a] = score
    counts = Counter(doc.address.strip() for doc in docs if doc.address.strip())
    addresses = {
        address: (count, set(chars(normalise(address), 2, 2))) for address, count in counts.items()
    }
    found = []
    for heads in _grow(prepared, edges, settings):
        members = sorted(
            (doc for i in heads for doc in prepared.groups[i]), key=lambda d: (d.at, d.key)
        )
        pairs = [edges[a].get(b, 0.0) for a in heads for b in heads if a < b]
        terms = _label(prepared, heads)
        found.append(
            Cluster(
                keys=[doc.key for doc in members],
                label="·".join(terms),
                area=_area(prepared, heads, addresses),
                first_at=members[0].at,
                last_at=members[-1].at,
                cohesion=sum(pairs) / len(pairs) if pairs else 1.0,
                terms=terms,
            )
        )
    found.sort(key=lambda c: (-c.size, c.first_at))
    return found


@dataclass(frozen=True)
class Quality:
    """Pair counting: of the pairs put together, how many belong together (precision); of
    the pairs that belong together, how many were put together (recall)."""

    precision: float
    recall: float
    true_pairs: int
    found_pairs: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def pair_quality(truth: dict[int, str], found: Iterable[Iterable[int]]) -> Quality:
    """Compare found clusters (of keys) with labelled ones (key → issue)."""
    predicted: dict[int, int] = {}
    for number, keys in enumerate(found):
        for key in keys:
            predicted[key] = number
    by_truth: dict[str, list[int]] = defaultdict(list)
    for key, issue in truth.items():
        by_truth[issue].append(key)
    true_pairs = sum(len(keys) * (len(keys) - 1) // 2 for keys in by_truth.values())
    by_found: dict[int, list[int]] = defaultdict(list)
    for key, number in predicted.items():
        if key in truth:
            by_found[number].append(key)
    found_pairs = sum(len(keys) * (len(keys) - 1) // 2 for keys in by_found.values())
    correct = 0
    for keys in by_found.values():
        counts = Counter(truth[key] for key in keys)
        correct += sum(n * (n - 1) // 2 for n in counts.values())
    return Quality(
        precision=correct / found_pairs if found_pairs else 1.0,
        recall=correct / true_pairs if true_pairs else 1.0,
        true_pairs=true_pairs,
        found_pairs=found_pairs,
    )
