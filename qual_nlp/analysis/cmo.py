"""Realist Context–Mechanism–Outcome configurations assembled from coded segments."""

from __future__ import annotations

import bisect
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qual_nlp.analysis._select import ancestor_map, select_codings, select_segments
from qual_nlp.errors import ValidationError
from qual_nlp.records import Codebook

ROLES = ("context", "mechanism", "outcome")
SCOPES = ("window", "turn", "segment")
CHAIN_COLUMNS = (
    "case",
    "document",
    "speaker",
    "pattern",
    "complete",
    *(
        f"{role}_{part}"
        for role in ROLES
        for part in ("segment", "codes", "themes", "quote", "start", "end")
    ),
)


@dataclass(frozen=True)
class _Place:
    """Where a segment sits: its document, its rank among the kept segments, its turn."""

    document: str
    position: int
    turn: int


def _places(segments: pd.DataFrame, filters: dict[str, Any]) -> pd.DataFrame:
    """The segments the filters keep (interviewer turns left out by default), numbered
    0, 1, 2, … by offset within each document."""
    kept = select_segments(segments, **filters).drop_duplicates("segment_id")
    ordered = kept.sort_values(["document", "start", "end"], kind="stable")
    turn = ordered["turn_index"] if "turn_index" in ordered.columns else ordered["start"]
    out = ordered.assign(
        position=ordered.groupby("document", sort=False).cumcount(),
        turn=pd.to_numeric(turn, errors="coerce").fillna(-1).astype(int),
        segment_id=pd.to_numeric(ordered["segment_id"]).astype(int),
    )
    columns = ["segment_id", "document", "case", "speaker", "position", "turn"]
    return out[[*columns, "start", "end", "text"]].set_index("segment_id")


def _turn_bounds(pos: pd.DataFrame) -> dict[tuple[str, int], tuple[int, int]]:
    """(document, turn) → (first, last) position of the kept segments of that turn."""
    grouped = pos.groupby(["document", "turn"])["position"].agg(["min", "max"])
    return {
        (str(d), int(t)): (int(lo), int(hi))
        for (d, t), lo, hi in zip(grouped.index, grouped["min"], grouped["max"], strict=True)
    }


def _role_of(facet: str, chains: dict[str, list[str]]) -> dict[str, str]:
    """code path → context | mechanism | outcome (its top-level cmo ancestor)."""
    out = {}
    for code, chain in chains.items():
        top = chain[-1]
        role = top.split("/", 1)[1] if top.startswith(f"{facet}/") else ""
        if role in ROLES:
            out[code] = role
    return out


def _bounds(
    anchor: _Place, scope: str, window: int, turns: dict[tuple[str, int], tuple[int, int]]
) -> tuple[int, int]:
    """The first and last position a partner of the anchor may sit at."""
    if scope == "segment":
        return anchor.position, anchor.position
    if scope == "turn":
        return turns[(anchor.document, anchor.turn)]
    return anchor.position - window, anchor.position + window


def _nearest(
    anchor: _Place,
    candidates: dict[str, list[tuple[int, int]]],
    bounds: tuple[int, int],
    prefer_after: bool,
) -> int | None:
    """The candidate segment closest to the anchor (the anchor itself first); a tie
    goes to the earlier segment for contexts and the later one for outcomes.
    ``candidates`` maps a document to its sorted ``(position, segment_id)`` pairs."""
    found = candidates.get(anchor.document, [])
    lo = bisect.bisect_left(found, (bounds[0], -1))
    hi = bisect.bisect_right(found, (bounds[1], sys.maxsize))
    best: tuple[tuple[int, int], int] | None = None
    for q, seg in found[lo:hi]:
        key = (abs(q - anchor.position), -q if prefer_after else q)
        if best is None or key < best[0]:
            best = (key, seg)
    return None if best is None else best[1]


def _label(paths: Iterable[str], names: dict[str, str]) -> str:
    return " + ".join(sorted(names.get(p, p.split("/", 1)[-1]) for p in paths))


def cmo_configurations(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    window: int = 1,
    within: str = "window",
    facet: str = "cmo",
    codebook: Codebook | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Candidate C–M–O chains per case, with their supporting quotes.

    Each segment coded with a *mechanism* code (``cmo/mechanism`` or a child) anchors a
    chain. Its context is the nearest segment coded *context*, its outcome the nearest
    coded *outcome*, looked for (the anchor itself first) among:

    - ``within="window"``: the ``window`` segments either side of the anchor in its
      document, counting only the segments the filters keep (interviewer turns are left
      out by default, so a question between two answers does not break a chain);
    - ``within="turn"``: the segments of the anchor's own speaker turn;
    - ``within="segment"``: the anchor segment only.

    A tie in distance goes to the earlier segment for a context and the later one for
    an outcome. Chains with a context or an outcome are kept; ``complete`` says both
    were found. Each part lists its cmo codes, the codes of other facets on the same
    segment (``themes``), its quote and offsets; ``pattern`` reads ``context →
    mechanism → outcome``, each part named by its cmo sub-codes, else its themes, else
    its role (``?`` when missing). Filters as in :func:`~qual_nlp.analysis.theme_matrix`
    (accepted codings by default).

    >>> cmo_configurations(codings, segments, window=1)  # doctest: +SKIP
    """
    if window < 0:
        raise ValidationError(f"cmo_configurations: window must be >= 0, got {window}.")
    if within not in SCOPES:
        raise ValidationError(
            f"cmo_configurations: within={within!r} is not one of {list(SCOPES)}. "
            "Fix: pick one of them."
        )
    filters.pop("facet", None)
    sel = select_codings(codings, segments, **filters)
    sel = sel[pd.to_numeric(sel["segment_id"], errors="coerce").notna()]
    sel = sel.assign(segment_id=pd.to_numeric(sel["segment_id"]).astype(int))
    roles = _role_of(facet, ancestor_map(codebook, sel["code"].unique()))
    in_cmo = sel["code"].isin(set(roles))
    cmo = sel[in_cmo].assign(r=sel.loc[in_cmo, "code"].map(roles))
    if cmo.empty:
        return _empty_chains()
    pos = _places(segments, filters)
    pos = pos[pos.index.isin(set(sel["segment_id"]))]
    places = {
        int(s): _Place(str(d), int(p), int(t))
        for s, d, p, t in zip(pos.index, pos["document"], pos["position"], pos["turn"], strict=True)
    }
    at: dict[str, dict[str, list[tuple[int, int]]]] = {r: {} for r in ROLES}
    for seg, role in sorted(set(zip(cmo["segment_id"], cmo["r"], strict=True))):
        if seg in places:
            at[role].setdefault(places[seg].document, []).append((places[seg].position, seg))
    for by_doc in at.values():
        for found in by_doc.values():
            found.sort()
    turns = _turn_bounds(pos)
    context = _Context(
        codes=cmo.groupby("segment_id")["code"].agg(set).to_dict(),
        themes=sel[~in_cmo].groupby("segment_id")["code"].agg(set).to_dict(),
        roles=roles,
        names={c.path: c.name for c in codebook.codes} if codebook is not None else {},
        pos=pos,
        facet=facet,
    )
    rows = []
    for _doc, anchors in sorted(at["mechanism"].items()):
        for _p, mech in anchors:
            anchor = places[mech]
            bounds = _bounds(anchor, within, window, turns)
            ctx = _nearest(anchor, at["context"], bounds, prefer_after=False)
            out = _nearest(anchor, at["outcome"], bounds, prefer_after=True)
            if ctx is not None or out is not None:
                rows.append(context.chain(ctx, mech, out))
    if not rows:
        return _empty_chains()
    frame = pd.DataFrame(rows, columns=list(CHAIN_COLUMNS))
    for column in CHAIN_COLUMNS:
        if column.endswith(("_segment", "_start", "_end")):
            frame[column] = frame[column].astype("Int64")
    return frame


def _empty_chains() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CHAIN_COLUMNS))


@dataclass(frozen=True)
class _Context:
    """What a chain row is made of: codes, themes and quotes of the segments."""

    codes: dict[int, set[str]]
    themes: dict[int, set[str]]
    roles: dict[str, str]
    names: dict[str, str]
    pos: pd.DataFrame
    facet: str

    def part(self, seg: int | None, role: str) -> dict[str, Any]:
        if seg is None:
            return {
                "segment": None,
                "codes": "",
                "themes": "",
                "quote": "",
                "start": None,
                "end": None,
            }
        codes = {c for c in self.codes.get(seg, set()) if self.roles.get(c) == role}
        return {
            "segment": seg,
            "codes": ", ".join(sorted(codes)),
            "themes": ", ".join(sorted(self.themes.get(seg, set()))),
            "quote": str(self.pos.at[seg, "text"]),
            "start": int(self.pos.at[seg, "start"]),
            "end": int(self.pos.at[seg, "end"]),
        }

    def name(self, seg: int | None, role: str) -> str:
        if seg is None:
            return "?"
        top = f"{self.facet}/{role}"
        sub = {c for c in self.codes.get(seg, set()) if self.roles.get(c) == role and c != top}
        if sub:
            return _label(sub, self.names)
        themes = self.themes.get(seg, set())
        return _label(themes, self.names) if themes else role

    def chain(self, ctx: int | None, mech: int, out: int | None) -> dict[str, Any]:
        parts = (ctx, mech, out)
        row: dict[str, Any] = {
            "case": self.pos.at[mech, "case"],
            "document": self.pos.at[mech, "document"],
            "speaker": self.pos.at[mech, "speaker"],
            "pattern": " → ".join(self.name(s, r) for s, r in zip(parts, ROLES, strict=True)),
            "complete": ctx is not None and out is not None,
        }
        for role, seg in zip(ROLES, parts, strict=True):
            row.update({f"{role}_{k}": v for k, v in self.part(seg, role).items()})
        return row


def cmo_summary(configs: pd.DataFrame) -> pd.DataFrame:
    """How many chains of each pattern each case has (zero-filled), with ``Total`` chains
    and ``Cases`` (how many cases show the pattern), most frequent first.

    >>> cmo_summary(cmo_configurations(codings, segments))  # doctest: +SKIP
    """
    if configs.empty:
        return pd.DataFrame(columns=["pattern", "complete", "Cases", "Total"])
    configs = configs.assign(case=configs["case"].astype(object).fillna("(none)"))
    table = configs.groupby(["pattern", "complete", "case"]).size().unstack("case", fill_value=0)
    cases = list(table.columns)
    table["Cases"] = (table[cases] > 0).sum(axis=1)
    table["Total"] = table[cases].sum(axis=1)
    table = table.sort_values(["Total", "Cases"], ascending=False, kind="stable").reset_index()
    table.columns.name = None
    return table[["pattern", "complete", *cases, "Cases", "Total"]]
