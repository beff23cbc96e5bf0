"""Theme × case matrices and CFIR barrier/facilitator (valence) matrices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from qual_nlp.analysis._select import (
    FILTER_KEYS,
    ancestor_map,
    attach_column,
    code_levels,
    ordered_codes,
    participant_keys,
    select_codings,
    select_segments,
)
from qual_nlp.errors import ValidationError
from qual_nlp.records import Codebook

VALUES = ("count", "participants", "participants_pct", "documents", "documents_pct", "quotes")
MISSING = "(none)"
BARRIER, FACILITATOR, NET = "−", "+", "net"
RANKS = ("score", "chosen")
EXEMPLAR_MARK = "exemplar"


def _check_filters(filters: dict[str, Any], where: str) -> None:
    unknown = sorted(set(filters) - FILTER_KEYS)
    if unknown:
        raise ValidationError(
            f"{where}: unknown filter(s) {unknown}; expected some of {sorted(FILTER_KEYS)}. "
            "Fix: check the spelling of the keyword arguments."
        )


def _column_order(
    frame: pd.DataFrame, cols: str, segments: pd.DataFrame | None, filters: dict[str, Any]
) -> list[Any]:
    """Every value of ``cols`` among the kept codings and the segments the filters keep
    (so a case with no coding still gets its column of zeros)."""
    values = set(frame[cols].fillna(MISSING)) if cols in frame.columns else set()
    if segments is not None and cols in segments.columns:
        values |= set(select_segments(segments, **filters)[cols].fillna(MISSING))
    return sorted(values, key=lambda v: (str(type(v)), str(v)))


def _rows(sel: pd.DataFrame, rows: str, codebook: Codebook | None, rollup: bool) -> pd.DataFrame:
    """One row per (coding, matrix row): a coding of a child also counts for each ancestor."""
    if rows != "code":
        return sel.assign(row=sel[rows].fillna(MISSING))
    if rollup and codebook is not None:
        chains = ancestor_map(codebook, sel["code"].unique())
        return sel.assign(row=sel["code"].map(chains)).explode("row")
    return sel.assign(row=sel["code"])


def _quote_label(row: Any) -> str:
    speaker = "" if pd.isna(row.speaker) else f", {row.speaker}"
    return f"“{row.text}” — {row.document}{speaker}, {int(row.start)}–{int(row.end)}"


def is_exemplar(memo: pd.Series) -> pd.Series:
    """True where a coder marked the coding as an exemplar (the word ``exemplar`` in its
    memo, any case)."""
    text = memo.astype(object).where(memo.notna(), "").astype(str)
    return text.str.contains(rf"\b{EXEMPLAR_MARK}\b", case=False, regex=True)


def _quotes(long: pd.DataFrame, top_k: int, rank: str) -> pd.Series:
    """Top-k exemplar quotes per cell.

    ``rank="score"``: best model score first, then longest; ``rank="chosen"``: only the
    codings a coder marked as exemplars, in the order they were coded.
    """
    if rank not in RANKS:
        raise ValidationError(
            f"theme_matrix: rank {rank!r} is not one of {list(RANKS)}. Fix: pick one of them."
        )
    if rank == "chosen":
        memo = long["memo"] if "memo" in long.columns else pd.Series("", index=long.index)
        long = long[is_exemplar(memo)]
    if long.empty:
        return pd.Series(dtype=object)
    if rank == "chosen":
        order = "coding_id" if "coding_id" in long.columns else "start"
        ranked = long.sort_values([order, "unit"], kind="stable")
    else:
        ranked = long.assign(
            _score=pd.to_numeric(long["score"], errors="coerce").fillna(-1.0),
            _len=long["text"].astype(str).str.len(),
        )
        ranked = ranked.sort_values(["_score", "_len", "unit"], ascending=[False, False, True])
    ranked = ranked.drop_duplicates(["row", "col", "unit"])
    top = ranked.groupby(["row", "col"], sort=False).head(top_k)
    labels = pd.Series([_quote_label(r) for r in top.itertuples()], index=top.index)
    return labels.groupby([top["row"], top["col"]], sort=False).agg("\n\n".join)


def _denominators(
    segments: pd.DataFrame | None, cols: str, value: str, filters: dict[str, Any]
) -> pd.Series:
    if segments is None or cols not in segments.columns:
        raise ValidationError(
            f"value={value!r} needs the segments table with a {cols!r} column for its "
            "denominators. Fix: pass segments=project.segments() (with case attributes joined)."
        )
    kept = select_segments(segments, **filters)
    group = kept[cols].fillna(MISSING)
    if value == "participants_pct":
        return participant_keys(kept).groupby(group).nunique()
    return kept["document"].groupby(group).nunique()


def _cells(long: pd.DataFrame, value: str, top_k: int, rank: str) -> tuple[pd.Series, Any]:
    """The cell values of the long (row, col) frame and what fills the empty cells."""
    keys = [long["row"], long["col"]]
    if value == "count":
        return long["unit"].groupby(keys).nunique(), 0
    if value.startswith("participants"):
        return participant_keys(long).groupby(keys).nunique(), 0
    if value.startswith("documents"):
        return long["document"].groupby(keys).nunique(), 0
    return _quotes(long, top_k, rank), ""


def theme_matrix(
    codings: pd.DataFrame,
    *,
    rows: str = "code",
    cols: str = "case",
    value: str = "count",
    codebook: Codebook | None = None,
    segments: pd.DataFrame | None = None,
    top_k: int = 3,
    rank: str = "score",
    rollup: bool = True,
    **filters: Any,
) -> pd.DataFrame:
    """A theme × case (or × any attribute) matrix, zero-filled.

    Rows are code paths in codebook order, parents before their children
    (``result.attrs["level"]`` maps each to its depth, for indenting); columns are the
    values of ``cols`` (a column of the codings or segments: case, province, rurality,
    role, source_type, …; ``(none)`` collects rows without a value). ``value``:

    - ``count``: distinct coded segments; with ``rollup`` a parent code counts segments
      coded with it or any descendant, each once;
    - ``participants`` / ``participants_pct``: distinct (case, speaker) mentioning the
      code, and that as % of the participants who speak in the column's segments;
    - ``documents`` / ``documents_pct``: the same for documents;
    - ``quotes``: the ``top_k`` exemplars per cell, each as “text” — document, speaker,
      start–end; ``rank="score"`` takes the best model scores (then the longest),
      ``rank="chosen"`` the codings a coder marked ``exemplar`` in the memo.

    Filters: ``facet``, ``coders`` (a name, or a coder role such as ``consensus`` or
    ``model``), ``statuses`` (default accepted only; None keeps all), ``source_types``,
    ``roles``, ``exclude_interviewer`` (default True).

    >>> theme_matrix(codings, cols="rurality", value="participants_pct",
    ...              codebook=cb, segments=segments, facet="valence")  # doctest: +SKIP
    """
    _check_filters(filters, "theme_matrix")
    if value not in VALUES:
        raise ValidationError(
            f"theme_matrix: value {value!r} is not one of {list(VALUES)}. Fix: pick one of them."
        )
    sel = select_codings(codings, segments, **filters)
    sel = attach_column(sel, cols, segments, "codings")
    if rows != "code":
        sel = attach_column(sel, rows, segments, "codings")
    long = _rows(sel, rows, codebook, rollup).assign(col=lambda f: f[cols].fillna(MISSING))
    if rows == "code":
        row_order = ordered_codes(codebook, long["row"].unique(), filters.get("facet"))
    else:
        row_order = sorted(long["row"].unique(), key=str)
    col_order = _column_order(sel, cols, segments, filters)
    cells, fill = _cells(long, value, top_k, rank)
    table = cells.unstack("col") if len(cells) else pd.DataFrame()
    table = table.reindex(index=row_order, columns=col_order)
    table = (table.astype(object) if value == "quotes" else table).fillna(fill)
    if value.endswith("_pct"):
        denominators = _denominators(segments, cols, value, filters).reindex(col_order)
        table = (table.div(denominators.where(denominators > 0), axis=1) * 100).round(1)
    elif value != "quotes":
        table = table.astype(int)
    table.index.name = "code" if rows == "code" else rows
    table.columns.name = cols
    table.attrs = {
        "value": value,
        "cols": cols,
        "level": code_levels(codebook if rows == "code" else None, row_order),
    }
    return table


def _valence_sign(codebook: Codebook, valence_facet: str, codes: Sequence[str]) -> dict[str, str]:
    chains = ancestor_map(codebook, codes)
    signs = {f"{valence_facet}/barrier": BARRIER, f"{valence_facet}/facilitator": FACILITATOR}
    return {c: signs.get(chains[c][-1], "") for c in codes}


def _signed_units(sel: pd.DataFrame, codebook: Codebook, valence_facet: str) -> pd.DataFrame:
    """(unit, sign) for every unit coded barrier (−) or facilitator (+), or a child."""
    valence = sel[sel["_facet"] == valence_facet]
    sign = valence["code"].map(_valence_sign(codebook, valence_facet, valence["code"].unique()))
    units = valence.assign(sign=sign)[["unit", "sign"]].drop_duplicates()
    return units[units["sign"] != ""]


def valence_matrix(
    codings: pd.DataFrame,
    *,
    codebook: Codebook,
    construct_facet: str = "cfir_domain",
    valence_facet: str = "valence",
    cols: str = "case",
    segments: pd.DataFrame | None = None,
    rollup: bool = True,
    **filters: Any,
) -> pd.DataFrame:
    """CFIR-style barrier (−) / facilitator (+) counts per construct × case.

    A segment counts as a barrier for a construct when, after the filters, it is coded
    with the construct (or, with ``rollup``, a descendant of it) and with
    ``valence/barrier`` (or a child of it); likewise for facilitators. Columns are flat:
    ``C01 −``, ``C01 +``, ``C01 net`` (facilitators minus barriers) per column value,
    then ``Total −``, ``Total +``, ``Total net``. Rows: codes of the construct facet that
    have any valence (and their parents), in codebook order. Any facet can play the
    construct (e.g. ``cm_component``).

    >>> valence_matrix(codings, codebook=cb, segments=segments)  # doctest: +SKIP
    """
    _check_filters(filters, "valence_matrix")
    filters = {k: v for k, v in filters.items() if k != "facet"}
    sel = select_codings(codings, segments, facet=[construct_facet, valence_facet], **filters)
    sel = attach_column(sel, cols, segments, "codings")
    sel = sel.assign(_facet=sel["code"].str.split("/").str[0])
    units = _signed_units(sel, codebook, valence_facet)
    constructs = _rows(sel[sel["_facet"] == construct_facet], "code", codebook, rollup)
    long = constructs.merge(units, on="unit").assign(col=lambda f: f[cols].fillna(MISSING))
    col_order = _column_order(sel, cols, segments, filters)
    row_order = ordered_codes(codebook, long["row"].unique(), None)
    every = long.assign(col="Total")
    both = pd.concat([long, every], ignore_index=True)
    counts = both.groupby(["row", "col", "sign"])["unit"].nunique()
    wide = counts.unstack(["col", "sign"]) if len(counts) else pd.DataFrame()
    out = pd.DataFrame(index=pd.Index(row_order, name="code"))
    for label in [*col_order, "Total"]:
        for mark in (BARRIER, FACILITATOR):
            part = wide[(label, mark)] if (label, mark) in wide.columns else None
            series = pd.Series(0, index=out.index) if part is None else part.reindex(out.index)
            out[f"{label} {mark}"] = series.fillna(0).astype(int)
        out[f"{label} {NET}"] = out[f"{label} {FACILITATOR}"] - out[f"{label} {BARRIER}"]
    out.attrs = {"cols": cols, "level": code_levels(codebook, row_order)}
    return out
