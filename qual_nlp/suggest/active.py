"""Active learning: turning per-facet probabilities into suggestions and a review order.

Inputs are plain DataFrames: for each facet, ``proba`` has one row per segment
(index = segment id) and one column per code path; exclusive facets also carry a
``none`` column. Thresholds map code paths to the score above which the code is
suggested (exclusive facets suggest their arg-max unless it is ``none``).

>>> import pandas as pd
>>> p = pd.DataFrame({"valence/barrier": [0.7, 0.2], "valence/facilitator": [0.2, 0.3],
...                   "none": [0.1, 0.5]}, index=[1, 2])
>>> suggestions({"valence": p}, {"valence": True}, {})["code"].tolist()
['valence/barrier']
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

NONE = "none"


def suggestions(
    proba: Mapping[str, pd.DataFrame],
    exclusive: Mapping[str, bool],
    thresholds: Mapping[str, float],
    *,
    default_threshold: float = 0.5,
    max_per_facet: int = 3,
) -> pd.DataFrame:
    """The codes a model proposes: columns segment_id, facet, code, score.

    A multi-label facet proposes at most ``max_per_facet`` codes per segment
    (the best-scoring ones above their thresholds), so a reviewer is never
    handed a long list of weak guesses.
    """
    frames = []
    for facet, p in proba.items():
        if p.empty:
            continue
        codes = [c for c in p.columns if c != NONE]
        if exclusive.get(facet, False):
            best = p.idxmax(axis=1)
            keep = best != NONE
            frames.append(
                pd.DataFrame(
                    {
                        "segment_id": p.index[keep],
                        "facet": facet,
                        "code": best[keep].to_numpy(),
                        "score": p.max(axis=1)[keep].to_numpy(),
                    }
                )
            )
        else:
            values = p[codes].to_numpy()
            cut = np.array([thresholds.get(c, default_threshold) for c in codes])
            rows, cols = np.nonzero(values >= cut)
            found = pd.DataFrame(
                {
                    "segment_id": p.index.to_numpy()[rows],
                    "facet": facet,
                    "code": np.array(codes, dtype=object)[cols],
                    "score": values[rows, cols],
                }
            )
            if max_per_facet and len(found):
                found = (
                    found.sort_values(["segment_id", "score"], ascending=[True, False])
                    .groupby("segment_id", sort=False)
                    .head(max_per_facet)
                )
            frames.append(found)
    if not frames:
        return pd.DataFrame(columns=["segment_id", "facet", "code", "score"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["segment_id", "facet", "score"], ascending=[True, True, False])


def priorities(
    proba: Mapping[str, pd.DataFrame],
    exclusive: Mapping[str, bool],
    thresholds: Mapping[str, float],
    *,
    default_threshold: float = 0.5,
) -> pd.DataFrame:
    """Per segment: ``uncertainty`` (0 sure … 1 undecided) and ``relevance`` (chance of any code).

    Exclusive facets: uncertainty = 1 − (top probability − runner-up); relevance
    = 1 − P(none). Multi-label facets: uncertainty = how close the most doubtful
    code is to its threshold; relevance = the highest code probability. A segment
    takes the maximum over facets of each.
    """
    us: list[pd.Series] = []
    rs: list[pd.Series] = []
    for facet, p in proba.items():
        if p.empty:
            continue
        codes = [c for c in p.columns if c != NONE]
        values = p.to_numpy(dtype=float)
        if exclusive.get(facet, False):
            ordered = np.sort(values, axis=1)
            runner_up = ordered[:, -2] if values.shape[1] > 1 else 0.0
            u = 1.0 - (ordered[:, -1] - runner_up)
            r = 1.0 - p[NONE].to_numpy() if NONE in p.columns else values.max(axis=1)
        else:
            sub = p[codes].to_numpy(dtype=float)
            cut = np.array([thresholds.get(c, default_threshold) for c in codes])
            span = np.maximum(cut, 1.0 - cut)
            u = (1.0 - np.abs(sub - cut) / span).max(axis=1)
            r = sub.max(axis=1)
        us.append(pd.Series(u, index=p.index))
        rs.append(pd.Series(r, index=p.index))
    if not us:
        return pd.DataFrame(columns=["segment_id", "uncertainty", "relevance"])
    uncertainty = pd.concat(us, axis=1).max(axis=1)
    relevance = pd.concat(rs, axis=1).max(axis=1).reindex(uncertainty.index)
    return pd.DataFrame(
        {
            "segment_id": uncertainty.index,
            "uncertainty": np.clip(uncertainty.to_numpy(), 0.0, 1.0),
            "relevance": np.clip(relevance.to_numpy(), 0.0, 1.0),
        }
    )
