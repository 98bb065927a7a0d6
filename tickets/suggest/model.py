"""The routing-suggestion model: which department (and category) a ticket belongs to, from its
text and location, learned from closed tickets. Pure (no database).

Features: jieba words, character bigrams and the concepts of ``tickets.tokens`` of the title
and content; the words of the address; the ~1 km and ~10 km grid cells of the coordinates; the
request type. TF-IDF (sublinear, l2) and a multinomial logistic regression per target
(scikit-learn). The trained weights are stored as a compressed numpy archive without pickle,
and a suggestion is computed from them with numpy alone: a few dozen multiplications.
"""

from __future__ import annotations

import io
import json
import math
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tickets.tokens import chars, concepts, normalise, words

MAX_FEATURES = 30_000
# Inverse regularisation strength and iterations of the logistic regression.
C = 10.0
MAX_ITER = 100
TARGETS = ("department", "category")


@dataclass(frozen=True)
class Sample:
    """One ticket: what it says and where, and (for training) where it ended up."""

    text: str
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    request_type: str = ""
    department: int | None = None
    category: int | None = None

    def label(self, target: str) -> int | None:
        value: int | None = getattr(self, target)
        return value


def features(sample: Sample) -> list[str]:
    text = normalise(sample.text)
    found = words(text)
    out = ["词:" + word for word in found]
    out += ["字:" + gram for gram in chars(text, 2, 2)]
    out += concepts(found)
    if sample.address:
        out += ["址:" + word for word in words(sample.address)]
    if sample.lat is not None and sample.lon is not None:
        out.append(f"格:{sample.lat:.2f},{sample.lon:.2f}")
        out.append(f"区:{sample.lat:.1f},{sample.lon:.1f}")
    if sample.request_type:
        out.append("型:" + sample.request_type)
    return out


@dataclass(frozen=True)
class Choice:
    label: int
    probability: float


@dataclass
class Weights:
    """Vocabulary, idf and, per target, the classes with their coefficients."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    classes: dict[str, np.ndarray]
    coef: dict[str, np.ndarray]
    intercept: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    # --- storage: a numpy archive of plain arrays (``allow_pickle=False`` on load) ----------

    def to_bytes(self) -> bytes:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        arrays: dict[str, np.ndarray] = {
            "terms": np.array(terms, dtype=str),
            "idf": self.idf.astype(np.float32),
            "meta": np.array(json.dumps(self.meta, ensure_ascii=False)),
        }
        for target in self.classes:
            arrays[f"{target}_classes"] = self.classes[target].astype(np.int64)
            arrays[f"{target}_coef"] = self.coef[target].astype(np.float32)
            arrays[f"{target}_intercept"] = self.intercept[target].astype(np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Weights:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            terms = [str(term) for term in archive["terms"]]
            targets = [t for t in TARGETS if f"{t}_classes" in archive.files]
            return cls(
                vocabulary={term: index for index, term in enumerate(terms)},
                idf=archive["idf"].astype(np.float64),
                classes={t: archive[f"{t}_classes"] for t in targets},
                coef={t: archive[f"{t}_coef"].astype(np.float64) for t in targets},
                intercept={t: archive[f"{t}_intercept"].astype(np.float64) for t in targets},
                meta=json.loads(str(archive["meta"])),
            )

    # --- inference ----------------------------------------------------------------------

    def vector(self, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        """The TF-IDF vector (sublinear tf, l2) as (indices, values): what scikit-learn's
        ``TfidfVectorizer`` gives, without it."""
        counts: dict[int, int] = {}
        for token in features(sample):
            index = self.vocabulary.get(token)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indices = np.fromiter(counts, dtype=np.int64)
        values = np.array([1.0 + math.log(counts[i]) for i in counts]) * self.idf[indices]
        norm = float(np.sqrt((values**2).sum()))
        return indices, values / norm if norm else values

    def choices(self, sample: Sample, target: str, top: int = 3) -> list[Choice]:
        """The ``top`` most likely labels for ``target``, best first."""
        if target not in self.classes:
            return []
        indices, values = self.vector(sample)
        coef, intercept = self.coef[target], self.intercept[target]
        scores = coef[:, indices] @ values + intercept if len(indices) else intercept.copy()
        if coef.shape[0] == 1:  # two classes: scikit-learn keeps one row for the second
            positive = 1.0 / (1.0 + math.exp(-float(scores[0])))
            probabilities = np.array([1.0 - positive, positive])
        else:
            exp = np.exp(scores - scores.max())
            probabilities = exp / exp.sum()
        order = np.argsort(-probabilities)[:top]
        return [
            Choice(label=int(self.classes[target][i]), probability=float(probabilities[i]))
            for i in order
        ]


def _fit_target(matrix: Any, labels: list[int | None], seed: int) -> tuple[Any, ...] | None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    rows = [i for i, label in enumerate(labels) if label is not None]
    classes = {labels[i] for i in rows}
    if len(classes) < 2:
        return None
    model = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)
    with warnings.catch_warnings():
        # The iterations are capped on purpose (the night's budget): not converging fully on
        # noisy labels is expected, not news for the log every night.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(matrix[rows], [labels[i] for i in rows])
    return model.classes_, model.coef_, model.intercept_


def train(
    samples: Sequence[Sample], *, seed: int = 0, meta: dict[str, Any] | None = None
) -> Weights:
    """Fit the vocabulary and one classifier per target that has at least two labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=features,
        sublinear_tf=True,
        min_df=2 if len(samples) >= 500 else 1,
        max_features=MAX_FEATURES,
    )
    matrix = vectorizer.fit_transform(samples)
    weights = Weights(
        vocabulary={str(term): int(index) for term, index in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        classes={},
        coef={},
        intercept={},
        meta=dict(meta or {}),
    )
    for target in TARGETS:
        fitted = _fit_target(matrix, [sample.label(target) for sample in samples], seed)
        if fitted is not None:
            classes, coef, intercept = fitted
            weights.classes[target] = np.asarray(classes, dtype=np.int64)
            weights.coef[target] = np.asarray(coef, dtype=np.float64)
            weights.intercept[target] = np.asarray(intercept, dtype=np.float64)
    return weights


# --- how good it is ----------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    tested: int
    top1: float
    top3: float

    def as_dict(self) -> dict[str, float | int]:
        return {"tested": self.tested, "top1": round(self.top1, 4), "top3": round(self.top3, 4)}


def holdout_split(
    samples: Sequence[Sample], *, fraction: float = 0.2, seed: int = 20240601
) -> tuple[list[Sample], list[Sample]]:
    """(training, held back): a fixed-seed shuffle, the last ``fraction`` held back."""
    shuffled = list(samples)
    random.Random(seed).shuffle(shuffled)
    cut = len(shuffled) - max(1, int(len(shuffled) * fraction))
    return shuffled[:cut], shuffled[cut:]


def accuracy(weights: Weights, samples: Sequence[Sample], target: str) -> Accuracy:
    """Top-1 and top-3 accuracy on ``samples`` that carry a label for ``target``."""
    tested = hits1 = hits3 = 0
    for sample in samples:
        truth = sample.label(target)
        if truth is None:
            continue
        labels = [choice.label for choice in weights.choices(sample, target)]
        tested += 1
        hits1 += bool(labels) and labels[0] == truth
        hits3 += truth in labels
    if not tested:
        return Accuracy(0, 0.0, 0.0)
    return Accuracy(tested, hits1 / tested, hits3 / tested)


def evaluate(samples: Sequence[Sample], *, seed: int = 20240601) -> dict[str, dict[str, Any]]:
    """Train on the training part of a fixed split, measure on the held-back part."""
    training, held_back = holdout_split(samples, seed=seed)
    weights = train(training, seed=seed)
    return {
        target: accuracy(weights, held_back, target).as_dict()
        | {"trained_on": sum(s.label(target) is not None for s in training)}
        for target in TARGETS
    }
