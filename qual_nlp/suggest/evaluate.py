"""Evaluation on labelled data: train on one CSV, score another (or cross-validate one).

The labelled CSV has a text column and a labels column (several labels joined
by ``;``); a row with exactly one label everywhere makes a single-label task
(multiclass, scored with macro-F1, micro-F1, accuracy and Cohen's κ), anything
else a multi-label task (macro-/micro-F1 over labels). Labels with fewer than
``min_support`` training examples are left out of the macro average (and
listed), as a model cannot learn them. The model is the same one the product
trains per facet: sentence embeddings (long texts cut into passages and pooled),
the preceding turn's embedding when a context column is given, TF-IDF
n-grams, and the estimators of :mod:`qual_nlp.suggest.classifier`.

>>> report = evaluate_files("dev.csv", "test.csv", context_col="prev_utterance")  # doctest: +SKIP
>>> print(report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp.errors import ImportFileError, ValidationError

__all__ = ["EvaluationReport", "LabelledData", "TextModel", "evaluate_files", "read_labelled"]

#: Texts longer than this many words are embedded passage by passage and pooled.
PASSAGE_WORDS = 64


@dataclass
class LabelledData:
    """Texts with label sets (and optional context texts and groups)."""

    texts: list[str]
    labels: list[tuple[str, ...]]
    context: list[str] | None = None
    groups: np.ndarray | None = None
    source: str = "<data>"

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def single_label(self) -> bool:
        return all(len(row) == 1 for row in self.labels)

    def subset(self, index: Sequence[int] | np.ndarray) -> LabelledData:
        index = np.asarray(index, dtype=int)
        return LabelledData(
            [self.texts[i] for i in index],
            [self.labels[i] for i in index],
            None if self.context is None else [self.context[i] for i in index],
            None if self.groups is None else self.groups[index],
            self.source,
        )


def read_labelled(
    path: str | Path,
    *,
    text_col: str = "text",
    labels_col: str = "labels",
    sep: str = ";",
    context_col: str | None = None,
    group_col: str | None = None,
) -> LabelledData:
    """Read a labelled CSV, with errors that name the file and the missing column."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise ImportFileError(str(path), "no such file", "Check the path") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ImportFileError(
            str(path), f"not a readable CSV ({exc})", "Save it as UTF-8 CSV"
        ) from exc
    wanted = [c for c in (text_col, labels_col, context_col, group_col) if c]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ImportFileError(
            str(path),
            f"no column {', '.join(missing)} (columns: {', '.join(frame.columns)})",
            "Name the columns with --text-col / --labels-col / --context-col",
        )
    labels = [
        tuple(sorted({x.strip() for x in v.split(sep) if x.strip()})) for v in frame[labels_col]
    ]
    keep = [i for i, row in enumerate(labels) if row]
    if not keep:
        raise ImportFileError(str(path), "no row has a label", f"Fill the {labels_col} column")
    frame = frame.iloc[keep].reset_index(drop=True)
    return LabelledData(
        texts=frame[text_col].tolist(),
        labels=[labels[i] for i in keep],
        context=frame[context_col].tolist() if context_col else None,
        groups=frame[group_col].to_numpy() if group_col else None,
        source=str(path),
    )


class TextModel:
    """Text → labels: embeddings (+ context) + TF-IDF into the per-facet estimators.

    ``single_label`` picks :class:`ExclusiveClassifier` (one label per text) or
    :class:`MultiLabelClassifier`. ``embedder`` is a
    :class:`qual_nlp.suggest.embed.Embedder` (its cache makes repeated runs cheap).
    """

    def __init__(
        self,
        embedder: Any,
        single_label: bool,
        *,
        C: float = 1.0,
        context_weight: float = 0.5,
        tfidf_weight: float = 1.0,
        passage_words: int = PASSAGE_WORDS,
    ) -> None:
        self.embedder = embedder
        self.single_label = single_label
        self.C = C
        self.context_weight = context_weight
        self.tfidf_weight = tfidf_weight
        self.passage_words = passage_words

    def vectors(self, texts: Sequence[str], pooled: bool) -> np.ndarray:
        """Embeddings. Texts longer than ``passage_words`` are cut into passages;
        ``pooled`` gives every text [mean, max] of its passages (a short text
        [v, v]), otherwise a long text gets the mean of its passages."""
        from qual_nlp.suggest.features import pool_passages, split_passages

        texts = [t or "" for t in texts]
        if not pooled and not any(len(t.split()) > self.passage_words for t in texts):
            return self.embedder.encode(texts)
        pieces: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            for passage in split_passages(text, self.passage_words):
                pieces.append(passage)
                owners.append(i)
        both = pool_passages(self.embedder.encode(pieces), owners, len(texts))
        return both if pooled else both[:, : both.shape[1] // 2]

    def _features(self, data: LabelledData, fit: bool) -> Any:
        from qual_nlp.suggest.features import TextFeatures

        if fit:
            self.pooled_ = any(len((t or "").split()) > self.passage_words for t in data.texts)
            self.features_ = TextFeatures(
                context_weight=self.context_weight if data.context is not None else 0.0,
                tfidf_weight=self.tfidf_weight,
            ).fit(data.texts)
        X = self.vectors(data.texts, self.pooled_)
        context = None
        if data.context is not None and self.features_.context_weight > 0:
            context = self.embedder.encode([c or "" for c in data.context])
            if self.pooled_:
                context = np.hstack([context, context])
        return self.features_.transform(X, data.texts, context)

    def fit(self, data: LabelledData) -> TextModel:
        from qual_nlp.suggest.classifier import ExclusiveClassifier, MultiLabelClassifier

        F = self._features(data, fit=True)
        if self.single_label:
            self.estimator_: Any = ExclusiveClassifier(C=self.C).fit(
                F, np.asarray([row[0] for row in data.labels], dtype=object)
            )
        else:
            self.estimator_ = MultiLabelClassifier(C=self.C).fit(F, [list(r) for r in data.labels])
        return self

    @property
    def classes_(self) -> list[str]:
        return [str(c) for c in self.estimator_.classes_]

    def predict(self, data: LabelledData) -> list[tuple[str, ...]]:
        F = self._features(data, fit=False)
        if self.single_label:
            return [(str(label),) for label in self.estimator_.predict(F)]
        return [tuple(str(c) for c in row) for row in self.estimator_.predict_labels(F)]


@dataclass
class EvaluationReport:
    """What ``qual-nlp evaluate`` prints: overall and per-label scores, and the curve."""

    task: str  # single-label | multi-label
    train: str
    test: str
    n_train: int
    n_test: int
    labels: list[str]
    excluded_labels: list[str]
    macro_f1: float
    micro_f1: float
    kappa: float | None
    accuracy: float | None
    per_label: dict[str, dict[str, float]]
    curve: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [
            f"{self.task} task: trained on {self.n_train} rows of {self.train}, "
            f"scored on {self.n_test} rows of {self.test}",
            f"macro-F1 {self.macro_f1:.3f} over {len(self.labels)} labels · "
            f"micro-F1 {self.micro_f1:.3f}"
            + (f" · κ {self.kappa:.3f}" if self.kappa is not None else "")
            + (f" · accuracy {self.accuracy:.3f}" if self.accuracy is not None else ""),
        ]
        if self.excluded_labels:
            lines.append(
                f"left out of the macro average (under {self.config.get('min_support')} "
                f"training examples): {', '.join(self.excluded_labels)}"
            )
        lines.append("per-label F1:")
        width = max((len(k) for k in self.per_label), default=5)
        for label, scores in sorted(self.per_label.items(), key=lambda kv: -kv[1]["support"]):
            lines.append(
                f"  {label:<{width}}  F1 {scores['f1']:.3f}  P {scores['precision']:.3f}  "
                f"R {scores['recall']:.3f}  n={int(scores['support'])}"
            )
        if self.curve:
            lines.append("learning curve (training rows → macro-F1):")
            for point in self.curve:
                kappa = f" κ {point['kappa']:.3f}" if point.get("kappa") is not None else ""
                lines.append(f"  {point['n_train']:>6} → {point['macro_f1']:.3f}{kappa}")
        lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        return "\n".join(lines)


def score(
    truth: Sequence[tuple[str, ...]],
    predicted: Sequence[tuple[str, ...]],
    labels: Sequence[str],
    single_label: bool,
) -> dict[str, Any]:
    """Macro/micro-F1 (over ``labels``), κ and accuracy (single-label), per-label P/R/F1."""
    from sklearn.metrics import (
        accuracy_score,
        cohen_kappa_score,
        f1_score,
        precision_recall_fscore_support,
    )
    from sklearn.preprocessing import MultiLabelBinarizer

    labels = list(labels)
    out: dict[str, Any] = {"kappa": None, "accuracy": None}
    if single_label:
        y = [row[0] for row in truth]
        p = [row[0] if row else "" for row in predicted]
        out["macro_f1"] = float(f1_score(y, p, labels=labels, average="macro", zero_division=0))
        out["micro_f1"] = float(f1_score(y, p, labels=labels, average="micro", zero_division=0))
        out["kappa"] = float(cohen_kappa_score(y, p))
        out["accuracy"] = float(accuracy_score(y, p))
        prf = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    else:
        mlb = MultiLabelBinarizer(classes=labels)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # labels outside `labels` are ignored on purpose
            Y = mlb.fit_transform(truth)
            P = mlb.transform(predicted)
        out["macro_f1"] = float(f1_score(Y, P, average="macro", zero_division=0))
        out["micro_f1"] = float(f1_score(Y, P, average="micro", zero_division=0))
        prf = precision_recall_fscore_support(Y, P, zero_division=0)
    out["per_label"] = {
        label: {
            "precision": float(prf[0][j]),
            "recall": float(prf[1][j]),
            "f1": float(prf[2][j]),
            "support": float(prf[3][j]),
        }
        for j, label in enumerate(labels)
    }
    return out


def _scored_labels(train: LabelledData, min_support: int) -> tuple[list[str], list[str]]:
    counts = pd.Series([label for row in train.labels for label in row]).value_counts()
    kept = sorted(counts[counts >= min_support].index)
    dropped = sorted(counts[counts < min_support].index)
    return kept, dropped


def _curve_sample(data: LabelledData, n: int, seed: int = 0) -> LabelledData:
    rng = np.random.default_rng(seed)
    return data.subset(np.sort(rng.choice(len(data), size=min(n, len(data)), replace=False)))


def evaluate(
    train: LabelledData,
    test: LabelledData,
    *,
    embedder: Any = None,
    curve: Sequence[int] | None = None,
    min_support: int = 5,
    **model_options: Any,
) -> EvaluationReport:
    """Train on ``train``, score on ``test``; optionally a learning curve."""
    if embedder is None:
        from qual_nlp.suggest.embed import Embedder

        embedder = Embedder()
    single = train.single_label and test.single_label
    labels, dropped = _scored_labels(train, min_support)
    if not labels:
        raise ValidationError(
            f"{train.source}: no label has {min_support} training examples. "
            "Label more rows or lower min_support."
        )
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    model = TextModel(embedder, single, **model_options).fit(train)
    seconds["train"] = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(test)
    seconds["predict"] = time.perf_counter() - started
    scores = score(test.labels, predicted, labels, single)
    points = []
    for n in sorted(set(curve or [])):
        if n >= len(train):
            continue
        sample = _curve_sample(train, n)
        sample_single = single and len({r[0] for r in sample.labels}) >= 2
        if single and not sample_single:
            continue
        part = TextModel(embedder, single, **model_options).fit(sample)
        s = score(test.labels, part.predict(test), labels, single)
        points.append(
            {
                "n_train": n,
                "macro_f1": s["macro_f1"],
                "micro_f1": s["micro_f1"],
                "kappa": s["kappa"],
            }
        )
    return _report(
        single,
        (train.source, test.source, len(train), len(test)),
        (labels, dropped),
        scores,
        {
            "min_support": min_support,
            "context": train.context is not None,
            "encoder": getattr(embedder, "name", type(embedder).__name__),
            **model_options,
        },
        {k: round(v, 2) for k, v in seconds.items()},
        points,
    )


def _report(
    single: bool,
    sizes: tuple[str, str, int, int],
    labels: tuple[list[str], list[str]],
    scores: dict[str, Any],
    config: dict[str, Any],
    seconds: dict[str, float],
    curve: list[dict[str, Any]] | None = None,
) -> EvaluationReport:
    train, test, n_train, n_test = sizes
    return EvaluationReport(
        task="single-label" if single else "multi-label",
        train=train,
        test=test,
        n_train=n_train,
        n_test=n_test,
        labels=labels[0],
        excluded_labels=labels[1],
        macro_f1=scores["macro_f1"],
        micro_f1=scores["micro_f1"],
        kappa=scores["kappa"],
        accuracy=scores["accuracy"],
        per_label=scores["per_label"],
        curve=curve or [],
        config=config,
        seconds=seconds,
    )


def cross_validate(
    data: LabelledData,
    *,
    folds: int = 5,
    embedder: Any = None,
    min_support: int = 5,
    **model_options: Any,
) -> EvaluationReport:
    """Out-of-fold scores on one labelled set (grouped by ``data.groups`` when given),
    for choosing options without touching a test set."""
    from sklearn.model_selection import GroupKFold, KFold

    if embedder is None:
        from qual_nlp.suggest.embed import Embedder

        embedder = Embedder()
    single = data.single_label
    labels, dropped = _scored_labels(data, min_support)
    predicted: list[tuple[str, ...]] = [()] * len(data)
    splitter = (
        GroupKFold(folds).split(data.texts, groups=data.groups)
        if data.groups is not None
        else KFold(folds, shuffle=True, random_state=0).split(data.texts)
    )
    started = time.perf_counter()
    for train_idx, test_idx in splitter:
        model = TextModel(embedder, single, **model_options).fit(data.subset(train_idx))
        for i, row in zip(test_idx, model.predict(data.subset(test_idx)), strict=True):
            predicted[i] = row
    scores = score(data.labels, predicted, labels, single)
    grouped = " by group" if data.groups is not None else ""
    return _report(
        single,
        (data.source, f"{folds}-fold cross-validation{grouped}", len(data), len(data)),
        (labels, dropped),
        scores,
        {"min_support": min_support, "context": data.context is not None, **model_options},
        {"cross_validation": round(time.perf_counter() - started, 2)},
    )


def evaluate_files(
    train: str | Path,
    test: str | Path | None = None,
    *,
    text_col: str = "text",
    labels_col: str = "labels",
    sep: str = ";",
    context_col: str | None = None,
    group_col: str | None = None,
    curve: Sequence[int] | None = None,
    folds: int = 0,
    embedder: Any = None,
    **model_options: Any,
) -> EvaluationReport:
    """:func:`evaluate` (or, with ``folds`` and no ``test``, :func:`cross_validate`) on CSVs."""
    options: dict[str, Any] = {
        "text_col": text_col,
        "labels_col": labels_col,
        "sep": sep,
        "context_col": context_col,
    }
    train_data = read_labelled(train, group_col=group_col, **options)
    if test is None:
        if not folds:
            raise ValidationError("evaluate: give --test CSV, or --cv N to cross-validate --train")
        return cross_validate(train_data, folds=folds, embedder=embedder, **model_options)
    test_data = read_labelled(test, **options)
    return evaluate(train_data, test_data, embedder=embedder, curve=curve, **model_options)
