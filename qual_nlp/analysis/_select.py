"""Filtering and keying shared by the cross-case tables.

A *unit* is what the tables count: a coded segment (``segment_id``) or, for
free-span codings without one, the span ``document:start-end``. Several coders
coding the same segment with the same code still count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from qual_nlp.errors import ValidationError
from qual_nlp.records import Codebook

DEFAULT_STATUSES: tuple[str, ...] = ("accepted",)
FILTER_KEYS = frozenset(
    {"facet", "coders", "statuses", "source_types", "roles", "exclude_interviewer"}
)


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def check_columns(frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    """Raise :class:`ValidationError` naming the columns ``frame`` lacks."""
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"the {what} table has no column(s) {missing}; expected at least {list(needed)}, "
            f"found {list(frame.columns)}. Fix: pass the frame from Project.{what}()."
        )


def unit_keys(frame: pd.DataFrame) -> pd.Series:
    """One text key per coded unit: ``s<segment_id>`` or ``d<document>:<start>-<end>``."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    seg = pd.to_numeric(frame["segment_id"], errors="coerce")
    span = (
        "d"
        + frame["document"].astype(str)
        + ":"
        + frame["start"].astype(str)
        + "-"
        + frame["end"].astype(str)
    )
    by_id = "s" + seg.astype("Int64").astype(str)
    return by_id.where(seg.notna(), span)


def participant_keys(frame: pd.DataFrame) -> pd.Series:
    """``case|speaker`` per row, NA where no speaker is known (field notes)."""
    speaker = frame["speaker"].astype(object)
    known = speaker.notna() & (speaker.astype(str) != "")
    case = frame["case"].astype(object).where(frame["case"].notna(), "")
    key = case.astype(str) + "|" + speaker.where(known, "").astype(str)
    return key.where(known)


def _interviewer_flags(codings: pd.DataFrame, segments: pd.DataFrame | None) -> pd.Series:
    if "is_interviewer" in codings.columns:
        return codings["is_interviewer"].fillna(False).astype(bool)
    if segments is not None and "is_interviewer" in segments.columns:
        flags = segments.set_index("segment_id")["is_interviewer"]
        flags = flags[~flags.index.duplicated()]
        seg = pd.to_numeric(codings["segment_id"], errors="coerce")
        # object first: when no coding sits on a segment the mapped column is an
        # all-missing Int64, which refuses False as a fill value
        return seg.map(flags).astype(object).fillna(False).astype(bool)
    role = codings["role"].astype(object).where(codings["role"].notna(), "")
    return role.astype(str).str.lower().str.contains("interviewer", regex=False)


def select_codings(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None = None,
    *,
    facet: str | Sequence[str] | None = None,
    coders: Sequence[str] | str | None = None,
    statuses: Sequence[str] | str | None = DEFAULT_STATUSES,
    source_types: Sequence[str] | str | None = None,
    roles: Sequence[str] | str | None = None,
    exclude_interviewer: bool = True,
) -> pd.DataFrame:
    """The codings the filters keep, with a ``unit`` column added.

    ``coders`` matches a coder's name or role (``"consensus"``, ``"model"``, a person);
    ``statuses=None`` keeps every status.

    >>> select_codings(codings, statuses=["accepted"], coders=["ana"])  # doctest: +SKIP
    """
    check_columns(codings, ["segment_id", "document", "case", "code", "coder", "status"], "codings")
    out = codings
    keep = pd.Series(True, index=out.index)
    if (facets := _as_list(facet)) is not None:
        facet_col = out["facet"] if "facet" in out.columns else out["code"].str.split("/").str[0]
        keep &= facet_col.isin(facets)
    if (names := _as_list(coders)) is not None:
        by_role = out["coder_role"].isin(names) if "coder_role" in out.columns else False
        keep &= out["coder"].isin(names) | by_role
    if (wanted := _as_list(statuses)) is not None:
        keep &= out["status"].isin(wanted)
    if (types := _as_list(source_types)) is not None:
        keep &= out["source_type"].isin(types)
    if (kinds := _as_list(roles)) is not None:
        keep &= out["role"].isin(kinds)
    if exclude_interviewer and not out.empty:
        keep &= ~_interviewer_flags(out, segments)
    out = out.loc[keep].copy()
    out["unit"] = unit_keys(out)
    return out


def select_segments(
    segments: pd.DataFrame,
    *,
    source_types: Sequence[str] | str | None = None,
    roles: Sequence[str] | str | None = None,
    exclude_interviewer: bool = True,
    **_: Any,
) -> pd.DataFrame:
    """The segments that the same filters keep (denominators of percentages)."""
    check_columns(segments, ["segment_id", "document", "case", "speaker"], "segments")
    keep = pd.Series(True, index=segments.index)
    if (types := _as_list(source_types)) is not None:
        keep &= segments["source_type"].isin(types)
    if (kinds := _as_list(roles)) is not None:
        keep &= segments["role"].isin(kinds)
    if exclude_interviewer and "is_interviewer" in segments.columns:
        keep &= ~segments["is_interviewer"].fillna(False).astype(bool)
    return segments.loc[keep]


def attach_column(
    frame: pd.DataFrame, column: str, segments: pd.DataFrame | None, what: str
) -> pd.DataFrame:
    """Make sure ``frame`` has ``column`` (taking it from ``segments`` by segment_id)."""
    if column in frame.columns:
        return frame
    if segments is not None and column in segments.columns:
        values = segments.drop_duplicates("segment_id").set_index("segment_id")[column]
        seg = pd.to_numeric(frame["segment_id"], errors="coerce")
        mapped = seg.map(values)
        # free spans (no segment) take the value their document has throughout, if any
        per_doc = segments.groupby("document")[column].agg(
            lambda v: v.iloc[0] if v.nunique(dropna=False) == 1 else None
        )
        by_doc = frame["document"].map(per_doc)
        return frame.assign(**{column: mapped.where(seg.notna(), by_doc)})
    choices = sorted(set(frame.columns) | set(segments.columns if segments is not None else []))
    raise ValidationError(
        f"cannot group the {what} by {column!r}: no such column in the codings or segments "
        f"(found {choices}). Fix: use 'case', 'source_type', 'role' or a case attribute."
    )


def code_levels(codebook: Codebook | None, paths: Iterable[str]) -> dict[str, int]:
    """Depth of each code path in its facet tree (0 = top level)."""
    if codebook is None:
        return {p: 0 for p in paths}
    parent = {c.path: (f"{c.facet}/{c.parent}" if c.parent else None) for c in codebook.codes}
    out: dict[str, int] = {}
    for path in paths:
        depth, node = 0, parent.get(path)
        while node is not None and depth < len(parent):
            depth, node = depth + 1, parent.get(node)
        out[path] = depth
    return out


def ancestor_map(codebook: Codebook | None, paths: Iterable[str]) -> dict[str, list[str]]:
    """``path -> [path, parent, grandparent, …]`` (paths unknown to the codebook map to
    themselves only)."""
    if codebook is None:
        return {p: [p] for p in paths}
    parent = {c.path: (f"{c.facet}/{c.parent}" if c.parent else None) for c in codebook.codes}
    out: dict[str, list[str]] = {}
    for path in paths:
        chain, node = [path], parent.get(path)
        while node is not None and len(chain) <= len(parent):
            chain.append(node)
            node = parent.get(node)
        out[path] = chain
    return out


def ordered_codes(
    codebook: Codebook | None, present: Iterable[str], facet: str | Sequence[str] | None
) -> list[str]:
    """Row order: the codebook's order (all codes of the chosen facet, or every code with
    a coding when no facet is chosen), then codes unknown to the codebook, sorted."""
    seen = set(present)
    if codebook is None:
        return sorted(seen)
    facets = _as_list(facet)
    known = [c.path for c in codebook.codes]
    if facets is not None:
        rows = [c.path for c in codebook.codes if c.facet in facets]
    else:
        chains = ancestor_map(codebook, seen)
        wanted = {p for chain in chains.values() for p in chain}
        rows = [p for p in known if p in wanted]
    extra = sorted(seen - set(known))
    return rows + extra
