"""Per-facet trained estimators (scikit-learn contract).

:class:`ExclusiveClassifier` is for facets where a segment gets one code or
"none" (multiclass logistic regression whose class offsets are tuned, on
out-of-fold predictions, for macro-F1 — so rare codes are not drowned by
"none"). :class:`MultiLabelClassifier` is for facets where a segment may get
several codes (one-vs-rest logistic regression with a decision threshold per
code, also tuned out of fold). Both take a numeric feature matrix (dense or
sparse) and expose ``classes_`` and ``predict_proba``; the multi-label one also
``thresholds_``.

>>> import numpy as np
>>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]] * 5)
>>> y = np.array(["barrier", "barrier", "none", "none"] * 5)
>>> ExclusiveClassifier(tune=False).fit(X, y).predict([[0.0, 1.0]]).tolist()
['barrier']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ExclusiveClassifier", "MultiLabelClassifier", "tune_offsets", "tune_thresholds"]

_EPS = 1e-9


def _logistic(C: float, class_weight: Any, max_iter: int, random_state: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))


def _joint_logistic(
    X: Any,
    Y: np.ndarray,
    C: float,
    class_weight: Any,
    max_iter: int,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    columns: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One-vs-rest logistic regressions for every column of ``Y``, fitted jointly.

    Minimises, as :class:`~sklearn.linear_model.LogisticRegression` does per
    column, ``C · Σ weighted log-loss + ½‖w‖²`` (intercepts unpenalised) — but
    in one L-BFGS run over all columns, so a facet with 60 codes costs about
    one fit rather than 60. ``class_weight="balanced"`` weighs positives and
    negatives of each column by ``n / (2 · count)``.
    """
    if columns is not None and not columns.all():
        coef = np.zeros((X.shape[1], Y.shape[1]))
        intercept = np.zeros(Y.shape[1])
        nit = 0
        if columns.any():
            start = None if init is None else (init[0][:, columns], init[1][columns])
            cw = class_weight[:, columns] if isinstance(class_weight, np.ndarray) else class_weight
            coef[:, columns], intercept[columns], nit = _joint_logistic(
                X, Y[:, columns], C, cw, max_iter, start
            )
        return coef, intercept, nit
    n, d = X.shape
    Y = Y.astype(float)
    if isinstance(class_weight, np.ndarray):  # explicit per-cell weights
        weights = class_weight
    elif class_weight == "balanced":
        pos = np.clip(Y.sum(axis=0), 1, None)
        neg = np.clip(n - Y.sum(axis=0), 1, None)
        weights = np.where(Y > 0, n / (2 * pos), n / (2 * neg))
    elif class_weight is None:
        weights = np.ones_like(Y)
    elif isinstance(class_weight, dict):  # {0: w_negative, 1: w_positive} for every column
        weights = np.where(Y > 0, float(class_weight.get(1, 1.0)), float(class_weight.get(0, 1.0)))
    else:
        raise ValueError(
            "class_weight must be 'balanced', None or {0: w, 1: w} for multi-label facets, "
            f"got {class_weight!r}"
        )
    if n < d and Y.shape[1] >= 8 and n * d <= 20_000_000:
        # fewer examples than features (typical with TF-IDF): the solution lies in the
        # examples' row space, so with X = U S Vᵀ and W = V β the same problem is
        # solved over β (rank × L) with features U S — exact, and far smaller
        # X Xᵀ = U S² Uᵀ: an n × n eigenproblem, much cheaper than the SVD of X
        gram = X @ X.T
        gram = np.asarray(gram.toarray() if hasattr(gram, "toarray") else gram, dtype=float)
        eigenvalues, U = np.linalg.eigh(gram)
        keep = eigenvalues > max(float(eigenvalues.max(initial=0.0)), 1e-300) * 1e-10
        S = np.sqrt(eigenvalues[keep])
        Z = U[:, keep] * S
        beta, b, nit = _minimise_logistic(Z, Z.T, Y, weights, C, max_iter)
        V = np.asarray(X.T @ (U[:, keep] / S))  # right singular vectors, d × rank
        return V @ beta, b, nit
    W0 = None if init is None else np.concatenate([init[0].ravel(), init[1]])
    W, b, nit = _minimise_logistic(X, X.T, Y, weights, C, max_iter, start=W0)
    return W, b, nit


def _minimise_logistic(
    X: Any,
    Xt: Any,
    Y: np.ndarray,
    weights: np.ndarray,
    C: float,
    max_iter: int,
    *,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """L-BFGS on the weighted logistic loss of every column of ``Y`` at once."""
    n, d = X.shape
    L = Y.shape[1]

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[: d * L].reshape(d, L)
        b = theta[d * L :]
        Z = np.asarray(X @ W) + b
        # log(1 + exp(-z)) for y=1, log(1 + exp(z)) for y=0, computed stably
        signed = np.where(Y > 0, -Z, Z)
        # scaled by 1 / (C · n) as scikit-learn does, so the tolerance is relative
        loss = float(np.sum(weights * np.logaddexp(0.0, signed))) / n + 0.5 * float(
            np.sum(W * W)
        ) / (C * n)
        G = weights * (_sigmoid(Z) - Y) / n
        grad_W = np.asarray(Xt @ G) + W / (C * n)
        return loss, np.concatenate([grad_W.ravel(), G.sum(axis=0)])

    theta, nit = lbfgs(
        loss_grad, np.zeros(d * L + L) if start is None else start, max_iter=max_iter
    )
    return theta[: d * L].reshape(d, L), theta[d * L :], nit


def lbfgs(
    loss_grad: Any,
    x0: np.ndarray,
    *,
    max_iter: int = 1000,
    memory: int = 10,
    gtol: float = 1e-4,
    ftol: float = 1e-9,
) -> tuple[np.ndarray, int]:
    """Unconstrained L-BFGS with a backtracking (Armijo) line search.

    Plain numpy: its cost per iteration is a few vector operations on the
    parameters, where SciPy's bound-constrained L-B-FGS-B spends far longer per
    step on problems with a million parameters (a facet's codes × TF-IDF).
    Stops when the largest gradient entry is under ``gtol`` or the loss no
    longer falls by a relative ``ftol``. Returns (x, iterations).

    >>> x, _ = lbfgs(lambda x: (float(((x - 3) ** 2).sum()), 2 * (x - 3)), np.zeros(2))
    >>> np.round(x, 4).tolist()
    [3.0, 3.0]
    """
    x = np.array(x0, dtype=float)
    f, g = loss_grad(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    iteration = 0
    while iteration < max_iter:
        iteration += 1
        if np.max(np.abs(g)) < gtol:
            break
        # two-loop recursion: d = -H g
        q = g.copy()
        alphas = []
        for s_k, y_k in zip(reversed(s_hist), reversed(y_hist), strict=True):
            rho = 1.0 / float(y_k @ s_k)
            a = rho * float(s_k @ q)
            q -= a * y_k
            alphas.append((rho, a))
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q /= max(1.0, float(np.linalg.norm(g)))
        for (s_k, y_k), (rho, a) in zip(
            zip(s_hist, y_hist, strict=True), reversed(alphas), strict=True
        ):
            b = rho * float(y_k @ q)
            q += (a - b) * s_k
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            direction = -g / max(1.0, float(np.linalg.norm(g)))
            slope = float(g @ direction)
        step = 1.0
        for _ in range(40):
            x_new = x + step * direction
            f_new, g_new = loss_grad(x_new)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_k = x_new - x
        y_k = g_new - g
        if float(y_k @ s_k) > 1e-12:
            s_hist.append(s_k)
            y_hist.append(y_k)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        done = abs(f - f_new) <= ftol * max(abs(f), abs(f_new), 1.0)
        x, f, g = x_new, f_new, g_new
        if done:
            break
    return x, iteration


def _block_scores(blocks: Sequence[Any], coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``[B₁ | B₂ | …] @ coef + intercept`` computed block by block (``coef``: features × k).

    A block may be a ``(matrix, weight)`` pair standing for ``weight · matrix``;
    the weight then scales the block's small score rather than the block itself.
    """
    start = 0
    total: np.ndarray | None = None
    for item in blocks:
        block, scale = item if isinstance(item, tuple) else (item, 1.0)
        width = block.shape[1]
        weights = coef[start : start + width]
        if isinstance(block, np.ndarray) and block.dtype == np.float32:
            # float32 embeddings: multiply in float32 rather than copy them to float64
            weights = np.ascontiguousarray(weights, dtype=np.float32)
        part = np.asarray(block @ weights, dtype=np.float64)
        if scale != 1.0:
            part *= scale
        total = part if total is None else total + part
        start += width
    if start != coef.shape[0]:
        raise ValueError(f"the blocks have {start} columns, the model expects {coef.shape[0]}")
    assert total is not None
    return total + intercept


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


class ExclusiveClassifier(ClassifierMixin, BaseEstimator):
    """One code (or "none") per segment: logistic regression + macro-F1 class offsets.

    Parameters
    ----------
    C : inverse regularisation strength of the logistic regression.
    class_weight : passed to :class:`~sklearn.linear_model.LogisticRegression`.
    tune : learn per-class offsets on out-of-fold probabilities that maximise
        macro-F1 (needs ≥ 2 examples of every class).
    cv : folds for the out-of-fold probabilities.
    max_iter, random_state : passed to the logistic regression.
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: Any = "balanced",
        tune: bool = True,
        cv: int = 3,
        max_iter: int = 2000,
        random_state: Any = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.tune = tune
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ExclusiveClassifier:
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64)
        self.classes_ = unique_labels(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"ExclusiveClassifier needs at least 2 classes in y but got one class "
                f"({self.classes_.tolist()}). Review more segments with other codes first."
            )
        y_index = np.searchsorted(self.classes_, y)
        self.model_ = _logistic(self.C, self.class_weight, self.max_iter, self.random_state)
        self.model_.fit(X, y_index)
        self.n_iter_ = int(np.max(self.model_.n_iter_))
        self.offsets_ = np.zeros(len(self.classes_))
        counts = np.bincount(y_index, minlength=len(self.classes_))
        k = _folds(len(y_index), counts, self.cv) if self.tune else 0
        if k:
            from sklearn.model_selection import StratifiedKFold, cross_val_predict

            oof = cross_val_predict(
                _logistic(self.C, self.class_weight, self.max_iter, self.random_state),
                X,
                y_index,
                cv=StratifiedKFold(k, shuffle=True, random_state=0),
                method="predict_proba",
            )
            self.offsets_ = tune_offsets(np.log(oof + _EPS), y_index)
        return self

    def _logits(self, proba: np.ndarray) -> np.ndarray:
        """Log-probabilities of the logistic regression with the tuned offsets added."""
        return np.log(proba + _EPS) + self.offsets_

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        scores = self._logits(self.model_.predict_proba(X))
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities with the tuned offsets applied (rows sum to 1)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return self._softmax(self._logits(self.model_.predict_proba(X)))

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_proba_blocks(self, blocks: Sequence[Any]) -> np.ndarray:
        """:meth:`predict_proba` of the column blocks ``[B₁ | B₂ | …]`` without stacking them."""
        check_is_fitted(self)
        z = _block_scores(blocks, self.model_.coef_.T, self.model_.intercept_)
        if z.shape[1] == 1:  # binary logistic regression
            p1 = _sigmoid(z[:, 0])
            proba = np.column_stack([1.0 - p1, p1])
        else:
            proba = self._softmax(z)
        return self._softmax(self._logits(proba))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _is_indicator_rows(rows: Sequence[Any]) -> bool:
    """Whether a list is a 0/1 indicator matrix written as equal-length lists of ints."""
    if not rows or not all(isinstance(r, (list, tuple, np.ndarray)) for r in rows):
        return False
    width = len(rows[0])
    return width > 0 and all(
        len(r) == width
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in r)
        and set(np.asarray(r).tolist()) <= {0, 1}
        for r in rows
    )


def _label_sets(y: Any) -> tuple[list[tuple[Any, ...]], bool]:
    """Normalise multi-label targets: (list of label tuples, given as 1-d single labels?)."""
    if isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind != "O":
        return [(v,) for v in np.asarray(y).tolist()], True
    rows = list(y)
    if rows and all(isinstance(r, str) or np.isscalar(r) for r in rows):
        return [(r,) for r in rows], True
    return [tuple(r) for r in rows], False


class MultiLabelClassifier(ClassifierMixin, BaseEstimator):
    """Any number of codes per segment: one-vs-rest logistic regression with tuned thresholds.

    ``y`` is a list of label collections (an empty one means "no code"), or a
    0/1 indicator matrix together with ``classes``. ``predict`` returns a 0/1
    indicator matrix over ``classes_``; ``thresholds_`` holds each code's cut
    (tuned out of fold, but never under ``min_threshold``, so a code the model
    cannot separate is not suggested on a faint score). A plain 1-d ``y`` is
    read as one label per sample, and ``predict`` then returns the most
    probable label.
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: Any = "balanced",
        tune: bool = True,
        cv: int = 3,
        max_iter: int = 2000,
        random_state: Any = 0,
        classes: Sequence[str] | None = None,
        min_threshold: float = 0.2,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.tune = tune
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state
        self.classes = classes
        self.min_threshold = min_threshold

    def _indicator(self, y: Any) -> np.ndarray:
        if isinstance(y, np.ndarray) and y.ndim == 2 and y.dtype != object:
            if self.classes is not None and len(self.classes) != y.shape[1]:
                raise ValueError(
                    f"MultiLabelClassifier: `classes` names {len(self.classes)} codes but the "
                    f"indicator matrix y has {y.shape[1]} columns. Pass one name per column."
                )
            names = self.classes if self.classes is not None else range(y.shape[1])
            self.classes_ = np.asarray(list(names))
            self.single_label_ = False
            return (y > 0).astype(int)
        sets, single = _label_sets(y)
        self.single_label_ = single
        if single:
            self.classes_ = unique_labels(np.asarray([r[0] for r in sets]))
        else:
            found = sorted({label for row in sets for label in row}, key=str)
            self.classes_ = np.asarray(found, dtype=object)
        index = {c: j for j, c in enumerate(self.classes_.tolist())}
        Y = np.zeros((len(sets), len(self.classes_)), dtype=int)
        for i, row in enumerate(sets):
            for label in row:
                Y[i, index[label]] = 1
        return Y

    def fit(self, X: Any, y: Any) -> MultiLabelClassifier:
        if y is None:
            raise ValueError(
                "MultiLabelClassifier requires y to be passed, but the target y is None."
            )
        if not isinstance(y, (list, tuple, np.ndarray)):
            y = np.asarray(y)
        if isinstance(y, (list, tuple)) and _is_indicator_rows(y):
            y = np.asarray(y, dtype=int)
        if isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[1] == 1 and y.dtype != object:
            import warnings

            from sklearn.exceptions import DataConversionWarning

            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is raveled.",
                DataConversionWarning,
                stacklevel=2,
            )
            y = y.ravel()
        if isinstance(y, np.ndarray) and y.ndim == 2 and y.dtype != object:
            X, _ = validate_data(
                self, X, y, accept_sparse="csr", dtype=np.float64, multi_output=True
            )
        else:
            X = validate_data(self, X, accept_sparse="csr", dtype=np.float64)
            if len(y) != X.shape[0]:
                raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)} entries.")
        Y = self._indicator(y)
        if self.single_label_ and len(self.classes_) < 2:
            raise ValueError(
                "MultiLabelClassifier needs at least 2 classes in a 1-d y but got one class."
            )
        n_classes = Y.shape[1]
        self.constant_ = np.where(Y.min(axis=0) == Y.max(axis=0), Y[0], -1).astype(int)
        # a code seen only once cannot be learnt: it scores 0 (its zero-shot prior stays)
        rare = (Y.sum(axis=0) < 2) & (self.constant_ < 0) & (not self.single_label_)
        self.constant_[rare] = 0
        self.coef_, self.intercept_, self.n_iter_ = _joint_logistic(
            X, Y, self.C, self._weights(Y), self.max_iter, columns=self.constant_ < 0
        )
        self.thresholds_ = np.full(n_classes, 0.5)
        if self.tune and not self.single_label_ and X.shape[0] >= 2 * self.cv:
            tuned = tune_thresholds(self._oof(X, Y), Y)
            self.thresholds_ = np.clip(tuned, self.min_threshold, None)
        return self

    def _weights(self, Y: np.ndarray) -> Any:
        """``class_weight`` as the joint fit takes it; a dict keyed by class labels
        (single-label use) weighs each class's positive examples."""
        cw = self.class_weight
        if isinstance(cw, dict) and self.single_label_:
            per_class = np.array([float(cw.get(c, 1.0)) for c in self.classes_.tolist()])
            return np.where(Y > 0, per_class[None, :], 1.0)
        return cw

    def _oof(self, X: Any, Y: np.ndarray) -> np.ndarray:
        from sklearn.model_selection import KFold

        oof = np.zeros(Y.shape, dtype=float)
        for train, test in KFold(self.cv, shuffle=True, random_state=0).split(X):
            coef, intercept, _ = _joint_logistic(
                X[train],
                Y[train],
                self.C,
                self._weights(Y[train]),
                self.max_iter,
                init=(self.coef_, self.intercept_),
                columns=self.constant_ < 0,
            )
            oof[test] = _sigmoid(X[test] @ coef + intercept)
            constant = Y[train].min(axis=0) == Y[train].max(axis=0)
            oof[np.ix_(test, np.flatnonzero(constant))] = Y[train][0, constant]
            fixed = np.flatnonzero(self.constant_ >= 0)
            oof[np.ix_(test, fixed)] = self.constant_[fixed]
        return oof

    def predict_proba(self, X: Any) -> np.ndarray:
        """Per-code probabilities, shape (n_samples, n_classes) (rows need not sum to 1)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return self._proba(np.asarray(X @ self.coef_) + self.intercept_)

    def predict_proba_blocks(self, blocks: Sequence[Any]) -> np.ndarray:
        """:meth:`predict_proba` of the column blocks ``[B₁ | B₂ | …]`` without stacking them."""
        check_is_fitted(self)
        return self._proba(_block_scores(blocks, self.coef_, self.intercept_))

    def _proba(self, scores: np.ndarray) -> np.ndarray:
        """Decision scores → per-code probabilities (constant codes fixed; single-label rows
        normalised)."""
        out = _sigmoid(scores)
        fixed = self.constant_ >= 0
        out[:, fixed] = self.constant_[fixed]
        if self.single_label_:
            total = out.sum(axis=1, keepdims=True)
            out = np.divide(out, total, out=np.full_like(out, 1 / out.shape[1]), where=total > 0)
        return out

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        if self.single_label_:
            return self.classes_[np.argmax(proba, axis=1)]
        return (proba >= self.thresholds_).astype(int)

    def predict_labels(self, X: Any) -> list[list[Any]]:
        """Predicted label lists (the codes above their thresholds)."""
        P = self.predict(X)
        if self.single_label_:
            return [[label] for label in P.tolist()]
        return [[c for c, hit in zip(self.classes_, row, strict=True) if hit] for row in P]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


def as_label_lists(rows: Iterable[Any]) -> list[list[Any]]:
    """Label collections (tuples, sets, lists) as plain lists."""
    return [list(r) for r in rows]
