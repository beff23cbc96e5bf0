"""French in the built-in codebook: prototypes for a multilingual encoder, and none of
them for an English-only one (where they would only blur the scores)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qual_nlp.codebook import builtin_codebook, get_code
from qual_nlp.ingest.language import sentence_language
from qual_nlp.suggest import engine
from qual_nlp.suggest.zeroshot import NONE_PROTOTYPES

ENGLISH = frozenset({"en"})


def _without_french(cb):
    """The built-in codebook as it was before French: English examples and pairs only."""
    codes = tuple(
        replace(c, examples=tuple(e for e in c.examples if sentence_language(e) != "fr"))
        for c in cb.codes
    )
    facets = tuple(
        replace(
            f,
            polarity=replace(
                f.polarity,
                pairs=tuple(p for p in f.polarity.pairs if sentence_language(p[0]) != "fr"),
            ),
        )
        if f.polarity
        else f
        for f in cb.facets
    )
    return replace(cb, codes=codes, facets=facets)


def test_every_code_has_a_french_definition_and_french_quotes():
    barrier = get_code(builtin_codebook(), "barrier")
    french = [e for e in barrier.examples if sentence_language(e) == "fr"]
    assert french[0].startswith("Obstacle : tout ce que la personne présente comme nuisant")
    assert (
        "Y a des médecins qui référaient personne. Ils disaient oui, oui, bonne idée, pis après, rien."
        in french
    )


def test_the_valence_facet_has_french_pairs_of_opposite_stance():
    valence = next(f for f in builtin_codebook().facets if f.id == "valence")
    french = [p for p in valence.polarity.pairs if sentence_language(p[0]) == "fr"]
    assert len(french) >= 12
    assert all(sentence_language(p[1]) == "fr" for p in french)
    assert ("La formation servait à rien.", "La formation était vraiment utile.") in french


def test_uncodable_talk_has_french_prototypes():
    for text in ("Oui.", "Hum-hum.", "Ouin.", "Bon, on passe à la question suivante."):
        assert text in NONE_PROTOTYPES


def test_an_english_only_encoder_gets_exactly_the_english_prototypes():
    cb = builtin_codebook()
    english, _ = engine.prototypes(_without_french(cb))
    assert engine.prototypes(cb, ENGLISH)[0] == english
    assert engine.polarities(cb, ENGLISH) == engine.polarities(_without_french(cb))
    assert engine.covered(NONE_PROTOTYPES, ENGLISH) == [
        t for t in NONE_PROTOTYPES if sentence_language(t) != "fr"
    ]


def test_a_multilingual_encoder_gets_every_prototype():
    cb = builtin_codebook()
    everything, _ = engine.prototypes(cb, None)
    barrier = everything["valence"]["valence/barrier"]
    assert (
        "Honnêtement, le plus gros problème, c'était le temps. J'avais quarante patients pis pas une heure protégée pour faire les plans."
        in barrier
    )
    assert len(engine.polarities(cb, None)["valence"][2]) == len(
        next(f for f in cb.facets if f.id == "valence").polarity.pairs
    )


def test_a_text_too_short_to_tell_is_kept_for_every_encoder():
    assert engine.covered(["Mm-hm.", "Oui.", "On avait jamais le temps."], ENGLISH) == [
        "Mm-hm.",
        "Oui.",
    ]


@pytest.mark.slow
def test_french_examples_do_not_move_the_english_encoders_zero_shot_scores():
    from qual_nlp.suggest.embed import Embedder

    embedder = Embedder("all-MiniLM-L6-v2", backend="torch")
    texts = [
        "The referral forms took far too long, we could not keep up with them.",
        "Having the nurse down the hall from the doctors made it really easy to talk.",
    ]
    X = embedder.encode(texts)
    cb = builtin_codebook()
    with_french = engine.zero_shot(cb, embedder, X, [1, 2], texts)
    without = engine.zero_shot(_without_french(cb), embedder, X, [1, 2], texts)
    for facet, frame in with_french.items():
        np.testing.assert_allclose(frame.to_numpy(), without[facet].to_numpy(), atol=1e-6)


class _Crowding:
    """A fake encoder that, like an encoder meeting a second language, puts French texts
    close to one another whatever they say, and English texts apart."""

    name = "crowding"

    def encode(self, texts):
        rows = []
        for text in texts:
            seed = int.from_bytes(text.encode("utf-8")[:8].ljust(8, b"\0"), "little")
            v = np.random.default_rng(seed % (2**32)).normal(size=16)
            if sentence_language(text) == "fr":
                v = 0.3 * v + np.r_[5.0, np.zeros(15)]
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def test_examples_in_a_second_language_do_not_raise_the_calibration_centre():
    from qual_nlp.suggest.zeroshot import PrototypeScorer

    cb = builtin_codebook()

    def centre(codebook):
        protos, exclusive = engine.prototypes(codebook)
        scorer = PrototypeScorer(embedder=_Crowding()).fit(protos, exclusive)
        return {f: c.centre for f, c in scorer.calibration_.items()}

    english, both = centre(_without_french(cb)), centre(cb)
    for facet, value in both.items():
        assert value <= english[facet] + 1e-6, facet
