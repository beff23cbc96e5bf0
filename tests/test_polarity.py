"""Bipolar facets: the codebook's polarity block, its storage and edits, and the
zero-shot scorer reading stance along the pairs' direction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qual_nlp.codebook import builtin_codebook, dump_codebook, parse_codebook
from qual_nlp.codebook.edit import merge_codes, move_code, remove_code, rename_code
from qual_nlp.errors import CodebookError
from qual_nlp.ingest.language import sentence_language
from qual_nlp.records import Code
from qual_nlp.storage import Store
from qual_nlp.suggest import engine
from qual_nlp.suggest.embed import DictCache, Embedder
from qual_nlp.suggest.lexicon import sentiment
from qual_nlp.suggest.zeroshot import ENGLISH_NONE_PROTOTYPES, NONE, PrototypeScorer

PAIRS = """
      pairs:
        - ["It was hard to start.", "It was easy to start."]
        - ["The staff blocked us.", "The staff backed us."]
        - ["We never had time.", "We always had time."]
"""


def _yaml(polarity: str = "", exclusive: str = "true") -> str:
    return f"""
name: t
facets:
  - id: valence
    exclusive: {exclusive}
{polarity}
    codes:
      - {{id: barrier, definition: Something in the way.}}
      - {{id: facilitator, definition: Something that helps.}}
      - {{id: obstacle, definition: Another word for a barrier.}}
  - id: cmo
    exclusive: false
    codes:
      - {{id: context, definition: Circumstances.}}
"""


POLARITY = "    polarity:\n      negative: barrier\n      positive: facilitator" + PAIRS


def test_polarity_loads_and_round_trips():
    cb = parse_codebook(_yaml(POLARITY))
    polarity = cb.facets[0].polarity
    assert (polarity.negative, polarity.positive) == ("barrier", "facilitator")
    assert polarity.pairs[1] == ("The staff blocked us.", "The staff backed us.")
    assert cb.facets[1].polarity is None
    assert parse_codebook(dump_codebook(cb)) == cb


@pytest.mark.parametrize(
    ("polarity", "exclusive", "message"),
    [
        (POLARITY, "false", "needs an exclusive facet"),
        (
            POLARITY.replace("negative: barrier", "negative: context"),
            "true",
            "not a code of this facet",
        ),
        (POLARITY.replace("negative: barrier", "negative: facilitator"), "true", "the same code"),
        (
            POLARITY.replace('        - ["We never had time.", "We always had time."]\n', ""),
            "true",
            "needs at least 3",
        ),
        (
            POLARITY.replace(
                '["It was hard to start.", "It was easy to start."]', '["only one side"]'
            ),
            "true",
            "two statements",
        ),
        (POLARITY.replace("positive: facilitator", "positve: facilitator"), "true", "positve"),
        ("    polarity: barrier", "true", "should be a mapping"),
    ],
    ids=[
        "multi-label",
        "foreign-code",
        "same-code",
        "few-pairs",
        "bad-pair",
        "typo",
        "not-mapping",
    ],
)
def test_bad_polarity_is_reported_with_a_fix(polarity, exclusive, message):
    with pytest.raises(CodebookError, match=message) as err:
        parse_codebook(_yaml(polarity, exclusive), "study.yaml")
    assert "study.yaml" in str(err.value)


def test_polarity_follows_merges_and_is_dropped_when_a_pole_goes():
    cb = parse_codebook(_yaml(POLARITY))
    merged, _ = merge_codes(cb, ["barrier"], "obstacle")
    assert merged.facets[0].polarity.negative == "obstacle"
    both, _ = merge_codes(cb, ["barrier"], "facilitator")
    assert both.facets[0].polarity is None
    removed, _ = remove_code(cb, "facilitator")
    assert removed.facets[0].polarity is None
    moved, _ = move_code(cb, "barrier", None, "cmo")
    assert moved.facets[0].polarity is None
    renamed = rename_code(cb, "barrier", "Hindrance")
    assert renamed.facets[0].polarity == cb.facets[0].polarity


def test_polarity_is_stored_with_the_codebook(project_path):
    cb = parse_codebook(_yaml(POLARITY))
    store = Store.open(project_path, create=True)
    try:
        store.save_codebook(cb)
        assert store.load_codebook().facets[0].polarity == cb.facets[0].polarity
    finally:
        store.close()


def test_projects_on_the_builtin_codebook_gain_its_polarity_on_upgrade(project_path):
    from alembic import command

    from qual_nlp.storage.engine import _alembic_config

    store = Store.open(project_path, create=True)
    store.save_codebook(builtin_codebook())
    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002")
    store.close()
    again = Store.open(project_path)
    try:
        valence = again.load_codebook().facets[0]
    finally:
        again.close()
    # the migration gives the pairs the built-in codebook had then, in English; the French
    # pairs come with the next save of the built-in codebook
    builtin = builtin_codebook().facets[0].polarity
    english = tuple(p for p in builtin.pairs if sentence_language(p[0]) != "fr")
    assert valence.polarity == replace(builtin, pairs=english)


# ------------------------------------------------------------------- scorer
WORDS = {
    "hard": 0,
    "blocked": 0,
    "never": 0,
    "late": 0,
    "easy": 1,
    "backed": 1,
    "always": 1,
}


class StanceEncoder:
    """Bag-of-words vectors: dimension 0 carries 'negative' words, 1 'positive' ones,
    the rest hashed topic words — a fake with a known stance direction."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False):
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(".", "").split():
                out[i, WORDS.get(word, 2 + sum(map(ord, word)) % 14)] += 1.0
        return out


def _scorer(lexicon_weight: float = 0.0) -> tuple[PrototypeScorer, dict, dict]:
    cb = parse_codebook(_yaml(POLARITY))
    protos, exclusive = engine.prototypes(cb)
    embedder = Embedder("stance", model=StanceEncoder(), cache=DictCache())
    # the fake reads English words; French "no code" talk would land in its hashed buckets
    scorer = PrototypeScorer(
        embedder=embedder,
        lexicon_weight=lexicon_weight,
        min_words=0,
        none_prototypes=ENGLISH_NONE_PROTOTYPES,
    )
    return scorer, protos, exclusive


def test_stance_not_topic_chooses_between_the_two_codes():
    scorer, protos, exclusive = _scorer()
    plain = PrototypeScorer(
        embedder=scorer.embedder, min_words=0, none_prototypes=scorer.none_prototypes
    ).fit(protos, exclusive)
    scorer.fit(protos, exclusive, engine.polarities(parse_codebook(_yaml(POLARITY))))
    texts = ["the bus was always early", "the bus was never early", "the nurse was late"]
    X = scorer.embedder.encode(texts)
    got = scorer.predict_proba(X, texts)["valence"]
    assert got["valence/facilitator"].iloc[0] > got["valence/barrier"].iloc[0]
    assert got["valence/barrier"].iloc[1] > got["valence/facilitator"].iloc[1]
    assert got["valence/barrier"].iloc[2] > got["valence/facilitator"].iloc[2]
    # whether a segment is coded at all is left as it was
    before = plain.predict_proba(X, texts)["valence"]
    assert np.allclose(got[NONE], before[NONE])
    assert np.allclose(got["valence/obstacle"], before["valence/obstacle"])
    assert np.allclose(got.sum(axis=1), 1.0)


def test_lexical_sentiment_moves_the_choice_when_the_embedding_is_silent():
    cb = parse_codebook(_yaml(POLARITY))
    scorer, protos, exclusive = _scorer(lexicon_weight=2.0)
    scorer.fit(protos, exclusive, engine.polarities(cb))
    texts = ["what a wonderful team", "what a terrible team"]
    assert sentiment(texts)[0] > 0.3 and sentiment(texts)[1] < -0.3
    stance = scorer.stance("valence", scorer.embedder.encode(texts), texts)
    assert stance[1] - stance[0] > 2.0
    assert scorer.stance("valence", scorer.embedder.encode(texts))[0] == pytest.approx(
        scorer.stance("valence", scorer.embedder.encode(texts))[1]
    )


def test_the_lexicon_reads_only_segments_where_the_two_codes_hold_mass(monkeypatch):
    from qual_nlp.suggest import lexicon, zeroshot

    cb = parse_codebook(_yaml(POLARITY))
    scorer, protos, exclusive = _scorer(lexicon_weight=2.0)
    scorer.fit(protos, exclusive, engine.polarities(cb))
    texts = ["the bus was always early", "the bus was never early", "hello", "okay thanks"]
    X = scorer.embedder.encode(texts)
    read: list[str] = []

    def counting(batch):
        read.extend(batch)
        return sentiment(batch)

    monkeypatch.setattr(lexicon, "sentiment", counting)
    full = scorer.predict_proba(X, texts)["valence"]
    assert read == texts[:2]  # small talk holds no barrier/facilitator mass: never read
    read.clear()
    monkeypatch.setattr(zeroshot, "LEXICON_MIN_SHARE", 0.0)
    every = scorer.predict_proba(X, texts)["valence"]
    assert read == texts
    assert np.abs(full.to_numpy() - every.to_numpy()).max() <= 1e-3


def test_polarity_on_codes_the_scorer_does_not_know_is_refused():
    scorer, protos, exclusive = _scorer()
    with pytest.raises(Exception, match="polarity"):
        scorer.fit(
            protos, exclusive, {"valence": ("valence/nope", "valence/barrier", [("a", "b")])}
        )


def test_builtin_codebook_declares_barrier_facilitator_polarity():
    valence = builtin_codebook().facets[0]
    assert valence.polarity is not None
    assert (valence.polarity.negative, valence.polarity.positive) == ("barrier", "facilitator")
    assert len(valence.polarity.pairs) >= 20
    examples = {e for c in builtin_codebook().codes for e in c.examples}
    assert not examples & {s for pair in valence.polarity.pairs for s in pair}


def test_editing_a_code_definition_keeps_the_polarity():
    cb = parse_codebook(_yaml(POLARITY))
    codes = [replace(c, definition="Changed.") if c.id == "barrier" else c for c in cb.codes]
    assert replace(cb, codes=tuple(codes)).facets[0].polarity == cb.facets[0].polarity
    assert isinstance(cb.codes[0], Code)
