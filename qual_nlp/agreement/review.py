"""Where coders disagree, and what the majority would propose as consensus."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from qual_nlp.agreement.units import DEFAULT_STATUSES, reliability_data, select_coders
from qual_nlp.records import Codebook

__all__ = ["DISAGREEMENT_COLUMNS", "PROPOSAL_COLUMNS", "disagreements", "majority_proposal"]

DISAGREEMENT_COLUMNS = (
    "segment_id",
    "document",
    "case",
    "text",
    "n_coders",
    "n_split",
    "entropy",
    "split_codes",
    "codes_by_coder",
    "memos_by_coder",
)
PROPOSAL_COLUMNS = ("facet", "code", "votes", "n_coders", "share", "proposed", "tie", "coders")


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(h)


def _rows_as_lists(mask: np.ndarray) -> list[list[int]]:
    """Column indices of the True cells of each row."""
    rows, cols = np.nonzero(mask)
    bounds = np.searchsorted(rows, np.arange(len(mask) + 1)).tolist()
    flat = cols.tolist()
    return [flat[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _segment_info(codings: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame:
    """document, case and text per segment id: from ``segments`` if given, else codings."""
    columns = ["document", "case", "text"]
    frames = []
    for part in (segments, codings):
        if part is not None:
            have = [c for c in columns if c in part.columns]
            frame = part.loc[part["segment_id"].notna(), ["segment_id", *have]]
            frames.append(frame.astype({"segment_id": "int64"}))
    info = pd.concat(frames).drop_duplicates("segment_id").set_index("segment_id")
    return info.reindex(columns=columns)


def disagreements(
    codings: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
    *,
    coders: Sequence[str] | None = None,
    facet: str | None = None,
    codebook: Codebook | None = None,
    segments: pd.DataFrame | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
) -> pd.DataFrame:
    """Segments on which coders split, most divided first.

    A code is *split* on a segment when some but not all of the coders who
    reviewed it applied the code. Rows are sorted by ``n_split`` (how many codes
    are split), then ``entropy`` (the sum over codes of the binary entropy, in
    bits, of the share of coders applying it), then segment id.
    ``codes_by_coder`` maps each reviewing coder to the codes they applied
    (``[]`` for none); ``memos_by_coder`` maps coders to their memos.

    >>> codings = pd.DataFrame({"segment_id": [1, 1, 2], "coder": ["ana", "bob", "ana"],
    ...     "code": ["cmo/context", "cmo/outcome", "cmo/context"], "status": "accepted"})
    >>> coverage = pd.DataFrame({"segment_id": [1, 1, 2, 2], "coder": ["ana", "bob"] * 2})
    >>> disagreements(codings, coverage)[["segment_id", "n_split"]].to_dict("list")
    {'segment_id': [1, 2], 'n_split': [2, 1]}
    """
    data = reliability_data(
        codings, coverage, coders=coders, facet=facet, codebook=codebook, statuses=statuses
    )
    rated = data.covered.sum(axis=1)
    split = np.zeros((len(data.units), len(data.codes)), dtype=bool)
    entropy = np.zeros(len(data.units))
    for j, code in enumerate(data.codes):
        present = (data.presence(code) == 1).sum(axis=1)
        split[:, j] = (rated >= 2) & (present > 0) & (present < rated)
        with np.errstate(invalid="ignore", divide="ignore"):
            entropy += np.where(split[:, j], _binary_entropy(present / rated), 0.0)
    n_split = split.sum(axis=1)
    chosen = np.flatnonzero(n_split > 0)
    is_chosen = n_split > 0

    # codes each reviewing coder applied (data.codes is sorted, so the lists are too)
    applied: dict[tuple[int, int], list[str]] = {}
    for code in data.codes:
        units, coders_hit = data.hits.get(code, (np.empty(0, int), np.empty(0, int)))
        keep = is_chosen[units]
        for key in zip(units[keep].tolist(), coders_hit[keep].tolist(), strict=True):
            applied.setdefault(key, []).append(code)
    memo_of: dict[tuple[int, str], str] = {}
    if "memo" in codings.columns:
        noted = codings[
            codings["coder"].isin(data.coders)
            & codings["status"].isin((*statuses, "rejected"))
            & codings["segment_id"].isin(data.units[chosen])
            & (codings["memo"].fillna("").astype(str).str.strip() != "")
        ]
        if facet is not None:
            noted = noted[noted["code"].astype(str).str.split("/", n=1).str[0] == facet]
        for sid, coder, memo in zip(
            noted["segment_id"].tolist(),
            noted["coder"].tolist(),
            noted["memo"].tolist(),
            strict=True,
        ):
            known = memo_of.get((int(sid), coder))
            if known is None:
                memo_of[int(sid), coder] = str(memo)
            elif str(memo) not in known.split("\n"):
                memo_of[int(sid), coder] = f"{known}\n{memo}"

    ids = data.units[chosen]
    info = _segment_info(codings, segments).reindex(ids)
    reviewers = _rows_as_lists(data.covered[chosen])
    splits = _rows_as_lists(split[chosen])
    codes_by_coder, memos_by_coder = [], []
    for u, sid, who in zip(chosen.tolist(), ids.tolist(), reviewers, strict=True):
        names = [data.coders[c] for c in who]
        codes_by_coder.append({n: applied.get((u, c), []) for n, c in zip(names, who, strict=True)})
        memos_by_coder.append({n: memo_of[sid, n] for n in names if (sid, n) in memo_of})
    n_coders = [len(who) for who in reviewers]
    split_codes = [[data.codes[j] for j in row] for row in splits]
    frame = pd.DataFrame(
        {
            "segment_id": ids,
            "document": info["document"].to_numpy(object),
            "case": info["case"].to_numpy(object),
            "text": info["text"].to_numpy(object),
            "n_coders": np.asarray(n_coders, dtype=np.int64),
            "n_split": n_split[chosen],
            "entropy": entropy[chosen],
            "split_codes": split_codes,
            "codes_by_coder": codes_by_coder,
            "memos_by_coder": memos_by_coder,
        },
        columns=list(DISAGREEMENT_COLUMNS),
    )
    return frame.sort_values(
        ["n_split", "entropy", "segment_id"], ascending=[False, False, True], ignore_index=True
    )


def majority_proposal(
    codings: pd.DataFrame,
    unit: int,
    *,
    coverage: pd.DataFrame | None = None,
    coders: Sequence[str] | None = None,
    codebook: Codebook | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
) -> pd.DataFrame:
    """A consensus to pre-fill for one segment: each code the majority applied.

    One row per code some coder applied: ``votes`` (coders applying it),
    ``n_coders`` (coders who reviewed the segment), ``share``, ``proposed``
    (share above one half), ``tie`` and the ``coders`` who applied it. A code
    is a tie when exactly half the coders applied it or, in an exclusive facet,
    when it shares the most votes with another code (a 1–1–1 split is a tie of
    three). In an exclusive facet at most one code is proposed. The frame
    is empty when no reviewing coder applied any code (the proposal is "no
    code") or no one reviewed the segment.

    >>> codings = pd.DataFrame({"segment_id": [7, 7, 7], "coder": ["ana", "bob", "pat"],
    ...     "code": ["cmo/context", "cmo/context", "cmo/outcome"], "status": "accepted"})
    >>> coverage = pd.DataFrame({"segment_id": [7, 7, 7, 7], "coder": ["ana", "bob", "pat", "lee"]})
    >>> majority_proposal(codings, 7, coverage=coverage)[["code", "votes", "proposed"]].to_dict("list")
    {'code': ['cmo/context', 'cmo/outcome'], 'votes': [2, 1], 'proposed': [False, False]}
    """
    if coders is not None:  # names are checked against the whole project, not this segment
        select_coders(codings, coverage, coders, statuses)
    codings = codings[codings["segment_id"] == unit]
    if coverage is not None:
        coverage = coverage[coverage["segment_id"] == unit]
    if coders is not None:  # coders who did not review this segment have no vote on it
        here = set(codings["coder"]) | (set(coverage["coder"]) if coverage is not None else set())
        coders = [c for c in coders if c in here]
    if (coders is not None and not coders) or (
        codings.empty and (coverage is None or coverage.empty)
    ):
        return pd.DataFrame(columns=list(PROPOSAL_COLUMNS))
    data = reliability_data(codings, coverage, coders=coders, codebook=codebook, statuses=statuses)
    rows = []
    n_coders = int(data.covered.sum()) if len(data.units) else 0
    for code in data.codes:
        units, who = data.hits.get(code, (np.empty(0, int), np.empty(0, int)))
        if not len(units):
            continue
        votes = len(who)
        rows.append(
            {
                "facet": code.split("/", 1)[0],
                "code": code,
                "votes": votes,
                "n_coders": n_coders,
                "share": votes / n_coders,
                "proposed": votes * 2 > n_coders,
                "tie": votes * 2 == n_coders,
                "coders": sorted(data.coders[c] for c in who),
            }
        )
    frame = pd.DataFrame(rows, columns=list(PROPOSAL_COLUMNS))
    for name in data.exclusive:
        mine = frame["facet"] == name
        top = frame.loc[mine, "votes"].max() if mine.any() else 0
        leaders = mine & (frame["votes"] == top)
        frame.loc[mine & ~leaders, "proposed"] = False
        if leaders.sum() > 1:
            frame.loc[leaders, "proposed"] = False
            frame.loc[leaders, "tie"] = True
    return frame.astype({"proposed": bool, "tie": bool})
