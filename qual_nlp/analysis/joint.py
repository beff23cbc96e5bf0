"""Joint displays: qualitative themes per case beside case-level numbers."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from qual_nlp.analysis.matrix import MISSING
from qual_nlp.errors import ValidationError

PAIRS = (("_before", "_after"), ("before_", "after_"))


def numeric_columns(cases: pd.DataFrame) -> list[str]:
    """Case-level numbers: columns (other than ``case``) whose values are all numbers."""
    out = []
    for column in cases.columns:
        if column == "case":
            continue
        values = pd.to_numeric(cases[column], errors="coerce")
        if values.notna().any() and values.notna().sum() == cases[column].notna().sum():
            out.append(column)
    return out


def _change_columns(frame: pd.DataFrame, numbers: Sequence[str]) -> pd.DataFrame:
    """Add ``<measure>_change_pct`` = (after − before) / before × 100 for each pair."""
    names = set(numbers)
    for column in numbers:
        for before, after in PAIRS:
            if before.startswith("_") and column.endswith(before):
                stem = column[: -len(before)]
                partner = stem + after
            elif not before.startswith("_") and column.startswith(before):
                stem = column[len(before) :]
                partner = after + stem
            else:
                continue
            if partner in names:
                base = pd.to_numeric(frame[column], errors="coerce")
                later = pd.to_numeric(frame[partner], errors="coerce")
                change = (later - base) / base.where(base != 0) * 100
                frame[f"{stem}_change_pct"] = change.round(1)
    return frame


def joint_display(
    matrix: pd.DataFrame, cases_df: pd.DataFrame, *, numbers: Sequence[str] | None = None
) -> pd.DataFrame:
    """The theme × case matrix turned to one row per case, joined with case numbers.

    Columns: ``case``, the case's attributes, its numbers (``numbers``, default every
    numeric column) with ``<x>_change_pct`` for each ``<x>_before``/``<x>_after`` pair,
    then one column per theme (the matrix's rows). Every case of either table gets a
    row (a case without codings has zeros; one missing from ``cases_df`` has no
    numbers); codings without a case are left out.

    >>> joint_display(theme_matrix(codings, codebook=cb), project.cases())  # doctest: +SKIP
    """
    grouped_by = matrix.attrs.get("cols", "case")
    if grouped_by != "case":
        raise ValidationError(
            f"joint_display: the matrix has one column per {grouped_by!r}, not per case. "
            "Fix: build it with cols='case'."
        )
    if "case" not in cases_df.columns:
        raise ValidationError(
            f"joint_display: the cases table has no 'case' column (found "
            f"{list(cases_df.columns)}). Fix: pass project.cases()."
        )
    chosen = list(numbers) if numbers is not None else numeric_columns(cases_df)
    missing = [c for c in chosen if c not in cases_df.columns]
    if missing:
        raise ValidationError(
            f"joint_display: numbers {missing} are not columns of the cases table "
            f"({list(cases_df.columns)}). Fix: name existing columns."
        )
    attributes = [c for c in cases_df.columns if c != "case" and c not in chosen]
    base = cases_df[["case", *attributes, *chosen]].copy()
    for column in chosen:
        base[column] = pd.to_numeric(base[column], errors="coerce")
    base = _change_columns(base, chosen)
    themes = matrix.drop(columns=[MISSING], errors="ignore").T.copy()
    themes.index = themes.index.astype(str)
    themes.columns = [str(c) for c in themes.columns]
    themes.index.name = "case"
    out = base.assign(case=base["case"].astype(str)).merge(
        themes.reset_index(), on="case", how="outer"
    )
    theme_cols = list(themes.columns)
    numeric = all(pd.api.types.is_numeric_dtype(themes[c]) for c in theme_cols)
    out[theme_cols] = out[theme_cols].fillna(0 if numeric else "")
    return out.sort_values("case", kind="stable").reset_index(drop=True)
