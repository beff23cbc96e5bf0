"""Fine-tuning the encoder on a facet's reviewed segments, and an honest comparison.

SetFit's recipe, first stage: pairs of reviewed segments (same label → cosine 1, different
labels → cosine 0) teach the sentence encoder the facet's distinctions
(:func:`make_pairs`, :func:`qual_nlp.resources.finetune.tune_encoder`). Whether that helps
is measured, not assumed (:func:`compare`): in each of k folds the encoder is tuned on the
training folds only, the facet's estimator is fitted on the tuned vectors of the training
folds and scored (macro-F1, Cohen's κ) on the held-out fold, and the frozen encoder is
scored the same way on the same folds. The tuned encoder is kept only where its mean κ
beats the frozen one's (:func:`decide`); on small study corpora it often does not.

Both coders are scored on the sentence vectors alone (the estimator without word
features), so the comparison measures the encoder and nothing else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qual_nlp.errors import ValidationError
from qual_nlp.resources.finetune import Pair, planned_steps
from qual_nlp.suggest.labels import NONE, FacetLabels

#: Pairs made at most per fine-tuning run (half positive, half negative).
MAX_PAIRS = 1200
#: Rounds over the segments (SetFit's ``num_iterations``): each anchor gets up to one
#: positive and one negative partner per round.
ROUNDS = 20
#: The least time a tuning run is given, however late (it takes at least one step).
MIN_RUN_SECONDS = 1.0
#: How a comparison may be settled: by the scores, or forced one way (tests, and a team
#: that decided on other grounds).
CHOICES = ("better", "tuned", "frozen")


def label_key(label: Any) -> Hashable:
    """A label as a pair key: an exclusive facet's code, or a multi-label facet's set
    of codes (two segments with the same set count as the same label)."""
    if isinstance(label, str):
        return label
    return tuple(sorted(str(c) for c in label))


def make_pairs(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    max_pairs: int = MAX_PAIRS,
    rounds: int = ROUNDS,
    seed: int = 0,
) -> list[Pair]:
    """Balanced, seeded SetFit-style pairs: each round, every segment (in a shuffled
    order) is paired with one segment of its label (cosine 1.0) and one of another
    label (0.0), a positive always with its negative, until ``max_pairs``.

    >>> make_pairs(["a", "b", "c", "d"], ["x", "x", "y", "y"], max_pairs=4)  # doctest: +SKIP
    [('b', 'a', 1.0), ('b', 'd', 0.0), ('c', 'd', 1.0), ('c', 'a', 0.0)]
    """
    if len(texts) != len(labels):
        raise ValidationError(
            f"make_pairs: {len(texts)} texts but {len(labels)} labels; give one label per text"
        )
    if max_pairs < 2:
        raise ValidationError(f"make_pairs: max_pairs must be at least 2, got {max_pairs}")
    keys = [label_key(label) for label in labels]
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    if len(groups) < 2 or max(len(g) for g in groups.values()) < 2:
        raise ValidationError(
            f"cannot make training pairs from {len(texts)} segments with "
            f"{len(groups)} different answer(s): fine-tuning needs two answers, one of them "
            "on at least two segments. Review more segments, then fine-tune again."
        )
    rng = random.Random(seed)
    anchors = [i for i in range(len(texts)) if len(groups[keys[i]]) >= 2]
    pairs: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    for _ in range(rounds):
        rng.shuffle(anchors)
        for i in anchors:
            same = groups[keys[i]]
            j = same[rng.randrange(len(same))]
            while j == i:
                j = same[rng.randrange(len(same))]
            other = rng.choice([k for k in groups if k != keys[i]])
            m = rng.choice(groups[other])
            if (min(i, j), max(i, j)) in seen and (min(i, m), max(i, m)) in seen:
                continue
            seen.update({(min(i, j), max(i, j)), (min(i, m), max(i, m))})
            pairs.append((texts[i], texts[j], 1.0))
            pairs.append((texts[i], texts[m], 0.0))
            if len(pairs) >= max_pairs:
                return pairs
    return pairs


@dataclass(frozen=True)
class Scores:
    """One coder's scores over the folds: per-fold κ and macro-F1 and their means."""

    kappas: tuple[float, ...]
    macro_f1s: tuple[float, ...]

    @property
    def kappa(self) -> float:
        return float(np.mean(self.kappas)) if self.kappas else float("nan")

    @property
    def macro_f1(self) -> float:
        return float(np.mean(self.macro_f1s)) if self.macro_f1s else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "kappa": self.kappa,
            "macro_f1": self.macro_f1,
            "fold_kappas": list(self.kappas),
            "fold_macro_f1": list(self.macro_f1s),
        }


@dataclass(frozen=True)
class Comparison:
    """The frozen and the tuned encoder scored on the same folds of one facet."""

    facet: str
    n: int
    folds: int
    frozen: Scores
    tuned: Scores
    steps: tuple[int, ...] = ()
    stopped_by_cap: bool = False
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tuned_wins(self) -> bool:
        """True when the tuned encoder's mean κ is higher than the frozen one's."""
        return bool(self.tuned.kappa > self.frozen.kappa)


def check_choice(choose: str) -> str:
    """``choose`` if it is one of :data:`CHOICES`, else a :class:`ValidationError`."""
    if choose not in CHOICES:
        raise ValidationError(
            f"choose={choose!r} is not one of {', '.join(CHOICES)}; use 'better' to keep the "
            "tuned encoder only where its cross-validated κ beats the frozen one's"
        )
    return choose


def decide(comparison: Comparison, choose: str = "better") -> bool:
    """Whether to use the tuned encoder: where it won (``better``), or as forced."""
    if check_choice(choose) == "better":
        return comparison.tuned_wins
    return choose == "tuned"


def fold_scores(
    y_true: Sequence[Any], y_pred: Sequence[Any], exclusive: bool
) -> tuple[float, float]:
    """(κ, macro-F1) of predictions on one held-out fold, as :mod:`engine` scores a coder:
    exclusive facets by Cohen's κ over the answers and macro-F1 over the codes (not
    "none"); multi-label facets by the mean per-code κ and macro-F1."""
    from sklearn.metrics import cohen_kappa_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    if exclusive:
        y = np.asarray([str(v) for v in y_true], dtype=object)
        p = np.asarray([str(v) for v in y_pred], dtype=object)
        present = sorted(set(y) - {NONE})
        kappa = cohen_kappa_score(y, p) if len(set(y) | set(p)) > 1 else 0.0
        f1 = f1_score(y, p, labels=present, average="macro", zero_division=0)
        return float(np.nan_to_num(kappa)), float(f1)
    mlb = MultiLabelBinarizer()
    mlb.fit([list(t) for t in y_true] + [list(t) for t in y_pred])
    Y = mlb.transform([list(t) for t in y_true])
    P = mlb.transform([list(t) for t in y_pred])
    kappas = [
        cohen_kappa_score(Y[:, j], P[:, j])
        for j in range(Y.shape[1])
        if len(set(Y[:, j]) | set(P[:, j])) > 1
    ]
    f1 = f1_score(Y, P, average="macro", zero_division=0) if Y.shape[1] else 0.0
    return float(np.nan_to_num(np.mean(kappas))) if kappas else 0.0, float(f1)


def splits(labels: FacetLabels, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, held-out rows) of each fold: stratified by answer for an exclusive
    facet (fewer folds when an answer is rarer than ``folds``), shuffled otherwise."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(labels)
    if folds < 2:
        raise ValidationError(
            f"folds must be at least 2 to score on held-out segments, got {folds}"
        )
    if labels.exclusive:
        y = np.asarray([str(v) for v in labels.labels], dtype=object)
        smallest = min(int((y == v).sum()) for v in set(y))
        k = min(folds, smallest)
        if k < 2:
            raise ValidationError(
                f"facet {labels.facet}: an answer has a single reviewed segment, too few to "
                "hold some out in every fold. Review more segments, then fine-tune again."
            )
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(n), y))
    return list(KFold(n_splits=min(folds, n), shuffle=True, random_state=seed).split(np.zeros(n)))


def _predict(exclusive: bool, train_X: np.ndarray, train_y: list, test_X: np.ndarray) -> list:
    from qual_nlp.suggest.engine import make_estimator

    targets: Any = np.asarray(train_y, dtype=object) if exclusive else [list(t) for t in train_y]
    estimator = make_estimator(exclusive).fit(train_X, targets)
    if exclusive:
        return list(estimator.predict(test_X))
    rows = (
        estimator.predict_labels(test_X)
        if hasattr(estimator, "predict_labels")
        else estimator.predict(test_X)
    )
    classes = [str(c) for c in estimator.classes_]
    out = []
    for row in rows:
        if isinstance(row, np.ndarray) and row.dtype != object and len(row) == len(classes):
            out.append(tuple(c for c, v in zip(classes, row, strict=True) if v))
        else:
            out.append(tuple(row))
    return out


#: Tunes an encoder: (pairs, seconds, progress) → an object with ``model`` (anything with
#: sentence-transformers' ``encode``), ``steps`` and ``stopped_by_cap``.
Tuner = Callable[[list[Pair], float, Callable[[int, int], None] | None], Any]


def compare(
    texts: Sequence[str],
    labels: FacetLabels,
    frozen_X: np.ndarray,
    tune: Tuner,
    *,
    folds: int = 3,
    seconds: float = 300.0,
    seed: int = 0,
    batch_size: int = 16,
    epochs: int = 1,
    max_pairs: int = MAX_PAIRS,
    progress: Callable[[int, int], None] | None = None,
    runs_after: int = 1,
) -> Comparison:
    """Score the frozen and a tuned encoder on the same ``folds`` of one facet.

    ``frozen_X`` holds the frozen encoder's vectors of ``texts`` (rows align with
    ``labels``); ``tune(pairs, seconds, progress)`` fine-tunes a fresh copy of the base
    encoder on one fold's training pairs, within the seconds it is given. The time cap
    ``seconds`` covers the whole comparison: each fold's run gets an even share of the
    time left among the runs still to come, ``runs_after`` of them after the folds (the
    final tuning on all segments), so encoding the folds' texts comes out of the same
    budget; a run that reaches its share stops after the step under way.
    ``progress(done, total)`` counts optimiser steps over all the runs.
    """
    from qual_nlp.suggest.embed import Embedder

    started = time.monotonic()
    deadline = started + seconds
    chosen = splits(labels, folds, seed)
    y = list(labels.labels)
    fold_pairs = [
        make_pairs(
            [texts[i] for i in train],
            [y[i] for i in train],
            max_pairs=max_pairs,
            seed=seed + k,
        )
        for k, (train, _) in enumerate(chosen)
    ]
    final_steps = planned_steps(min(max_pairs, 2 * ROUNDS * len(texts)), epochs, batch_size)
    plan = [planned_steps(len(p), epochs, batch_size) for p in fold_pairs]
    total = sum(plan) + final_steps * max(0, runs_after)
    offset = 0
    frozen_k, frozen_f, tuned_k, tuned_f, steps = [], [], [], [], []
    stopped = False
    for k, (train, test) in enumerate(chosen):
        truth = [y[i] for i in test]
        pred = _predict(labels.exclusive, frozen_X[train], [y[i] for i in train], frozen_X[test])
        kappa, f1 = fold_scores(truth, pred, labels.exclusive)
        frozen_k.append(kappa)
        frozen_f.append(f1)

        def step(done: int, _total: int, base: int = offset) -> None:
            if progress is not None:
                progress(min(base + done, total), total)

        # each run gets an even share of the time left (encoding the folds' texts included)
        left = len(chosen) - k + max(0, runs_after)
        budget = max(MIN_RUN_SECONDS, (deadline - time.monotonic()) / left)
        run = tune(fold_pairs[k], budget, step)
        steps.append(int(run.steps))
        stopped = stopped or bool(run.stopped_by_cap)
        offset += plan[k]
        if progress is not None:
            progress(min(offset, total), total)
        embedder = Embedder(f"fold-{k}", model=run.model, backend="torch")
        tuned_X = embedder.encode(list(texts))
        pred = _predict(labels.exclusive, tuned_X[train], [y[i] for i in train], tuned_X[test])
        kappa, f1 = fold_scores(truth, pred, labels.exclusive)
        tuned_k.append(kappa)
        tuned_f.append(f1)
    return Comparison(
        facet=labels.facet,
        n=len(labels),
        folds=len(chosen),
        frozen=Scores(tuple(frozen_k), tuple(frozen_f)),
        tuned=Scores(tuple(tuned_k), tuple(tuned_f)),
        steps=tuple(steps),
        stopped_by_cap=stopped,
        seconds=time.monotonic() - started,
        extra={"planned_steps": total, "done_steps": offset},
    )
