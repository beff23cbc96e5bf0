"""Agreement tables: every statistic for every code, facet, case or coder pair.

The data are pivoted once into a units × coders array per code; each group's
statistics come from the same tallies (:mod:`qual_nlp.agreement.stats`), so
pooling codes into a facet or an overall figure, splitting by case and
comparing all coder pairs cost a few matrix products, not a loop over units.

What a row measures:

* ``code`` — a code's presence (1) or absence (0) per segment;
* ``facet`` — for an exclusive facet (from the codebook), the label each coder
  gave (a code path or ``"none"``); for a multi-label facet, the presence of
  each of its codes, pooled: each (segment, code) counts as a unit;
* ``overall`` (and ``case`` or ``pair`` alone) — every code's presence, pooled.

``n_units`` is the number of segments rated by two or more of the coders (by
both coders, for a pair); pooled rows use each of those segments once per code.
On a pair's rows Fleiss' κ is Scott's π, the two-coder case of Fleiss' κ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qual_nlp.agreement.stats import (
    PairTally,
    Tally,
    alpha_from,
    category_counts,
    cohen_from,
    fleiss_from,
    pair_tally,
    percent_from,
    tally_counts,
)
from qual_nlp.agreement.units import (
    DEFAULT_STATUSES,
    NONE,
    ReliabilityData,
    reliability_data,
)
from qual_nlp.errors import ValidationError
from qual_nlp.records import Codebook

__all__ = ["BY_KEYS", "STAT_COLUMNS", "agreement_report"]

BY_KEYS = ("code", "facet", "case", "pair", "overall")
STAT_COLUMNS = (
    "values",
    "n_codes",
    "n_units",
    "n_coders",
    "percent_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "note",
)
ALL_CODES = "all codes"
UNKNOWN_CASE = "(case unknown)"
UNPLACED_NOTE = "segments no coding names the case of: pass segments= to place them"
NO_CASE_NOTE = (
    "segments of documents without a case (such as focus groups), or missing from segments="
)


@dataclass(frozen=True)
class _Measure:
    """What one row measures: a code, a facet (labels or pooled codes) or all codes."""

    facet: str | None
    code: str | None
    values: str  # presence | label
    names: tuple[str, ...]  # value names (presence: absent, present)
    n_codes: int


def _parse_by(by: str | Sequence[str]) -> tuple[str, ...]:
    keys = (by,) if isinstance(by, str) else tuple(by)
    bad = [k for k in keys if k not in BY_KEYS]
    if bad or not keys or ("code" in keys and "facet" in keys):
        raise ValidationError(
            f"agreement by={by!r}: expected one of {list(BY_KEYS)} or a combination of "
            "'case' and/or 'pair' with 'code' or 'facet' (e.g. ('case', 'code')); "
            f"found {bad or keys}. Fix the by= argument."
        )
    if "overall" in keys and len(keys) > 1:
        return tuple(k for k in keys if k != "overall")
    return keys


def _pair_indicators(x: np.ndarray, k: int) -> list[np.ndarray]:
    return [(x == value).astype(np.float64) for value in range(k)]


class _Accumulator:
    """Tallies per (measure, case block), summed over the codes a measure pools."""

    def __init__(self, data: ReliabilityData, blocks: list[tuple[str | None, int, int]]):
        self.data, self.blocks = data, blocks
        self.group: dict[tuple[int, int], Tally] = {}
        self.pairs: dict[tuple[int, int], PairTally] = {}
        self.combined: dict[tuple[int, int], np.ndarray] = {}
        self.valid = [data.covered[lo:hi].astype(np.float64) for _, lo, hi in blocks]

    def add(self, m: int, x: np.ndarray, k: int, *, group: bool, pairs: bool) -> None:
        for b, (_, lo, hi) in enumerate(self.blocks):
            xs = x[lo:hi]
            if group:
                t = tally_counts(category_counts(xs, k))
                self.group[m, b] = self.group[m, b] + t if (m, b) in self.group else t
            if pairs:
                p = pair_tally(_pair_indicators(xs, k), self.valid[b])
                self.pairs[m, b] = self.pairs[m, b] + p if (m, b) in self.pairs else p


def _note(values: str, totals: np.ndarray, n_units: float, names: Sequence[str]) -> list[str]:
    if n_units == 0:
        return ["no segment was reviewed by two or more of these coders: nothing to compare"]
    used = np.flatnonzero(totals > 0)
    if len(used) > 1:
        return []
    undefined = "κ and α undefined (one value only); percent agreement still holds"
    if values == "label":
        return [f"every rating is {names[used[0]]!r}: {undefined}"]
    if used[0] == 0:
        return [f"no coder applied the code on these segments: {undefined}"]
    return [f"every coder applied the code on every segment: {undefined}"]


def agreement_report(
    codings: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
    *,
    coders: Sequence[str] | None = None,
    by: str | Sequence[str] = "code",
    facet: str | None = None,
    codebook: Codebook | None = None,
    segments: pd.DataFrame | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    rollup: bool = False,
) -> pd.DataFrame:
    """Percent agreement, Cohen's κ, Fleiss' κ and Krippendorff's α, one row per group.

    ``by`` is ``"code"``, ``"facet"``, ``"case"``, ``"pair"``, ``"overall"`` or a
    combination such as ``("case", "code")`` or ``("pair", "facet")``. Columns:
    ``group`` (a readable label), the key columns (``case``, ``coder_a``,
    ``coder_b``, ``facet``, ``code`` as relevant), then :data:`STAT_COLUMNS`.
    Cohen's κ is filled for pair rows, and for other rows when exactly two
    coders are compared. κ and α are NaN when undefined, with the reason in
    ``note``. See :mod:`qual_nlp.agreement.units` for coverage and missing data.

    >>> codings = pd.DataFrame({"segment_id": [1, 2, 1], "coder": ["ana", "ana", "bob"],
    ...     "code": ["cmo/context"] * 3, "status": "accepted"})
    >>> coverage = pd.DataFrame({"segment_id": [1, 2, 3, 1, 2, 3],
    ...     "coder": ["ana"] * 3 + ["bob"] * 3})
    >>> agreement_report(codings, coverage)[["code", "n_units", "percent_agreement"]]
              code  n_units  percent_agreement
    0  cmo/context        3           0.666667
    """
    keys = _parse_by(by)
    data = reliability_data(
        codings,
        coverage,
        coders=coders,
        facet=facet,
        codebook=codebook,
        segments=segments,
        statuses=statuses,
        rollup=rollup,
    )
    level = "code" if "code" in keys else "facet" if "facet" in keys else "all"
    by_pair = "pair" in keys
    blocks: list[tuple[str | None, int, int]] = (
        data.case_blocks if "case" in keys else [(None, 0, len(data.units))]
    )
    n_coders = len(data.coders)
    want_group, want_pairs = not by_pair, by_pair or n_coders == 2
    acc = _Accumulator(data, blocks)
    no_case = UNPLACED_NOTE if segments is None else NO_CASE_NOTE
    measures: list[_Measure] = []
    presence = (NONE, "present")

    if level == "all" and data.codes:
        measures.append(_Measure(None, None, "presence", presence, len(data.codes)))
    if level == "facet":
        for name, codes in data.facets.items():
            if name in data.exclusive:
                lab, names, _ = data.labels(name)
                measures.append(_Measure(name, None, "label", tuple(names), len(codes)))
                acc.add(len(measures) - 1, lab, len(names), group=want_group, pairs=want_pairs)
                combined = lab > len(codes)
                for b, (_, lo, hi) in enumerate(blocks):
                    acc.combined[len(measures) - 1, b] = combined[lo:hi].sum(axis=0)
            else:
                measures.append(_Measure(name, None, "presence", presence, len(codes)))
    pooled = {m.facet: i for i, m in enumerate(measures) if m.values == "presence"}
    for code in data.codes:
        code_facet = code.split("/", 1)[0]
        if level == "code":
            measures.append(_Measure(code_facet, code, "presence", presence, 1))
            target = len(measures) - 1
        elif level == "facet" and code_facet in pooled:
            target = pooled[code_facet]
        elif level == "all":
            target = 0
        else:
            continue
        acc.add(target, data.presence(code), 2, group=want_group, pairs=want_pairs)

    rows = []
    for m_index, measure in enumerate(measures):
        for b, (case, lo, hi) in enumerate(blocks):
            covered = data.covered[lo:hi]
            key: dict[str, object] = {}
            if "case" in keys:
                key["case"] = case
            combined = acc.combined.get((m_index, b), np.zeros(n_coders))
            if by_pair:
                rows.extend(
                    _pair_rows(acc.pairs[m_index, b], measure, key, data, combined, no_case)
                )
                continue
            t = acc.group[m_index, b]
            cohen = (
                float(cohen_from(acc.pairs[m_index, b])[0, 1]) if n_coders == 2 else float("nan")
            )
            notes = _note(measure.values, t.totals, float(t.n_units), measure.names)
            if combined.sum():
                notes.append(_combined_note(int(combined.sum())))
            rows.append(
                _row(
                    key,
                    measure,
                    int((covered.sum(axis=1) >= 2).sum()),
                    int(covered.any(axis=0).sum()),
                    (percent_from(t), cohen, fleiss_from(t), alpha_from(t)),
                    notes,
                    no_case,
                )
            )
    return _frame(rows, keys, level, by_pair)


def _combined_note(n: int) -> str:
    return f"{n} ratings applied several codes of this exclusive facet (kept as combined labels)"


def _pair_rows(
    p: PairTally,
    measure: _Measure,
    key: dict[str, object],
    data: ReliabilityData,
    combined: np.ndarray,
    no_case: str = UNPLACED_NOTE,
) -> list[dict[str, object]]:
    percent, cohen = percent_from(p.tally()), cohen_from(p)
    fleiss, alpha = fleiss_from(p.tally()), alpha_from(p.tally())
    n_segments = p.n_units / max(measure.n_codes, 1) if measure.values == "presence" else p.n_units
    rows = []
    for i, j in zip(*np.triu_indices(len(data.coders), k=1), strict=True):
        pair_key = {**key, "coder_a": data.coders[i], "coder_b": data.coders[j]}
        notes = _note(measure.values, p.a[i, j] + p.b[i, j], float(p.n_units[i, j]), measure.names)
        if combined[i] + combined[j]:
            notes.append(_combined_note(int(combined[i] + combined[j])))
        stats = (percent[i, j], cohen[i, j], fleiss[i, j], alpha[i, j])
        n_units = int(round(n_segments[i, j]))
        rows.append(_row(pair_key, measure, n_units, 2, stats, notes, no_case))
    return rows


def _row(
    key: dict[str, object],
    measure: _Measure,
    n_units: int,
    n_coders: int,
    stats: tuple[object, object, object, object],
    notes: list[str],
    no_case: str = UNPLACED_NOTE,
) -> dict[str, object]:
    """One report row; ``no_case`` explains a ``(case unknown)`` row."""
    row = dict(key)
    row["facet"], row["code"] = measure.facet, measure.code
    percent, cohen, fleiss, alpha = (float(s) for s in stats)  # type: ignore[arg-type]
    if "case" in key and key["case"] is None:
        row["case"] = UNKNOWN_CASE
        notes.append(no_case)
    row.update(
        values=measure.values,
        n_codes=measure.n_codes,
        n_units=n_units,
        n_coders=n_coders,
        percent_agreement=percent,
        cohen_kappa=cohen,
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        note="; ".join(notes),
    )
    return row


def _frame(rows: list[dict[str, object]], keys: tuple[str, ...], level: str, by_pair: bool):
    key_columns = []
    for k in keys:
        if k == "case":
            key_columns.append("case")
        elif k == "pair":
            key_columns += ["coder_a", "coder_b"]
        elif k == "facet":
            key_columns.append("facet")
        elif k == "code":
            key_columns += ["facet", "code"]
    frame = pd.DataFrame(rows, columns=[*key_columns, *STAT_COLUMNS])
    if key_columns:
        frame = frame.sort_values(key_columns, kind="stable", ignore_index=True)
    label_columns = [c for c in key_columns if c != "facet" or level == "facet"]
    if label_columns:
        parts = frame[label_columns].astype(str)
        if by_pair:
            parts["coder_a"] = parts["coder_a"] + " × " + parts.pop("coder_b")
        group = parts.agg(" · ".join, axis=1) if len(frame) else pd.Series([], dtype=object)
    else:
        group = pd.Series([ALL_CODES] * len(frame), dtype=object)
    frame.insert(0, "group", group)
    return frame
