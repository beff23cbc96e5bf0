"""From codings to reliability data: units (segments) × coders, per code or facet.

A coder's *decision* is a coding whose status is in ``statuses`` (accepted by
default). A coder who reviewed a segment and applied no code of a facet gave it
the value "absent" for each of that facet's codes ("none" as a facet label); a
segment the coder never reviewed is missing data, not absent.

Which segments a coder reviewed comes from ``coverage`` (``segment_id``,
``coder``: the store's review log), together with every segment on which the
coder has a decision. Without ``coverage`` a coder is taken to have reviewed
exactly the segments on which they have at least one accepted or rejected
coding, in any facet. That underestimates disagreement: a segment one coder
left uncoded and the other coded counts as missing for the first, not as a
disagreement.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qual_nlp.errors import ValidationError
from qual_nlp.records import Codebook

__all__ = [
    "NONE",
    "ReliabilityData",
    "model_codings",
    "model_coverage",
    "reliability_data",
    "unit_matrix",
]

NONE = "none"
DEFAULT_STATUSES: tuple[str, ...] = ("accepted",)
REQUIRED = ("segment_id", "code", "coder", "status")


@dataclass(frozen=True)
class ReliabilityData:
    """Which coder reviewed which unit, and which codes each applied.

    Units are ordered by case, then segment id, so each case is a contiguous
    block of rows (:attr:`case_blocks`).
    """

    units: np.ndarray  # segment ids (int64)
    cases: np.ndarray  # case name per unit (object; None when unknown)
    coders: tuple[str, ...]
    covered: np.ndarray  # bool, units × coders
    codes: tuple[str, ...]  # code paths, sorted
    facets: dict[str, tuple[str, ...]]  # facet → its codes
    exclusive: frozenset[str]  # exclusive facets (from the codebook)
    hits: dict[str, tuple[np.ndarray, np.ndarray]]  # code → (unit index, coder index)

    @property
    def case_blocks(self) -> list[tuple[str | None, int, int]]:
        """``(case, first row, end row)`` for each case, in row order."""
        out: list[tuple[str | None, int, int]] = []
        start = 0
        for i in range(1, len(self.cases) + 1):
            if i == len(self.cases) or self.cases[i] != self.cases[start]:
                out.append((self.cases[start], start, i))
                start = i
        return out

    def presence(self, code: str) -> np.ndarray:
        """Units × coders int8: 1 present, 0 absent, -1 not reviewed."""
        x = np.where(self.covered, np.int8(0), np.int8(-1))
        units, coders = self.hits.get(code, (np.empty(0, int), np.empty(0, int)))
        x[units, coders] = 1
        return x

    def labels(self, facet: str) -> tuple[np.ndarray, list[str], int]:
        """A facet's nominal value per unit and coder.

        Returns int codes (``-1`` not reviewed), the value names (``"none"``,
        code paths, and ``"a|b"`` for a coder who applied several codes) and the
        number of such combined ratings.
        """
        codes = self.facets.get(facet, ())
        lab = np.where(self.covered, 0, -1).astype(np.int32)
        count = np.zeros(self.covered.shape, dtype=np.int16)
        for j, code in enumerate(codes, start=1):
            units, coders = self.hits.get(code, (np.empty(0, int), np.empty(0, int)))
            lab[units, coders] = j
            count[units, coders] += 1  # (unit, coder) pairs are unique per code
        names = [NONE, *codes]
        several = np.argwhere(count > 1)
        if len(several):
            flat = several[:, 0] * self.covered.shape[1] + several[:, 1]
            applied: dict[int, list[str]] = {int(f): [] for f in flat}
            for code in codes:
                units, coders = self.hits.get(code, (np.empty(0, int), np.empty(0, int)))
                for f in np.intersect1d(units * self.covered.shape[1] + coders, flat):
                    applied[int(f)].append(code)
            for (u, c), f in zip(several, flat, strict=True):
                name = "|".join(sorted(applied[int(f)]))
                if name not in names:
                    names.append(name)
                lab[u, c] = names.index(name)
        return lab, names, len(several)


def _check_columns(codings: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in codings.columns]
    if missing:
        raise ValidationError(
            f"codings: expected columns {list(REQUIRED)} (see qual_nlp.records.CODING_COLUMNS), "
            f"missing {missing}. Pass the frame Project.codings() returns."
        )


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[frame["segment_id"].notna(), ["segment_id", "coder"]]
    return out.astype({"segment_id": "int64"})


def _positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 if absent), hashing each distinct value once."""
    codes, uniques = pd.factorize(values)
    return np.asarray(index.get_indexer(uniques), dtype=np.int64)[codes]


def select_coders(
    codings: pd.DataFrame,
    coverage: pd.DataFrame | None,
    coders: Sequence[str] | None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
) -> list[str]:
    """The coders to compare: ``coders`` as given (checked against every coder named in
    ``codings`` or ``coverage``), or else every coder who decided something (a coding
    whose status is in ``statuses`` or rejected) or reviewed a segment, except the
    ``consensus`` coder. A model with suggestions only is not a coder until
    :func:`model_codings` turns them into decisions."""
    if coders is not None:
        known = set(codings["coder"].dropna().unique())
        if coverage is not None:
            known |= set(coverage["coder"].dropna().unique())
        unknown = [c for c in coders if c not in known]
        if unknown:
            raise ValidationError(
                f"coders {unknown} have no codings and reviewed no segment; known coders: "
                f"{sorted(known)}. Check the spelling, or pass coders=None for all."
            )
        return list(dict.fromkeys(coders))
    deciding = codings["status"].isin((*statuses, "rejected"))
    found = set(codings.loc[deciding, "coder"].dropna().unique())
    if coverage is not None:
        found |= set(coverage["coder"].dropna().unique())
    consensus = {"consensus"}
    if "coder_role" in codings.columns:
        consensus |= set(codings.loc[codings["coder_role"] == "consensus", "coder"].unique())
    return sorted(found - consensus)


def reliability_data(
    codings: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
    *,
    coders: Sequence[str] | None = None,
    facet: str | None = None,
    codebook: Codebook | None = None,
    segments: pd.DataFrame | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    rollup: bool = False,
) -> ReliabilityData:
    """Build the units × coders data once; statistics then read dense arrays.

    ``codebook`` supplies the codes no one applied and which facets are
    exclusive; ``rollup=True`` (with a codebook) also counts every code for its
    ancestors. ``segments`` (``segment_id``, ``case``) places segments no one
    coded in their case.
    """
    _check_columns(codings)
    statuses = tuple(statuses)
    chosen = select_coders(codings, coverage, coders, statuses)
    coder_index = pd.Index(chosen)
    every = codings[[c for c in ("segment_id", "case") if c in codings.columns]]
    codings = codings.loc[codings["coder"].isin(chosen), list(REQUIRED)]
    decided = codings[codings["status"].isin(statuses) & codings["segment_id"].notna()]
    decided = decided[["segment_id", "coder", "code"]].astype({"segment_id": "int64"})
    if rollup and codebook is not None:
        from qual_nlp.codebook import ancestors

        known = {c.path for c in codebook.codes}
        up = {p: ancestors(codebook, p) for p in set(decided["code"].unique()) & known}
        extra = decided.assign(code=decided["code"].map(up)).explode("code").dropna()
        decided = pd.concat([decided, extra], ignore_index=True)
    if coverage is None:
        warnings.warn(
            "agreement without a coverage table: each coder is taken to have reviewed only "
            "the segments they coded, which underestimates disagreement. Pass the review "
            "log (project.review.coverage()).",
            UserWarning,
            stacklevel=3,
        )
        reviews = [_pairs(codings[codings["status"].isin((*statuses, "rejected"))])]
    else:
        missing = [c for c in ("segment_id", "coder") if c not in coverage.columns]
        if missing:
            raise ValidationError(
                f"coverage: expected columns ['segment_id', 'coder'], missing {missing}. "
                "Pass project.review.coverage() or a frame of (segment_id, coder) reviews."
            )
        reviews = [_pairs(coverage[coverage["coder"].isin(chosen)]), _pairs(decided)]
    review_units = np.concatenate([r["segment_id"].to_numpy(np.int64) for r in reviews])
    review_coders = np.concatenate([_positions(r["coder"], coder_index) for r in reviews])

    sources = [every] + ([coverage] if coverage is not None else [])
    unit_ids, cases = _place_units(np.unique(review_units), [segments, *sources])
    unit_index = pd.Index(unit_ids)
    covered = np.zeros((len(unit_ids), len(chosen)), dtype=bool)
    covered[unit_index.get_indexer(review_units), review_coders] = True

    all_codes = set(codings["code"].dropna().unique()) | set(decided["code"].unique())
    if codebook is not None:
        all_codes |= {c.path for c in codebook.codes}
    code_list = sorted(c for c in all_codes if facet is None or c.split("/", 1)[0] == facet)
    facets: dict[str, list[str]] = {}
    for code in code_list:
        facets.setdefault(code.split("/", 1)[0], []).append(code)
    exclusive = frozenset(f.id for f in codebook.facets if f.exclusive) if codebook else frozenset()
    decided = decided[decided["code"].isin(code_list)]
    hits = _hits(
        decided["code"],
        unit_index.get_indexer(decided["segment_id"]),
        _positions(decided["coder"], coder_index),
        len(chosen),
    )
    return ReliabilityData(
        unit_ids,
        cases,
        tuple(chosen),
        covered,
        tuple(code_list),
        {f: tuple(v) for f, v in facets.items()},
        exclusive,
        hits,
    )


def _place_units(
    unit_ids: np.ndarray, sources: Sequence[pd.DataFrame | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Units ordered by case, then id, with each unit's case (None when no source names it).

    The first source that names a segment's case wins.
    """
    case_of = pd.Series(dtype=object)
    for source in sources:
        if source is not None and "case" in source.columns:
            rows = source.loc[source["segment_id"].notna() & source["case"].notna()]
            rows = rows.drop_duplicates("segment_id")
            named = pd.Series(
                rows["case"].to_numpy(object), index=rows["segment_id"].to_numpy(np.int64)
            )
            case_of = named if case_of.empty else case_of.combine_first(named)
    placed = pd.DataFrame({"unit": unit_ids, "case": case_of.reindex(unit_ids).to_numpy(object)})
    placed = placed.sort_values(["case", "unit"], na_position="last", kind="stable")
    cases = placed["case"].to_numpy(object, copy=True)
    cases[pd.isna(cases)] = None
    return placed["unit"].to_numpy(np.int64), cases


def _hits(
    codes: pd.Series, units: np.ndarray, coders: np.ndarray, n_coders: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per code, the distinct (unit index, coder index) pairs that applied it."""
    code_ids, code_names = pd.factorize(codes)
    out = {}
    for k, name in enumerate(code_names):
        cells = np.unique(units[code_ids == k] * n_coders + coders[code_ids == k])
        out[str(name)] = (cells // n_coders, cells % n_coders)
    return out


def unit_matrix(
    codings: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
    *,
    code: str | None = None,
    facet: str | None = None,
    coders: Sequence[str] | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
) -> pd.DataFrame:
    """Reliability data as a table: one row per segment, one column per coder.

    With ``code``, values are 1.0 (applied), 0.0 (reviewed, not applied) or NaN
    (not reviewed). With ``facet``, values are the facet's label: the code path,
    ``"none"``, ``"a|b"`` for several codes, or NaN.

    >>> codings = pd.DataFrame({"segment_id": [1], "code": ["valence/barrier"],
    ...                         "coder": ["ana"], "status": "accepted"})
    >>> coverage = pd.DataFrame({"segment_id": [1, 2, 1], "coder": ["ana", "ana", "bob"]})
    >>> unit_matrix(codings, coverage, code="valence/barrier").to_dict("list")
    {'ana': [1.0, 0.0], 'bob': [0.0, nan]}
    """
    if (code is None) == (facet is None):
        raise ValidationError(
            "unit_matrix: expected exactly one of code= or facet=, got "
            f"code={code!r}, facet={facet!r}. Name the code path or the facet to tabulate."
        )
    name = facet if facet is not None else str(code).split("/", 1)[0]
    data = reliability_data(codings, coverage, coders=coders, facet=name, statuses=statuses)
    index = pd.Index(data.units, name="segment_id")
    if code is not None:
        values = data.presence(code).astype(np.float64)
        values[values < 0] = np.nan
        return pd.DataFrame(values, index=index, columns=list(data.coders))
    lab, names, _ = data.labels(str(facet))
    table = np.asarray(names, dtype=object)[np.maximum(lab, 0)]
    table[lab < 0] = np.nan
    return pd.DataFrame(table, index=index, columns=list(data.coders))


def model_codings(codings: pd.DataFrame, model_coder: str, threshold: float = 0.5) -> pd.DataFrame:
    """Score a model as one more coder: its suggestions become its decisions.

    The model's ``suggested`` rows scoring at least ``threshold`` become
    ``accepted``, the others ``rejected``; every other row is unchanged. Use
    with :func:`model_coverage` so the model counts as having reviewed the
    segments it scored.

    >>> rows = pd.DataFrame({"segment_id": [1, 2], "code": ["cmo/context"] * 2,
    ...     "coder": "model:lr@1", "status": "suggested", "score": [0.9, 0.2]})
    >>> model_codings(rows, "model:lr@1", 0.5)["status"].tolist()
    ['accepted', 'rejected']
    """
    _check_columns(codings)
    mine = (codings["coder"] == model_coder) & (codings["status"] == "suggested")
    if not mine.any():
        models = sorted(set(codings.loc[codings["status"] == "suggested", "coder"]))
        raise ValidationError(
            f"model coder {model_coder!r} has no suggested codings; coders with suggestions: "
            f"{models}. Run suggestions first or pick one of those."
        )
    out = codings.copy()
    score = pd.to_numeric(out.loc[mine, "score"], errors="coerce")
    out.loc[mine, "status"] = np.where(score >= threshold, "accepted", "rejected")
    return out


def model_coverage(codings: pd.DataFrame, model_coder: str) -> pd.DataFrame:
    """(``segment_id``, ``coder``) of every segment the model scored (has any coding on)."""
    return _pairs(codings[codings["coder"] == model_coder]).drop_duplicates().reset_index(drop=True)
