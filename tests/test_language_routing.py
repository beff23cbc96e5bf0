"""Passages in a language the model hardly saw in training are scored by its portable
estimators (sentence vectors only), not by word n-grams of another language."""

from __future__ import annotations

import numpy as np
import pytest

from qual_nlp.records import Code, Codebook, Facet
from qual_nlp.suggest import engine
from qual_nlp.suggest.labels import FacetLabels

CODEBOOK = Codebook(
    "t",
    (Facet("valence", "Valence", True), Facet("cmo", "CMO", False)),
    (
        Code("barrier", "valence", "Barrier", definition="An obstacle."),
        Code("facilitator", "valence", "Facilitator", definition="Help."),
        Code("context", "cmo", "Context", definition="Circumstances."),
        Code("outcome", "cmo", "Outcome", definition="Result."),
    ),
)


def _data(n: int = 120, seed: int = 0):
    """English rows whose words and vectors both tell the label; vectors are 8-d."""
    rng = np.random.default_rng(seed)
    y = np.array(["barrier", "facilitator", "none"] * (n // 3))
    centres = {"barrier": 0, "facilitator": 1, "none": 2}
    X = rng.normal(0, 0.3, (n, 8)).astype(np.float32)
    for i, label in enumerate(y):
        X[i, centres[label]] += 2.0
    words = {"barrier": "no time short staff", "facilitator": "great help team", "none": "ok"}
    texts = [f"{words[label]} row{i}" for i, label in enumerate(y)]
    cmo = [("cmo/context",) if label == "barrier" else ("cmo/outcome",) if label == "facilitator"
           else () for label in y]  # fmt: skip
    ids = np.arange(n)
    labels = {
        "valence": FacetLabels(
            "valence", True, ids, [f"valence/{v}" if v != "none" else "none" for v in y]
        ),
        "cmo": FacetLabels("cmo", False, ids, cmo),
    }
    return X, texts, ids, labels, y


def test_foreign_rows_are_scored_by_the_portable_estimators_and_known_rows_are_not():
    X, texts, ids, labels, _ = _data()
    model = engine.train(
        CODEBOOK, X, ids, labels, "enc", texts=texts, context=None, cross_validate=False,
        languages=["en"] * len(ids),
    )  # fmt: skip
    assert model.languages == {"en": len(ids)}
    assert set(model.portable) == set(model.facets) == {"valence", "cmo"}
    # the same vectors, once under English words and once under French ones
    Xt = X[:30]
    french = [f"phrase {i}" for i in range(30)]
    as_en = engine.predict(model, Xt, list(range(30)), french, languages=["en"] * 30)
    as_fr = engine.predict(model, Xt, list(range(30)), french, languages=["fr"] * 30)
    unknown = engine.predict(model, Xt, list(range(30)), french, languages=[None] * 30)
    portable = model.portable["valence"].estimator
    blocks = [(Xt, 1.0), (np.zeros_like(Xt), model.features.context_weight)]
    expected = portable.predict_proba_blocks(blocks)
    order = [list(portable.classes_).index(c) for c in model.facets["valence"].estimator.classes_]
    assert np.allclose(as_fr["valence"].to_numpy(), expected[:, order])
    assert not np.allclose(as_en["valence"].to_numpy(), as_fr["valence"].to_numpy())
    assert np.allclose(unknown["valence"].to_numpy(), as_en["valence"].to_numpy())
    # vectors alone still read the label where the English words are missing
    truth = np.array(["barrier", "facilitator", "none"] * 10)
    chosen = as_fr["valence"].idxmax(axis=1).str.split("/").str[-1].to_numpy()
    assert (chosen == truth).mean() > 0.9


def test_portable_multilabel_scores_cross_the_main_threshold_where_their_own_does():
    X, texts, ids, labels, _ = _data()
    model = engine.train(
        CODEBOOK, X, ids, labels, "enc", texts=texts, cross_validate=False,
        languages=["en"] * len(ids),
    )  # fmt: skip
    Xt = X[:30]
    out = engine.predict(model, Xt, list(range(30)), ["x"] * 30, languages=["fr"] * 30)["cmo"]
    main, portable = model.facets["cmo"].estimator, model.portable["cmo"].estimator
    raw = portable.predict_proba_blocks([(Xt, 1.0), (np.zeros_like(Xt), 0.5)])
    for j, code in enumerate(main.classes_):
        k = list(portable.classes_).index(code)
        own = raw[:, k] >= portable.thresholds_[k]
        moved = out[code].to_numpy() >= main.thresholds_[j]
        assert (own == moved).all()


def test_a_language_with_enough_training_rows_keeps_the_word_features():
    X, texts, ids, labels, _ = _data()
    half = ["en"] * 60 + ["fr"] * 60
    model = engine.train(
        CODEBOOK, X, ids, labels, "enc", texts=texts, cross_validate=False, languages=half
    )
    assert not model.foreign(["fr", "en", None]).any()
    assert model.foreign(["de"]).all()
    few = ["en"] * (len(ids) - engine.MIN_LANGUAGE_ROWS + 1) + ["fr"] * (
        engine.MIN_LANGUAGE_ROWS - 1
    )
    assert (
        engine.train(
            CODEBOOK, X, ids, labels, "enc", texts=texts, cross_validate=False, languages=few
        )
        .foreign(["fr"])
        .all()
    )


def test_the_portable_estimators_and_languages_survive_saving():
    X, texts, ids, labels, _ = _data()
    model = engine.train(
        CODEBOOK, X, ids, labels, "enc", texts=texts, cross_validate=False,
        languages=["en"] * len(ids),
    )  # fmt: skip
    again = engine.loads(engine.dumps(model))
    assert again.languages == model.languages and set(again.portable) == set(model.portable)
    args = (X[:12], list(range(12)), texts[:12])
    for language in ("en", "fr"):
        a = engine.predict(model, *args, languages=[language] * 12)
        b = engine.predict(again, *args, languages=[language] * 12)
        for facet in a:
            assert np.allclose(a[facet].to_numpy(), b[facet].to_numpy())


@pytest.mark.parametrize("languages", [None, ["fr"] * 12])
def test_a_model_saved_before_portable_estimators_scores_every_row_as_before(languages):
    X, texts, ids, labels, _ = _data()
    model = engine.train(CODEBOOK, X, ids, labels, "enc", texts=texts, cross_validate=False)
    assert model.languages == {}  # languages unknown: no row is foreign
    model.portable = {}
    out = engine.predict(model, X[:12], list(range(12)), texts[:12], languages=languages)
    ref = engine.predict(model, X[:12], list(range(12)), texts[:12])
    assert np.allclose(out["valence"].to_numpy(), ref["valence"].to_numpy())
