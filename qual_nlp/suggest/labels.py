"""Training labels from human codings: what the reviewers decided, segment by segment.

A human coder "covered" a segment when they reviewed it (the review log) or
coded it. On a covered segment, every code they did not accept counts as a
"no" for that coder — rejected suggestions included, which is why rejections are
kept. Several coders are combined by majority per code; a ``consensus`` coder,
where present, decides alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qual_nlp.records import Codebook

NONE = "none"


@dataclass(frozen=True)
class FacetLabels:
    """Targets for one facet: single labels (exclusive) or label sets (multi-label)."""

    facet: str
    exclusive: bool
    segment_ids: np.ndarray
    labels: list  # list[str] (exclusive, "none" included) or list[tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.segment_ids)


def human_coverage(codings: pd.DataFrame, coverage: pd.DataFrame | None) -> pd.DataFrame:
    """(segment_id, coder) pairs covered by human coders: reviews plus coded segments."""
    human = codings[(codings["coder_role"] != "model") & codings["segment_id"].notna()]
    decided = human[human["status"].isin(["accepted", "rejected"])][["segment_id", "coder"]]
    parts = [decided]
    if coverage is not None and not coverage.empty:
        models = set(codings.loc[codings["coder_role"] == "model", "coder"])
        parts.append(coverage[~coverage["coder"].isin(models)][["segment_id", "coder"]])
    both = pd.concat(parts, ignore_index=True).drop_duplicates()
    both["segment_id"] = both["segment_id"].astype("int64")
    return both


def decisions(codings: pd.DataFrame, coverage: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per covered segment and code: the share of deciding coders who accepted it.

    Columns: segment_id, code, share (0…1). Segments with a consensus coder use
    the consensus alone. Codes nobody accepted on a covered segment do not appear
    (their share is 0).
    """
    covered = human_coverage(codings, coverage)
    if covered.empty:
        return pd.DataFrame(columns=["segment_id", "code", "share"])
    has_consensus = set(covered.loc[covered["coder"] == "consensus", "segment_id"])
    covered = covered[
        ~covered["segment_id"].isin(has_consensus) | (covered["coder"] == "consensus")
    ]
    n_coders = covered.groupby("segment_id")["coder"].nunique()
    accepted = codings[(codings["status"] == "accepted") & (codings["coder_role"] != "model")]
    accepted = accepted.dropna(subset=["segment_id"]).astype({"segment_id": "int64"})
    accepted = accepted.merge(covered, on=["segment_id", "coder"])
    votes = accepted.groupby(["segment_id", "code"])["coder"].nunique().rename("votes")
    out = votes.reset_index()
    out["share"] = out["votes"] / out["segment_id"].map(n_coders)
    return out[["segment_id", "code", "share"]]


def facet_labels(
    codings: pd.DataFrame, coverage: pd.DataFrame | None, codebook: Codebook
) -> dict[str, FacetLabels]:
    """Targets per facet, over every segment a human covered."""
    covered = human_coverage(codings, coverage)
    segment_ids = np.array(sorted(set(covered["segment_id"])), dtype=np.int64)
    votes = decisions(codings, coverage)
    votes = votes[votes["share"] >= 0.5]
    facet_of = {c.path: c.facet for c in codebook.codes}
    votes = votes.assign(facet=votes["code"].map(facet_of)).dropna(subset=["facet"])
    out: dict[str, FacetLabels] = {}
    for facet in codebook.facets:
        mine = votes[votes["facet"] == facet.id].sort_values("share", ascending=False)
        per_segment = mine.groupby("segment_id")["code"].apply(list).to_dict()
        if facet.exclusive:
            labels: list = [per_segment.get(int(s), [NONE])[0] for s in segment_ids]
        else:
            labels = [tuple(sorted(per_segment.get(int(s), []))) for s in segment_ids]
        out[facet.id] = FacetLabels(facet.id, facet.exclusive, segment_ids, labels)
    return out
