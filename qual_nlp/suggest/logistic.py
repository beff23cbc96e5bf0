"""Logistic regression in plain numpy for the per-facet estimators.

One-vs-rest logistic regressions for every code of a facet fitted jointly in one
L-BFGS run (:func:`lbfgs`), and decision scores of a feature matrix given as
column blocks, computed without stacking the blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


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
