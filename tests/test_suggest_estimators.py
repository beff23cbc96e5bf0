"""The per-facet estimators, the zero-shot scorer and model files (fast; no encoder)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from qual_nlp.errors import ModelError, ValidationError
from qual_nlp.suggest.classifier import ExclusiveClassifier, MultiLabelClassifier
from qual_nlp.suggest.features import TextFeatures, pool_passages, split_passages
from qual_nlp.suggest.modelio import load_estimator, save_estimator
from qual_nlp.suggest.tuning import tune_offsets, tune_thresholds
from qual_nlp.suggest.zeroshot import NONE, PrototypeScorer


@parametrize_with_checks([ExclusiveClassifier(), MultiLabelClassifier()])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def _blobs(n_per: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = {"none": [0, 0, 0], "barrier": [3, 0, 0], "facilitator": [0, 3, 0]}
    sizes = {"none": n_per * 3, "barrier": n_per, "facilitator": n_per // 2}
    X = np.vstack([rng.normal(centres[k], 1.0, (sizes[k], 3)) for k in centres])
    y = np.concatenate([[k] * sizes[k] for k in centres])
    return X, y


def test_offsets_raise_macro_f1_of_rare_classes_on_out_of_fold_scores():
    rng = np.random.default_rng(1)
    y = np.array([0] * 80 + [1] * 20)
    # a biased scorer that under-predicts class 1
    p1 = np.clip(np.where(y == 1, 0.45, 0.25) + rng.normal(0, 0.08, len(y)), 0.01, 0.99)
    log_proba = np.log(np.column_stack([1 - p1, p1]))
    offsets = tune_offsets(log_proba, y)
    before = np.argmax(log_proba, axis=1)
    after = np.argmax(log_proba + offsets, axis=1)
    from sklearn.metrics import f1_score

    assert f1_score(y, after, average="macro") > f1_score(y, before, average="macro") + 0.2
    assert offsets[0] == 0.0


def test_thresholds_are_per_label_and_default_when_too_few_positives():
    proba = np.array([[0.9, 0.6], [0.3, 0.7], [0.2, 0.1], [0.1, 0.2]])
    Y = np.array([[1, 1], [1, 0], [0, 0], [0, 0]])
    cuts = tune_thresholds(proba, Y, min_positives=2)
    assert cuts[0] == pytest.approx(0.3)  # both positives kept, no negative above
    assert cuts[1] == 0.5  # one positive only: the default stays


def test_exclusive_classifier_predicts_each_class_and_probabilities_sum_to_one():
    X, y = _blobs()
    est = ExclusiveClassifier().fit(X, y)
    assert set(est.classes_) == {"barrier", "facilitator", "none"}
    proba = est.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert est.predict([[3, 0, 0], [0, 3, 0], [0, 0, 0]]).tolist() == [
        "barrier",
        "facilitator",
        "none",
    ]


def test_exclusive_classifier_refuses_one_class_with_the_fix():
    with pytest.raises(ValueError, match="Review more segments"):
        ExclusiveClassifier().fit(np.eye(3), ["a", "a", "a"])


def test_multilabel_classifier_learns_label_sets_and_keeps_constant_columns():
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (120, 4))
    sets = [
        tuple(
            sorted(
                ({"context"} if x[0] > 0.3 else set())
                | ({"mechanism"} if x[1] > 0.3 else set())
                | {"outcome"}
            )
        )
        for x in X
    ]
    est = MultiLabelClassifier().fit(X, sets)
    assert est.classes_.tolist() == ["context", "mechanism", "outcome"]
    assert est.thresholds_.shape == (3,)
    labels = est.predict_labels(np.array([[2.0, -2.0, 0, 0], [-2.0, 2.0, 0, 0]]))
    assert labels == [["context", "outcome"], ["mechanism", "outcome"]]
    assert est.predict_proba(X)[:, 2].min() == 1.0  # every row has "outcome"


@pytest.mark.parametrize("kind", ["exclusive", "multilabel", "features"])
def test_model_files_round_trip_without_pickle(kind):
    X, y = _blobs()
    if kind == "exclusive":
        est = ExclusiveClassifier().fit(X, y)
        before = est.predict_proba(X)
    elif kind == "multilabel":
        est = MultiLabelClassifier().fit(X, [(v,) if v != "none" else () for v in y])
        before = est.predict_proba(X)
    else:
        texts = ["no time for the plan", "the nurse calls me back", "the plan takes hours"] * 5
        est = TextFeatures(min_df=1).fit(texts)
        before = est.transform(np.ones((15, 3)), texts).toarray()
    blob = save_estimator(est)
    assert b"pickle" not in blob
    loaded = load_estimator(blob)
    after = (
        loaded.transform(np.ones((15, 3)), texts).toarray()
        if kind == "features"
        else loaded.predict_proba(X)
    )
    assert np.array_equal(before, after)


def test_model_files_refuse_foreign_classes_and_garbage():
    import io
    import json
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        tree = {
            "format": "qual_nlp-estimator/1",
            "estimator": {"__estimator__": "Popen", "params": {}, "fitted": {}},
        }
        zf.writestr("estimator.json", json.dumps(tree))
        np_buffer = io.BytesIO()
        np.savez(np_buffer)
        zf.writestr("arrays.npz", np_buffer.getvalue())
    with pytest.raises(ModelError, match="does not load"):
        load_estimator(buffer.getvalue())
    with pytest.raises(ModelError, match="not a qual_nlp model file"):
        load_estimator(b"not a zip")


def test_passages_and_pooling():
    text = "We had no time. " * 30
    passages = split_passages(text, max_words=20)
    assert all(len(p.split()) <= 20 for p in passages)
    assert " ".join(passages).split() == text.split()
    pooled = pool_passages(np.array([[1.0, 0.0], [0.0, 1.0]]), [1, 1], 3)
    assert pooled.tolist() == [[0, 0, 0, 0], [0.5, 0.5, 1, 1], [0, 0, 0, 0]]


class _BagOfWords:
    """A tiny deterministic encoder: unit vectors over a fixed vocabulary."""

    vocab = ["time", "plan", "hours", "support", "nurse", "trust", "weather", "coffee", "yes"]

    def encode(self, texts):
        out = np.zeros((len(texts), len(self.vocab)), dtype=np.float32)
        for i, text in enumerate(texts):
            words = text.lower().replace(".", " ").replace("?", " ").split()
            for j, v in enumerate(self.vocab):
                out[i, j] = sum(w.startswith(v) for w in words)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


PROTOS = {
    "valence": {
        "valence/barrier": ["Barrier: no time, the plan takes hours", "plan hours time"],
        "valence/facilitator": ["Facilitator: support from the nurse", "nurse trust support"],
    },
    "cmo": {
        "cmo/mechanism": ["trust in the nurse", "support trust"],
        "cmo/outcome": ["fewer hours in hospital", "hours plan"],
    },
}


def test_zero_shot_gives_valence_by_prototype_and_none_for_small_talk():
    scorer = PrototypeScorer(_BagOfWords(), min_words=3).fit(
        PROTOS, {"valence": True, "cmo": False}
    )
    texts = [
        "The plan takes hours and we have no time.",
        "The nurse gives real support, I trust her.",
        "Lovely weather, want a coffee?",
        "Yes.",
    ]
    proba = scorer.predict_proba(scorer.embedder.encode(texts), texts)
    valence = proba["valence"]
    assert list(valence.columns) == ["valence/barrier", "valence/facilitator", NONE]
    assert valence.idxmax(axis=1).tolist() == [
        "valence/barrier",
        "valence/facilitator",
        NONE,
        NONE,
    ]
    assert np.allclose(valence.sum(axis=1), 1.0)
    cmo = proba["cmo"]
    assert cmo.loc[1, "cmo/mechanism"] > 0.5 > cmo.loc[2].max()


def test_zero_shot_calibration_refits_on_reviewed_segments():
    scorer = PrototypeScorer(_BagOfWords()).fit(PROTOS, {"valence": True, "cmo": False})
    X = scorer.embedder.encode(["plan hours", "trust nurse", "plan time", "support"])
    coded = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    cal = scorer.calibrate("valence", X, coded)
    assert cal.slope > 0
    with pytest.raises(ValidationError, match="one row per segment"):
        scorer.calibrate("valence", X, coded[:2])


def test_zero_shot_refuses_a_code_without_text():
    with pytest.raises(ValidationError, match="definition"):
        PrototypeScorer(_BagOfWords()).fit({"valence": {"valence/x": [" "]}}, {"valence": True})


def test_a_segment_s_context_is_the_last_passage_of_the_turn_before():
    import pandas as pd

    from qual_nlp.project.inputs import with_context

    segments = pd.DataFrame(
        {
            "segment_id": [1, 2, 3, 4, 5, 6],
            "document": ["a", "a", "a", "a", "a", "b"],
            "start": [0, 5, 10, 20, 30, 0],
            "turn_index": [0, 1, 1, 2, 3, 0],
            "text": ["Why?", "Because.", "And so.", "Next?", "Yes.", "Notes."],
            "is_interviewer": [True, False, False, True, False, False],
        }
    )
    out = with_context(segments)
    assert out["segment_id"].tolist() == [2, 3, 5, 6]
    assert out["context"].tolist() == ["Why?", "Why?", "Next?", ""]


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_scoring_by_blocks_equals_scoring_the_stacked_matrix(kind):
    rng = np.random.default_rng(5)
    texts = [f"{w} plan nurse {i % 7}" for i, w in enumerate(["late", "kind", "car"] * 20)]
    vectors = rng.normal(size=(60, 5)).astype(np.float32)
    context = rng.normal(size=(60, 5)).astype(np.float32)
    features = TextFeatures(min_df=1).fit(texts)
    F = features.transform(vectors, texts, context)
    if kind == "multilabel":
        est = MultiLabelClassifier().fit(F, [("a",) if i % 3 else ("a", "b") for i in range(60)])
    else:
        n = 2 if kind == "binary" else 3
        est = ExclusiveClassifier().fit(F, np.array([f"c{i % n}" for i in range(60)]))
    blocks = features.blocks(vectors, texts, context)
    assert np.allclose(est.predict_proba_blocks(blocks), est.predict_proba(F), atol=1e-6)
