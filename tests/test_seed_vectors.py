"""Shipped prototype vectors of the built-in codebooks."""

from __future__ import annotations

import numpy as np
import pytest

from qual_nlp.suggest.embed import DictCache, Embedder, text_key
from qual_nlp.suggest.seed_vectors import (
    SHIPPED,
    SeededCache,
    codebook_texts,
    load_seed,
    seed_path,
)


def _vec(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def test_seeded_cache_prefers_the_project_and_writes_only_to_it():
    primary = DictCache()
    primary.put_many({"a": _vec(1, 0)}, "enc")
    seed = {"a": _vec(0, 1), "b": _vec(0.6, 0.8)}
    cache = SeededCache(primary, seed)
    found = cache.get_many(["a", "b", "c"], "enc")
    assert set(found) == {"a", "b"}
    assert found["a"].tolist() == [1, 0]  # the project's own vector wins
    cache.put_many({"c": _vec(1, 1)}, "enc")
    assert set(primary.get_many(["b", "c"], "enc")) == {"c"}  # the seed is never copied in
    assert "c" not in seed


class _Counting:
    """A fake encoder that counts what it is asked to embed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts, **_: object) -> np.ndarray:
        self.asked.extend(texts)
        return np.ones((len(texts), 4), dtype=np.float32)


def test_an_embedder_over_a_seeded_cache_embeds_only_unseeded_texts():
    model = _Counting()
    seed = {text_key("shipped"): _vec(0.5, 0.5, 0.5, 0.5)}
    embedder = Embedder(cache=SeededCache(DictCache(), seed), model=model)
    out = embedder.encode(["shipped", "new text"])
    assert model.asked == ["new text"]
    assert np.allclose(out[0], 0.5)


def test_an_encoder_without_a_shipped_file_has_no_seed():
    assert load_seed("no-such-encoder") == {}


@pytest.mark.slow
@pytest.mark.parametrize(("encoder", "backend"), SHIPPED)
def test_shipped_vectors_cover_the_builtin_codebook_and_match_the_encoder(encoder, backend):
    from qual_nlp.codebook import builtin_codebook, list_builtin

    embedder = Embedder(encoder, backend=backend)
    written = sorted(p.name for p in seed_path(encoder).parent.glob(f"{encoder}*.npz"))
    assert written, (
        f"no shipped vectors of {encoder} (run `python -m qual_nlp.suggest.seed_vectors`)"
    )
    if backend == "onnx-int8" and not seed_path(embedder.name).is_file():
        pytest.skip(f"int8 vectors ship for one processor preset ({written}), not {embedder.name}")
    assert seed_path(embedder.name).is_file()
    seed = load_seed(embedder.name)
    for name in list_builtin():
        texts = codebook_texts(builtin_codebook(name), embedder)
        missing = [t for t in texts if text_key(t) not in seed]
        assert not missing, (
            f"{len(missing)} texts of {name} have no shipped vector "
            "(run `python -m qual_nlp.suggest.seed_vectors` after editing the codebook)"
        )
    sample = texts[:: max(1, len(texts) // 25)]
    live = embedder.encode(sample)
    shipped = np.stack([seed[text_key(t)] for t in sample])
    if backend == "onnx-int8":
        # int8 activations are quantised per batch, so a text's vector moves a little with
        # the batch it is encoded in: the same direction, not the same digits
        assert np.sum(live * shipped, axis=1).min() > 0.99  # measured 0.995-0.999
    else:
        assert np.abs(live - shipped).max() < 1e-4


@pytest.mark.slow
def test_a_new_project_embeds_its_segments_but_not_the_builtin_codebook(tmp_path):
    import sqlite3

    from qual_nlp.project import Project

    (tmp_path / "a.txt").write_text(
        "Interviewer: How did the first weeks go?\n"
        "P01: The referral forms took far too long, we could not keep up.\n",
        "utf-8",
    )
    path = tmp_path / "p.qnlp"
    with Project.init(path) as project:
        project.import_files([tmp_path / "a.txt"])
        result = project.model.suggest()
        name = project.model.embedder().name
    assert result["suggestions"] > 0
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT count(*) FROM embeddings").fetchone()
    if seed_path(name).is_file():
        assert 1 <= stored <= 2  # the answer and its question, not the codebook's prototypes
    else:  # int8 vectors of another processor preset: the codebook is embedded once, here
        assert stored > 100
