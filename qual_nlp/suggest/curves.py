"""Learning curves: does reviewing in the queue's order need fewer labels than a random one?

A simulated analyst labels a pool of already-reviewed segments in batches. After each
batch the facet's estimator (on the sentence vectors) is refitted and scored — Cohen's κ
and macro-F1 — on held-out segments. The next batch is either the pool's least certain
segments under the current model, as the review queue orders them
(:func:`qual_nlp.suggest.active.priorities`: 1 − (top − runner-up) for an exclusive
facet), or a random batch. Both orders start from the same random seed batch; several
seeds (held-out parts) are averaged. The target is ``target_share`` (95%) of the κ of
the model trained on the whole pool: the curve reports the labels each order needed
to reach it.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(-1, 1, (60, 4)), rng.normal(1, 1, (60, 4))])
>>> y = np.array(["a"] * 60 + ["b"] * 60)
>>> curve = simulate(X, y, held_out_splits(np.arange(120), seeds=2), facet="f")
>>> sorted(curve.labels_to_target)
['random', 'uncertainty']
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qual_nlp.errors import ValidationError
from qual_nlp.records import CurvePoint, LearningCurve

#: The two review orders compared: the queue's (least certain first) and a random one.
ORDERS = ("uncertainty", "random")
#: Share of the whole pool's κ an order must reach.
TARGET_SHARE = 0.95
#: Reviewed segments (of one facet) a curve needs at the least.
MIN_SEGMENTS = 50
#: Each of two answers must have been given this many times.
MIN_PER_ANSWER = 5
#: Share of the labelled segments held out for scoring.
TEST_SIZE = 0.3

#: What ``python benchmarks/active_learning.py`` measured on other data (README: "Does
#: the review order earn its name?"): multilingual-e5-small × onnx-int8, batches of 40
#: from the same 40 random labels, three seeds; labels to reach 95% of the pool's κ.
MEASURED_ELSEWHERE: tuple[dict[str, Any], ...] = (
    {
        "data": "AnnoMI client talk type (3,298 dev rows)",
        "pool_kappa": 0.325,
        "random": "560",
        "uncertainty": "200",
    },
    {
        "data": "NHS patient feedback, phase 1 themes (3,000 dev rows)",
        "pool_kappa": 0.517,
        "random": "760",
        "uncertainty": "600",
    },
    {
        "data": "sample study, valence (777 coded passages)",
        "pool_kappa": 0.5,
        "random": "320",
        "uncertainty": "320",
    },
)

Split = tuple[np.ndarray, np.ndarray]
Progress = Callable[[int, int], None]


def default_batch(pool: int) -> int:
    """Labels per step for a pool of ``pool`` segments: a tenth of it, within 10…40.

    >>> default_batch(60), default_batch(2000)
    (10, 40)
    """
    return int(min(40, max(10, pool // 10)))


def held_out_splits(
    groups: Sequence[Any] | np.ndarray, seeds: int = 3, test_size: float = TEST_SIZE
) -> list[Split]:
    """(pool, held-out) row positions, one pair per seed. With four groups or more
    (documents) whole groups are held out, so no passage is scored beside its neighbours
    of the same document; otherwise single rows.

    >>> [len(t) for _, t in held_out_splits(["d1"] * 5 + ["d2"] * 5, seeds=2)]
    [3, 3]
    """
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    values = np.asarray(groups)
    idx = np.arange(len(values))
    if len(set(values.tolist())) >= 4:
        grouped = GroupShuffleSplit(n_splits=seeds, test_size=test_size, random_state=0)
        return [(idx[a], idx[b]) for a, b in grouped.split(idx, groups=values)]
    rows = ShuffleSplit(n_splits=seeds, test_size=test_size, random_state=0)
    return [(idx[a], idx[b]) for a, b in rows.split(idx)]


def check_enough(y: Sequence[Any], *, exclusive: bool = True, facet: str = "") -> None:
    """Raise :class:`ValidationError` when ``y`` is too small for a curve: fewer than
    :data:`MIN_SEGMENTS` segments, or fewer than two answers given
    :data:`MIN_PER_ANSWER` times each (a multi-label facet's answers: each code, and
    "no code")."""
    name = f"facet {facet!r}" if facet else "this facet"
    answers = _answers(y, exclusive)
    common = sorted(a for a, n in answers.items() if n >= MIN_PER_ANSWER)
    if len(y) >= MIN_SEGMENTS and len(common) >= 2:
        return
    given = ", ".join(f"{a} {n}" for a, n in answers.most_common()) or "none"
    raise ValidationError(
        f"{name} has {len(y)} reviewed segment(s) (answers: {given}); a learning curve "
        f"needs at least {MIN_SEGMENTS}, with at least two different answers given "
        f"{MIN_PER_ANSWER} times each. Review more segments of this facet, then measure "
        "the curve again."
    )


def _answers(y: Sequence[Any], exclusive: bool) -> Counter[str]:
    if exclusive:
        return Counter(str(v) for v in y)
    counts: Counter[str] = Counter()
    for row in y:
        counts.update([str(c) for c in row] if len(row) else ["no code"])
    return counts


def simulate(
    X: np.ndarray,
    y: Sequence[Any],
    splits: Sequence[Split],
    *,
    facet: str = "",
    exclusive: bool = True,
    start: int | None = None,
    batch: int | None = None,
    budget: int | None = None,
    target_share: float = TARGET_SHARE,
    held_out: str = "",
    progress: Progress | None = None,
) -> LearningCurve:
    """The learning curve of both review orders on rows ``X`` labelled ``y``.

    ``y``: one label per row (exclusive facet, ``"none"`` included) or one tuple of
    codes per row (multi-label). ``splits``: (pool, held-out) row positions per seed
    (:func:`held_out_splits`). ``start`` labels in the common random seed batch and
    ``batch`` labels per step default to :func:`default_batch` of the smallest pool;
    ``budget`` (default: the whole pool) is where the curve stops.
    ``progress(done, total)`` counts the estimators fitted.
    """
    task = _Task(y, exclusive)
    check_enough(y, exclusive=exclusive, facet=facet)
    smallest = min(len(pool) for pool, _ in splits)
    step = batch or default_batch(smallest)
    first = min(start or step, smallest)
    stop = min(budget or smallest, smallest)
    steps = 1 + math.ceil(max(0, stop - first) / step)
    total, done = len(splits) * (1 + len(ORDERS) * steps), 0
    rows: list[tuple[str, int, float, float]] = []
    finals = []
    for seed, (pool, test) in enumerate(splits):
        finals.append(task.score(task.fit(X, np.asarray(pool)), X, test)[0])
        done += 1
        for order in ORDERS:
            for labels, kappa, f1 in _run(task, X, pool, test, order, seed, first, step, stop):
                rows.append((order, labels, kappa, f1))
                done += 1
                if progress is not None:
                    progress(done, total)
    means = _mean_points(rows)
    pool_kappa = float(np.mean(finals))
    target = target_share * pool_kappa
    reached = {order: _labels_to_reach(means, order, target) for order in ORDERS}
    points = tuple(
        dataclasses.replace(p, kappa=round(p.kappa, 3), f1=round(p.f1, 3)) for p in means
    )
    curve = LearningCurve(
        facet=facet,
        segments=len(y),
        seeds=len(splits),
        start=first,
        batch=step,
        pool_kappa=round(pool_kappa, 3),
        target_share=target_share,
        target_kappa=round(target, 3),
        labels_to_target=reached,
        points=points,
        held_out=held_out,
    )
    return dataclasses.replace(curve, reading=reading(curve))


def _run(
    task: _Task,
    X: np.ndarray,
    pool: np.ndarray,
    test: np.ndarray,
    order: str,
    seed: int,
    start: int,
    batch: int,
    budget: int,
) -> list[tuple[int, float, float]]:
    """(labels, κ, macro-F1) after each step of one order from one seed batch."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(pool)
    labelled = [int(i) for i in rng.choice(pool, size=start, replace=False)]
    out = []
    while True:
        chosen = np.asarray(labelled)
        model = task.fit(X, chosen)
        kappa, f1 = task.score(model, X, test)
        out.append((len(chosen), kappa, f1))
        if len(chosen) >= budget:
            return out
        rest = np.setdiff1d(pool, chosen)
        size = min(batch, budget - len(chosen), len(rest))
        if order == "uncertainty" and model is not None:
            scores = task.uncertainty(model, X[rest])
            pick = rest[np.argsort(-scores, kind="stable")[:size]]
        else:
            pick = rng.choice(rest, size=size, replace=False)
        labelled += [int(i) for i in pick]


class _Task:
    """One facet's estimator, its score and its uncertainty, exclusive or multi-label."""

    def __init__(self, y: Sequence[Any], exclusive: bool) -> None:
        self.exclusive = exclusive
        if exclusive:
            self.y = np.asarray([str(v) for v in y], dtype=object)
            self.classes: list[str] = sorted(set(self.y.tolist()))
            self.Y = np.zeros((len(self.y), 0), dtype=int)
        else:
            self.classes = sorted({str(c) for row in y for c in row})
            index = {c: j for j, c in enumerate(self.classes)}
            self.Y = np.zeros((len(y), len(self.classes)), dtype=int)
            for i, row in enumerate(y):
                for c in row:
                    self.Y[i, index[str(c)]] = 1
            self.y = np.asarray([], dtype=object)

    def fit(self, X: np.ndarray, rows: np.ndarray) -> Any:
        """The estimator fitted on ``rows`` (None while they hold a single answer)."""
        from qual_nlp.suggest.classifier import ExclusiveClassifier, MultiLabelClassifier

        if self.exclusive:
            if len(set(self.y[rows].tolist())) < 2:
                return None
            return ExclusiveClassifier(tune=False).fit(X[rows], self.y[rows])
        Y = self.Y[rows]
        if not Y.any() or Y.all():
            return None
        return MultiLabelClassifier(tune=False, classes=self.classes).fit(X[rows], Y)

    def score(self, model: Any, X: np.ndarray, test: np.ndarray) -> tuple[float, float]:
        """(κ, macro-F1) on the held-out rows; 0 for no model. Multi-label: κ is the mean
        over codes of each code's κ, as the model's quality as a coder is reported."""
        from sklearn.metrics import cohen_kappa_score, f1_score

        from qual_nlp.suggest.labels import NONE

        if model is None:
            return 0.0, 0.0
        if self.exclusive:
            truth = self.y[test].astype(str)
            pred = np.asarray(model.predict(X[test])).astype(str)
            present = sorted(set(truth.tolist()) - {NONE})
            kappa = _finite(cohen_kappa_score(truth, pred))
            f1 = f1_score(truth, pred, labels=present, average="macro", zero_division=0)
            return kappa, float(f1)
        truth_m = self.Y[test]
        pred_m = np.asarray(model.predict(X[test]), dtype=int)
        kappas = [
            _finite(cohen_kappa_score(truth_m[:, j], pred_m[:, j]))
            for j in range(truth_m.shape[1])
            if len(set(truth_m[:, j]) | set(pred_m[:, j])) > 1
        ]
        f1 = f1_score(truth_m, pred_m, average="macro", zero_division=0)
        return (float(np.mean(kappas)) if kappas else 0.0), float(f1)

    def uncertainty(self, model: Any, X: np.ndarray) -> np.ndarray:
        """The review queue's uncertainty of each row under ``model``."""
        import pandas as pd

        from qual_nlp.suggest import active

        columns = [str(c) for c in model.classes_]
        proba = pd.DataFrame(model.predict_proba(X), columns=columns)
        cuts = {}
        if not self.exclusive:
            cuts = dict(zip(columns, np.asarray(model.thresholds_, dtype=float), strict=True))
        found = active.priorities({"f": proba}, {"f": self.exclusive}, cuts)
        return found["uncertainty"].to_numpy()


def _finite(value: Any) -> float:
    """κ of a held-out part with a single answer on both sides is undefined: 0 then."""
    number = float(value)
    return number if math.isfinite(number) else 0.0


def _mean_points(rows: list[tuple[str, int, float, float]]) -> tuple[CurvePoint, ...]:
    """Mean κ and macro-F1 over seeds, per order and labels count."""
    sums: dict[tuple[str, int], list[float]] = {}
    for order, labels, kappa, f1 in rows:
        acc = sums.setdefault((order, labels), [0.0, 0.0, 0.0])
        acc[0] += kappa
        acc[1] += f1
        acc[2] += 1
    return tuple(
        CurvePoint(order, labels, k / n, f / n)
        for (order, labels), (k, f, n) in sorted(
            sums.items(), key=lambda item: (ORDERS.index(item[0][0]), item[0][1])
        )
    )


def _labels_to_reach(points: Sequence[CurvePoint], order: str, target: float) -> int | None:
    """The fewest labels after which ``order``'s mean κ reached ``target`` (None: never)."""
    if target <= 0:
        return None
    hits = [p.labels for p in points if p.order == order and p.kappa >= target]
    return min(hits) if hits else None


def reading(curve: LearningCurve) -> str:
    """The curve in plain words: which order reached the target κ, after how many labels.

    >>> from qual_nlp.records import LearningCurve
    >>> c = LearningCurve("valence", 300, 3, 20, 20, 0.6, 0.95, 0.57,
    ...                   {"uncertainty": 80, "random": 140}, ())
    >>> print(reading(c))  # doctest: +NORMALIZE_WHITESPACE
    On this project, reviewing in the queue's order reached κ 0.57 (95% of the κ 0.60 of a
    model trained on the whole pool) after 80 labels; random order needed 140. The
    queue's order saved 60 labels (43%).
    """
    most = max((p.labels for p in curve.points), default=0)
    if curve.pool_kappa <= 0.05:
        return (
            f"Trained on every reviewed segment of the pool, the model agrees with the held-out "
            f"reviews hardly better than chance (κ {curve.pool_kappa:.2f}), so no review order "
            "can show an advantage yet. Review more segments, and check that the codes' "
            "definitions tell them apart."
        )
    target = (
        f"κ {curve.target_kappa:.2f} ({curve.target_share:.0%} of the κ {curve.pool_kappa:.2f} "
        "of a model trained on the whole pool)"
    )
    queue = curve.labels_to_target.get("uncertainty")
    rand = curve.labels_to_target.get("random")
    if queue is not None and rand is not None:
        text = (
            f"On this project, reviewing in the queue's order reached {target} after {queue} "
            f"labels; random order needed {rand}."
        )
        if queue < rand:
            return (
                text + f" The queue's order saved {rand - queue} labels ({1 - queue / rand:.0%})."
            )
        if queue > rand:
            return text + (
                " Here a random order got there sooner: reviewing by document or by relevance "
                "costs nothing in what the model learns."
            )
        return text + " Both orders needed as many labels."
    if queue is not None:
        return (
            f"On this project, reviewing in the queue's order reached {target} after {queue} "
            f"labels; random order had not reached it by {most}."
        )
    if rand is not None:
        return (
            f"On this project, random order reached {target} after {rand} labels; the queue's "
            f"order had not reached it by {most}: review by document or by relevance instead."
        )
    return f"On this project, neither order reached {target} within {most} labels."
