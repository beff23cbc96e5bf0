"""Decisions tuned on out-of-fold scores, for F1 rather than accuracy.

:func:`tune_offsets` finds per-class offsets on log-probabilities that maximise
macro-F1 (exclusive facets, so rare codes are not drowned by "none");
:func:`tune_thresholds` finds the decision threshold of each code that maximises
its F1 (multi-label facets); ``_folds`` says how many folds the data allow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["tune_offsets", "tune_thresholds"]


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over class indices 0..n_classes-1 (absent classes count as 0)."""
    scores = []
    for k in range(n_classes):
        tp = np.sum((y_pred == k) & (y_true == k))
        fp = np.sum((y_pred == k) & (y_true != k))
        fn = np.sum((y_pred != k) & (y_true == k))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def tune_offsets(
    log_proba: np.ndarray, y_index: np.ndarray, *, rounds: int = 3, grid: Sequence[float] = ()
) -> np.ndarray:
    """Per-class additive offsets on log-probabilities that maximise macro-F1.

    Coordinate ascent over a grid, class by class; the first class stays at 0
    (only differences matter). Returns an array of length ``n_classes``.

    >>> lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4], [0.9, 0.1]]))
    >>> bool(tune_offsets(lp, np.array([1, 1, 0]))[1] > 0.2)
    True
    """
    n_classes = log_proba.shape[1]
    steps = np.asarray(grid if len(grid) else np.linspace(-2.0, 2.0, 41))
    offsets = np.zeros(n_classes)
    best = _macro_f1(y_index, np.argmax(log_proba, axis=1), n_classes)
    for _ in range(rounds):
        improved = False
        for k in range(1, n_classes):
            for step in steps:
                trial = offsets.copy()
                trial[k] = step
                score = _macro_f1(y_index, np.argmax(log_proba + trial, axis=1), n_classes)
                if score > best + 1e-12:
                    best, offsets, improved = score, trial, True
        if not improved:
            break
    return offsets


def tune_thresholds(
    proba: np.ndarray, Y: np.ndarray, *, default: float = 0.5, min_positives: int = 2
) -> np.ndarray:
    """Per-column thresholds maximising each label's F1 on out-of-fold scores.

    Labels with fewer than ``min_positives`` positives keep ``default``.

    >>> p = np.array([[0.9], [0.35], [0.3], [0.1]])
    >>> float(tune_thresholds(p, np.array([[1], [1], [0], [0]]))[0])
    0.35
    """
    out = np.full(proba.shape[1], default, dtype=float)
    for j in range(proba.shape[1]):
        y = Y[:, j].astype(bool)
        if y.sum() < min_positives:
            continue
        candidates = np.unique(np.round(proba[:, j], 4))
        candidates = candidates[(candidates > 0.02) & (candidates < 0.98)]
        if not len(candidates):
            continue
        best_f1, best_t = -1.0, default
        for t in candidates:
            pred = proba[:, j] >= t
            tp = np.sum(pred & y)
            f1 = 2 * tp / (pred.sum() + y.sum()) if tp else 0.0
            if f1 > best_f1 + 1e-12:
                best_f1, best_t = f1, float(t)
        out[j] = best_t
    return out


def _folds(n_samples: int, counts: np.ndarray, cv: int) -> int:
    """How many stratified folds the data allow (0 when tuning is not possible)."""
    k = int(min(cv, counts.min())) if len(counts) else 0
    return k if k >= 2 and n_samples >= 2 * k else 0
