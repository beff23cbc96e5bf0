"""Per-facet trained estimators (scikit-learn contract).

:class:`ExclusiveClassifier` is for facets where a segment gets one code or
"none" (multiclass logistic regression whose class offsets are tuned, on
out-of-fold predictions, for macro-F1 — so rare codes are not drowned by
"none"). :class:`MultiLabelClassifier` is for facets where a segment may get
several codes (one-vs-rest logistic regression with a decision threshold per
code, also tuned out of fold). Both take a numeric feature matrix (dense or
sparse) and expose ``classes_`` and ``predict_proba``; the multi-label one also
``thresholds_``. The numpy fitting they share is in :mod:`~qual_nlp.suggest.logistic`,
the out-of-fold tuning in :mod:`~qual_nlp.suggest.tuning`.

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

from qual_nlp.suggest.logistic import _block_scores, _joint_logistic, _sigmoid
from qual_nlp.suggest.tuning import _folds, tune_offsets, tune_thresholds

__all__ = ["ExclusiveClassifier", "MultiLabelClassifier"]

_EPS = 1e-9


def _logistic(C: float, class_weight: Any, max_iter: int, random_state: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state
    )


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
