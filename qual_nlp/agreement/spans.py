"""Character-overlap agreement for free-span codings (codings with no segment).

For a code and a pair of coders, the units are the characters of every
document *both* coders coded (a coder coded a document when they have an
accepted or rejected coding of any code in it). ``A`` and ``B`` are the sets of
characters each coder marked with the code in those documents; a character in
no one's span counts as agreed absent. Reported:

* ``overlap`` = ``|A ∩ B| / |A ∪ B|`` (NaN when neither coder used the code);
* ``cohen_kappa`` over characters: present/absent per character, the same
  formula as for segments (:func:`qual_nlp.agreement.stats.cohen_from`).

A document's length comes from ``lengths`` (name → number of characters);
without it, the last coded character of the document (over all codings) is
taken as its end, which leaves out the uncoded tail and so lowers κ a little.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from qual_nlp.agreement.stats import PairTally, cohen_from, single_threaded_blas
from qual_nlp.agreement.units import DEFAULT_STATUSES, select_coders
from qual_nlp.errors import ValidationError

__all__ = ["SPAN_COLUMNS", "span_agreement"]

SPAN_COLUMNS = (
    "code",
    "coder_a",
    "coder_b",
    "n_documents",
    "n_chars",
    "chars_a",
    "chars_b",
    "chars_both",
    "overlap",
    "cohen_kappa",
    "note",
)
REQUIRED = ("document", "start", "end", "code", "coder", "status")


def _mask(starts: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """Characters covered by any of the spans ``[start, end)``."""
    delta = np.zeros(length + 1, dtype=np.int64)
    np.add.at(delta, np.clip(starts, 0, length), 1)
    np.add.at(delta, np.clip(ends, 0, length), -1)
    return np.cumsum(delta[:-1]) > 0


def span_agreement(
    codings: pd.DataFrame,
    *,
    coders: Sequence[str] | None = None,
    code: str | None = None,
    lengths: Mapping[str, int] | None = None,
    include_segment_codings: bool = False,
    statuses: Sequence[str] = DEFAULT_STATUSES,
) -> pd.DataFrame:
    """Character overlap and character-level Cohen's κ per code and coder pair.

    Only free-span codings (``segment_id`` missing) count unless
    ``include_segment_codings``. Columns: :data:`SPAN_COLUMNS`.

    >>> codings = pd.DataFrame({"segment_id": None, "document": "d1", "start": [0, 5],
    ...     "end": [10, 10], "code": "cmo/context", "coder": ["ana", "bob"],
    ...     "status": "accepted"})
    >>> span_agreement(codings, lengths={"d1": 20})[["overlap", "cohen_kappa"]].to_dict("list")
    {'overlap': [0.5], 'cohen_kappa': [0.5]}
    """
    missing = [c for c in REQUIRED if c not in codings.columns]
    if missing:
        raise ValidationError(
            f"codings: expected columns {list(REQUIRED)} for span agreement, missing {missing}. "
            "Pass the frame Project.codings() returns."
        )
    chosen = select_coders(codings, None, coders, statuses)
    index = {c: i for i, c in enumerate(chosen)}
    n = len(chosen)
    mine = codings[codings["coder"].isin(chosen)]
    seen = mine[mine["status"].isin((*statuses, "rejected"))]
    spans = mine[mine["status"].isin(tuple(statuses))]
    if not include_segment_codings and "segment_id" in spans.columns:
        spans = spans[spans["segment_id"].isna()]
    if code is not None:
        spans = spans[spans["code"] == code]
    codes = sorted(set(spans["code"].unique())) if code is None else [code]

    ends = codings.groupby("document")["end"].max()
    guessed: list[str] = []
    n_chars = np.zeros((n, n))
    n_docs = np.zeros((n, n))
    both_of: dict[str, np.ndarray] = {}
    length_of: dict[str, int] = {}
    for document, who in seen.groupby("document")["coder"]:
        covers = np.zeros(n, dtype=bool)
        covers[[index[c] for c in who.unique()]] = True
        both = np.outer(covers, covers)
        if lengths is not None and document in lengths:
            length = int(lengths[document])
        else:
            length = int(ends[document])
            guessed.append(str(document))
        both_of[str(document)], length_of[str(document)] = both, length
        n_chars += both * length
        n_docs += both

    size_a = {c: np.zeros((n, n)) for c in codes}
    inter = {c: np.zeros((n, n)) for c in codes}
    for (name, document), rows in spans.groupby(["code", "document"]):
        length, both = length_of[str(document)], both_of[str(document)]
        masks = np.zeros((n, length), dtype=np.float64)
        for coder, own in rows.groupby("coder"):
            masks[index[str(coder)]] = _mask(
                own["start"].to_numpy(np.int64), own["end"].to_numpy(np.int64), length
            )
        sizes = masks.sum(axis=1)
        size_a[str(name)] += both * sizes[:, None]
        with single_threaded_blas():
            inter[str(name)] += both * (masks @ masks.T)

    rows_out = []
    upper = np.triu_indices(n, k=1)
    for name in codes:
        a, ab = size_a[name], inter[name]
        b = a.T
        pairs = PairTally(
            n_chars,
            n_chars - a - b + 2 * ab,
            np.stack([n_chars - a, a], axis=-1),
            np.stack([n_chars - b, b], axis=-1),
        )
        kappa = cohen_from(pairs)
        with np.errstate(invalid="ignore", divide="ignore"):
            overlap = np.where(a + b - ab > 0, ab / (a + b - ab), np.nan)
        for i, j in zip(*upper, strict=True):
            notes = []
            if n_docs[i, j] == 0:
                notes.append("no document coded by both coders")
            elif a[i, j] + b[i, j] == 0:
                notes.append("neither coder used the code in the documents both coded")
            if guessed:
                notes.append("length of some documents taken as their last coded character")
            rows_out.append(
                {
                    "code": name,
                    "coder_a": chosen[i],
                    "coder_b": chosen[j],
                    "n_documents": int(n_docs[i, j]),
                    "n_chars": int(n_chars[i, j]),
                    "chars_a": int(a[i, j]),
                    "chars_b": int(b[i, j]),
                    "chars_both": int(ab[i, j]),
                    "overlap": float(overlap[i, j]),
                    "cohen_kappa": float(kappa[i, j]),
                    "note": "; ".join(notes),
                }
            )
    return pd.DataFrame(rows_out, columns=list(SPAN_COLUMNS))
