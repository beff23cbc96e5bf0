"""Agreement statistics on reliability data: one formula per statistic.

Reliability data is a units × coders table of nominal values in which a unit a
coder did not review is missing. Every statistic is computed from a few sums
(a :class:`Tally`), so the same formula serves one code, a pooled facet, a case
or every coder pair at once. With ``n_uk`` the number of coders who gave unit
``u`` the value ``k`` and ``m_u = Σ_k n_uk`` its number of ratings, over the
units with ``m_u ≥ 2`` (units rated by fewer than two coders carry no
information about agreement and are left out):

* ``P_u = Σ_k n_uk (n_uk − 1) / (m_u (m_u − 1))`` is the share of agreeing
  coder pairs on unit ``u``;
* **percent agreement** is the mean of ``P_u`` (for two coders: the share of
  units both rated on which they agree), reported as a proportion 0…1;
* **Fleiss' κ** is ``(P̄ − P̄e) / (1 − P̄e)`` with ``P̄e = Σ_k p_k²`` and
  ``p_k = Σ_u n_uk / Σ_u m_u``. When every unit has the same number of ratings
  this is Fleiss (1971) exactly; with missing data each unit keeps its own
  ``m_u`` (the usual generalisation: ``P_u`` is a within-unit share, ``p_k`` a
  share of all ratings);
* **Krippendorff's α** (nominal) is ``1 − (n − 1) (n − Σ_k o_kk) / (n² − Σ_k n_k²)``
  with ``o_kk = Σ_u n_uk (n_uk − 1) / (m_u − 1)``, ``n_k = Σ_u n_uk`` and
  ``n = Σ_k n_k`` (Krippendorff 2011);
* **Cohen's κ** for two coders, over the units both rated, is
  ``(p_o − p_e) / (1 − p_e)`` with ``p_e = Σ_k a_k b_k / N²`` where ``a_k`` and
  ``b_k`` count each coder's uses of value ``k`` (Cohen 1960).

When only one value occurs (a code no one applied, or every coder applied it
everywhere) the expected agreement is 1 and κ and α are undefined: they are NaN,
while percent agreement is still defined.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp.errors import ValidationError

__all__ = [
    "PairTally",
    "Tally",
    "category_counts",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "pair_tally",
    "percent_agreement",
    "ratings",
    "single_threaded_blas",
    "tally_counts",
]


@dataclass(frozen=True)
class Tally:
    """Sufficient sums of reliability data; arrays so that many groups go at once.

    ``n_units``, ``sum_p`` and ``o_diag`` have one shape ``S``; ``totals`` has
    shape ``S + (K,)``. Tallies over the same ``K`` values add up (pooling).
    """

    n_units: np.ndarray  # units with two or more ratings
    sum_p: np.ndarray  # Σ_u P_u
    o_diag: np.ndarray  # Σ_u Σ_k n_uk (n_uk − 1) / (m_u − 1)
    totals: np.ndarray  # n_k = Σ_u n_uk

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.n_units + other.n_units,
            self.sum_p + other.sum_p,
            self.o_diag + other.o_diag,
            self.totals + other.totals,
        )


@dataclass(frozen=True)
class PairTally:
    """Sums for coder pairs over the units both rated (arrays of one shape ``S``).

    ``a`` and ``b`` (shape ``S + (K,)``) count how often the first and second
    coder of each pair gave each value on those units.
    """

    n_units: np.ndarray
    agree: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def __add__(self, other: PairTally) -> PairTally:
        return PairTally(
            self.n_units + other.n_units,
            self.agree + other.agree,
            self.a + other.a,
            self.b + other.b,
        )

    def tally(self) -> Tally:
        """The pair's data as a :class:`Tally` (every unit has two ratings)."""
        return Tally(self.n_units, self.agree, 2.0 * self.agree, self.a + self.b)


# --------------------------------------------------------------------------
# Tallies
# --------------------------------------------------------------------------


def category_counts(codes: np.ndarray, k: int) -> np.ndarray:
    """``n_uk``: per unit (row), how many coders gave value ``0…k−1`` (``-1`` is missing)."""
    return np.stack([(codes == value).sum(axis=1) for value in range(k)], axis=1)


def tally_counts(counts: np.ndarray) -> Tally:
    """Tally a units × values table of rating counts ``n_uk``."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    keep = m >= 2
    c, m = counts[keep], m[keep]
    same = (c * (c - 1.0)).sum(axis=1)
    return Tally(
        np.asarray(keep.sum(), dtype=np.float64),
        np.asarray((same / (m * (m - 1.0))).sum()),
        np.asarray((same / (m - 1.0)).sum()),
        c.sum(axis=0),
    )


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread: for tall, narrow products (units × coders) threads only
    add overhead, and on a busy machine OpenBLAS threads can slow them a hundredfold."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def pair_tally(indicators: Sequence[np.ndarray], valid: np.ndarray) -> PairTally:
    """Tally every coder pair at once (coders × coders arrays).

    ``indicators[k]`` is a units × coders 0/1 float array marking value ``k``;
    ``valid`` marks rated cells (the sum of the indicators). Entry ``[i, j]`` is
    the pair (coder ``i``, coder ``j``) over the units both rated. Counts are
    exact: sums of ones in float64.
    """
    with single_threaded_blas():
        n = valid.T @ valid
        agree = np.zeros_like(n, dtype=np.float64)
        a, b = [], []
        for ind in indicators:
            agree += ind.T @ ind
            first = ind.T @ valid  # [i, j]: units where i gave k and j rated
            a.append(first)
            b.append(first.T)
    return PairTally(
        n.astype(np.float64),
        agree,
        np.stack(a, axis=-1).astype(np.float64),
        np.stack(b, axis=-1).astype(np.float64),
    )


# --------------------------------------------------------------------------
# The formulas (each written once; they take scalars or arrays of tallies)
# --------------------------------------------------------------------------


def _one_value(totals: np.ndarray) -> np.ndarray:
    return np.asarray((totals > 0).sum(axis=-1) <= 1)


def percent_from(t: Tally) -> np.ndarray:
    """Mean share of agreeing coder pairs per unit."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(t.n_units > 0, t.sum_p / t.n_units, np.nan)


def fleiss_from(t: Tally) -> np.ndarray:
    """Fleiss' κ with per-unit numbers of ratings."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = t.sum_p / t.n_units
        p = t.totals / t.totals.sum(axis=-1, keepdims=True)
        p_e = (p**2).sum(axis=-1)
        kappa = (p_bar - p_e) / (1.0 - p_e)
    return np.where((t.n_units > 0) & ~_one_value(t.totals), kappa, np.nan)


def alpha_from(t: Tally) -> np.ndarray:
    """Krippendorff's α for nominal data."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = t.totals.sum(axis=-1)
        alpha = 1.0 - (n - 1.0) * (n - t.o_diag) / (n**2 - (t.totals**2).sum(axis=-1))
    return np.where((t.n_units > 0) & ~_one_value(t.totals), alpha, np.nan)


def cohen_from(p: PairTally) -> np.ndarray:
    """Cohen's κ of each pair."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = p.agree / p.n_units
        p_e = (p.a * p.b).sum(axis=-1) / p.n_units**2
        kappa = (p_o - p_e) / (1.0 - p_e)
    return np.where((p.n_units > 0) & ~_one_value(p.a + p.b), kappa, np.nan)


# --------------------------------------------------------------------------
# Public functions on a units × coders table
# --------------------------------------------------------------------------


def ratings(matrix: Any) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (``-1`` for missing) and the list of values of a units × coders table.

    Missing entries are ``NaN``, ``None`` or ``pd.NA``; any other hashable is a
    nominal value.

    >>> codes, values = ratings([[1, 1], [1, None]])
    >>> codes.tolist(), values
    ([[0, 0], [0, -1]], [1])
    """
    frame = matrix if isinstance(matrix, pd.DataFrame) else pd.DataFrame(matrix)
    values = frame.to_numpy(dtype=object)
    if values.ndim != 2 or values.size == 0:
        raise ValidationError(
            f"reliability data: expected a non-empty units × coders table, got shape "
            f"{values.shape}. Pass one row per unit and one column per coder "
            "(see unit_matrix)."
        )
    flat = values.ravel()
    codes, uniques = pd.factorize(pd.Series(flat, dtype=object), use_na_sentinel=True)
    return codes.reshape(values.shape).astype(np.int64), list(uniques)


def _tally(matrix: Any) -> Tally:
    codes, values = ratings(matrix)
    return tally_counts(category_counts(codes, max(len(values), 1)))


def percent_agreement(matrix: Any) -> float:
    """Mean share of agreeing coder pairs over units rated by two or more coders.

    >>> percent_agreement([[1, 1], [1, 0], [0, 0], [1, None]])
    0.6666666666666666
    """
    return float(percent_from(_tally(matrix)))


def fleiss_kappa(matrix: Any) -> float:
    """Fleiss' κ (per-unit numbers of ratings when data are missing); NaN if undefined.

    >>> round(fleiss_kappa([["a", "a", "a"], ["a", "b", "b"], ["b", "b", None]]), 4)
    0.5556
    """
    return float(fleiss_from(_tally(matrix)))


def krippendorff_alpha(matrix: Any) -> float:
    """Krippendorff's α for nominal data with missing entries; NaN if undefined.

    >>> krippendorff_alpha([["a", "a", "a"], ["a", "b", "b"], ["b", "b", None]])
    0.5625
    """
    return float(alpha_from(_tally(matrix)))


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's κ of two coders over the units both rated; NaN if undefined.

    >>> cohen_kappa([1, 1, 0, 0, None], [1, 0, 0, 0, 1])
    0.5
    """
    if len(a) != len(b):
        raise ValidationError(
            f"cohen_kappa: the two coders' ratings differ in length ({len(a)} and {len(b)}). "
            "Pass one value per unit for each coder, None where a unit was not rated."
        )
    codes, values = ratings(pd.DataFrame({"a": list(a), "b": list(b)}, dtype=object))
    valid = (codes >= 0).all(axis=1)
    codes = codes[valid]
    indicators = [(codes == k).astype(np.float64) for k in range(max(len(values), 1))]
    pairs = pair_tally(indicators, np.ones_like(codes, dtype=np.float64))
    return float(cohen_from(pairs)[0, 1])
