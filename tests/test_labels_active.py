"""Training labels from reviews, and the active-learning order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qual_nlp.suggest.active import priorities, suggestions
from qual_nlp.suggest.labels import decisions, facet_labels


def _codings(rows):
    cols = ["segment_id", "code", "coder", "coder_role", "status"]
    return pd.DataFrame(rows, columns=cols).astype({"segment_id": "Int64"})


def test_a_reviewed_segment_without_accepted_codes_is_a_none_example(tiny_codebook):
    codings = _codings([(1, "valence/barrier", "ana", "analyst", "accepted")])
    coverage = pd.DataFrame({"segment_id": [1, 2], "coder": ["ana", "ana"]})
    labels = facet_labels(codings, coverage, tiny_codebook)
    assert list(labels["valence"].segment_ids) == [1, 2]
    assert labels["valence"].labels == ["valence/barrier", "none"]
    assert labels["cmo"].labels == [(), ()]


def test_model_suggestions_are_never_training_labels(tiny_codebook):
    codings = _codings([(1, "valence/barrier", "model:x@1", "model", "suggested")])
    coverage = pd.DataFrame({"segment_id": [1], "coder": ["model:x@1"]})
    assert len(facet_labels(codings, coverage, tiny_codebook)["valence"]) == 0


def test_coders_are_combined_by_majority_and_consensus_overrides(tiny_codebook):
    codings = _codings(
        [
            (1, "cmo/context", "ana", "analyst", "accepted"),
            (1, "cmo/context", "bob", "analyst", "accepted"),
            (1, "cmo/outcome", "pat", "patient partner", "accepted"),
            (2, "cmo/outcome", "ana", "analyst", "accepted"),
            (2, "cmo/mechanism", "consensus", "consensus", "accepted"),
        ]
    )
    coverage = pd.DataFrame(
        {"segment_id": [1, 1, 1, 2, 2], "coder": ["ana", "bob", "pat", "ana", "pat"]}
    )
    shares = decisions(codings, coverage).set_index(["segment_id", "code"])["share"]
    assert shares[(1, "cmo/context")] == 2 / 3
    assert shares[(1, "cmo/outcome")] == 1 / 3
    assert (2, "cmo/outcome") not in shares.index, "consensus decides segment 2 alone"
    labels = facet_labels(codings, coverage, tiny_codebook)["cmo"]
    assert labels.labels == [("cmo/context",), ("cmo/mechanism",)]


def test_suggestions_take_the_argmax_for_exclusive_facets_and_thresholds_otherwise():
    valence = pd.DataFrame(
        {"valence/barrier": [0.6, 0.1], "valence/facilitator": [0.3, 0.2], "none": [0.1, 0.7]},
        index=[10, 11],
    )
    cmo = pd.DataFrame({"cmo/context": [0.9, 0.3], "cmo/outcome": [0.55, 0.45]}, index=[10, 11])
    out = suggestions(
        {"valence": valence, "cmo": cmo}, {"valence": True, "cmo": False}, {"cmo/outcome": 0.4}
    )
    got = sorted(zip(out.segment_id, out.code, strict=True))
    assert got == [
        (10, "cmo/context"),
        (10, "cmo/outcome"),
        (10, "valence/barrier"),
        (11, "cmo/outcome"),
    ]


def test_uncertainty_is_highest_where_the_model_hesitates():
    valence = pd.DataFrame(
        {
            "valence/barrier": [0.98, 0.45],
            "valence/facilitator": [0.01, 0.44],
            "none": [0.01, 0.11],
        },
        index=[1, 2],
    )
    cmo = pd.DataFrame({"cmo/context": [0.02, 0.01]}, index=[1, 2])
    pr = priorities({"valence": valence, "cmo": cmo}, {"valence": True, "cmo": False}, {})
    pr = pr.set_index("segment_id")
    assert pr.loc[2, "uncertainty"] > 0.95 > pr.loc[1, "uncertainty"]
    np.testing.assert_allclose(pr["relevance"], [0.99, 0.89])
