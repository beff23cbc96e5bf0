"""The re-suggest path at scale: bulk writes, kept per-segment inputs, word counts
reused by new model versions — each checked against the plain computation.
The bulk writes run on SQLite and on PostgreSQL (``backends``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect

from qual_nlp.project import Project
from qual_nlp.project import inputs as project_inputs
from qual_nlp.project.model import ModelService
from qual_nlp.records import Document, SegmentSpan
from qual_nlp.storage import codings as codings_module
from qual_nlp.storage import queue as queue_module
from qual_nlp.suggest.classifier import ExclusiveClassifier, MultiLabelClassifier
from qual_nlp.suggest.embed import DictCache, Embedder, l2_normalise
from qual_nlp.suggest.features import TextFeatures, TokenCounts
from qual_nlp.suggest.logistic import _block_scores
from qual_nlp.suggest.zeroshot import PrototypeScorer


class HashEncoder:
    """A deterministic stand-in encoder: bag of hashed words (fast unit tests only)."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False):
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(map(ord, word)) % 32] += 1.0
            out[i, 31] += 0.1
        return out


def _doc(name: str, n: int, case: str = "C01") -> tuple[Document, list[SegmentSpan]]:
    lines, spans, offset = [], [], 0
    for i in range(n):
        speaker = "Interviewer" if i % 2 == 0 else "P01"
        words = ["How", "was", "the", "bus"] if i % 2 == 0 else ["The", "nurse", "never", "called"]
        text = " ".join([*words, str(i)]) + "."
        line = f"{speaker}: {text}"
        start = offset + len(speaker) + 2
        spans.append(SegmentSpan(start, start + len(text), text, speaker, turn_index=i))
        lines.append(line)
        offset += len(line) + 1
    return Document(name, "\n".join(lines) + "\n", case=case, sha256=name), spans


# ------------------------------------------------------------------ bulk writes
def _scores(ids, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"segment_id": ids, "uncertainty": rng.random(len(ids)), "relevance": rng.random(len(ids))}
    )


@pytest.mark.backends
@pytest.mark.parametrize("bulk_rows", [1, 10_000], ids=["index-rebuild", "upsert"])
def test_scores_are_replaced_the_same_way_by_both_write_paths(store, monkeypatch, bulk_rows):
    monkeypatch.setattr(queue_module, "BULK_ROWS", bulk_rows)
    doc, spans = _doc("a.txt", 40)
    store.add_document(doc, spans)
    ids = store.segments_frame()["segment_id"].tolist()
    store.queue.write_scores(_scores(ids, seed=1), "model:lr@1")
    second = _scores(ids[:10], seed=2)
    store.queue.write_scores(second, "model:lr@2")
    got = store.queue.scores().set_index("segment_id")
    assert len(got) == 40
    assert np.allclose(got.loc[ids[:10], "uncertainty"], second["uncertainty"])
    assert set(got.loc[ids[:10], "model_version"]) == {"model:lr@2"}
    assert set(got.loc[ids[10:], "model_version"]) == {"model:lr@1"}
    # the queue order still comes from an index after the rebuild
    names = {i["name"] for i in inspect(store.engine).get_indexes("segment_scores")}
    assert {"ix_segment_scores_uncertainty", "ix_segment_scores_relevance"} <= names
    top = int(got["uncertainty"].idxmax())
    assert store.queue.next("ana", n=1, include_interviewer=True) == [top]


@pytest.mark.backends
def test_a_failed_bulk_score_write_keeps_the_old_scores_and_indexes(store, monkeypatch):
    monkeypatch.setattr(queue_module, "BULK_ROWS", 1)
    doc, spans = _doc("a.txt", 10)
    store.add_document(doc, spans)
    ids = store.segments_frame()["segment_id"].tolist()
    store.queue.write_scores(_scores(ids), "model:lr@1")
    before = store.queue.scores()
    bad = _scores(ids).assign(segment_id=[*ids[:-1], 10_000_000])  # no such segment
    with pytest.raises(Exception, match="(?i)foreign key"):
        store.queue.write_scores(bad, "model:lr@2")
    pd.testing.assert_frame_equal(store.queue.scores(), before)
    assert store.queue.next("ana", n=1, include_interviewer=True)


@pytest.mark.backends
@pytest.mark.parametrize("bulk_rows", [1, 10_000], ids=["bulk", "plain"])
def test_replacing_suggestions_touches_only_the_given_segments_and_facet(
    store, monkeypatch, bulk_rows
):
    monkeypatch.setattr(codings_module, "BULK_ROWS", bulk_rows)
    doc, spans = _doc("a.txt", 6)
    store.add_document(doc, spans)
    ids = store.segments_frame()["segment_id"].tolist()

    def rows(segments, code, version):
        return pd.DataFrame(
            {"segment_id": segments, "code": code, "score": 0.7, "model_version": version}
        )

    first = pd.concat([rows(ids, "valence/barrier", "m@1"), rows(ids, "cmo/context", "m@1")])
    assert store.codings.replace_suggestions("model:lr@1", first) == 12
    store.codings.replace_suggestions(
        "model:lr@2",
        rows(ids[:2], "valence/facilitator", "m@2"),
        segment_ids=ids[:2],
        facet="valence",
    )
    open_ = store.codings.frame(statuses=["suggested"])
    by = open_.groupby(["coder", "code"]).size().to_dict()
    assert by == {
        ("model:lr@1", "cmo/context"): 6,  # other facet: untouched
        ("model:lr@1", "valence/barrier"): 4,  # other segments: untouched
        ("model:lr@2", "valence/facilitator"): 2,
    }
    placed = open_[open_.coder == "model:lr@2"].sort_values("start")
    seg = store.segments_frame().set_index("segment_id").loc[ids[:2]]
    assert placed["start"].tolist() == seg["start"].tolist()
    assert placed["end"].tolist() == seg["end"].tolist()

    # a bulk write builds the codings indexes again
    names = {i["name"] for i in inspect(store.engine).get_indexes("codings")}
    assert {"ix_codings_segment", "ix_codings_coder_status", "ix_codings_code"} <= names


@pytest.mark.backends
def test_a_bulk_write_gives_its_connection_back_with_keys_checked_again(store, monkeypatch):
    """The bulk writes skip SQLite's per-row key lookups for their own transaction only:
    the next write on any pooled connection is checked again, and a bulk score write
    still refuses a segment the project does not have."""
    from sqlalchemy.exc import IntegrityError

    from qual_nlp.errors import StorageError

    monkeypatch.setattr(queue_module, "BULK_ROWS", 1)
    monkeypatch.setattr(codings_module, "BULK_ROWS", 1)
    doc, spans = _doc("a.txt", 4)
    store.add_document(doc, spans)
    ids = store.segments_frame()["segment_id"].tolist()
    rows = pd.DataFrame({"segment_id": ids, "code": "valence/barrier", "score": 0.6})
    store.codings.replace_suggestions("model:lr@1", rows.assign(model_version="m@1"))
    store.queue.write_scores(_scores(ids), "model:lr@1")
    with pytest.raises(StorageError, match="not in the project"):
        store.queue.write_scores(_scores([*ids, 10_000_000]), "model:lr@2")
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:  # the pool's connection, settings restored
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
    monkeypatch.setattr(queue_module, "BULK_ROWS", 10_000)
    with pytest.raises((IntegrityError, StorageError)):
        store.queue.write_scores(_scores([10_000_000]), "model:lr@3")
    assert set(store.queue.scores()["model_version"]) == {"model:lr@1"}


# --------------------------------------------------------- word counts / blocks
TEXTS = [
    "The bus never comes on time.",
    "Nurse Amélie called me back — same day!",
    "",
    "ok",
    "the BUS the bus the bus",
    "Pas de médecin de famille, never had one.",
    "Waiting, waiting and waiting for the clinic.",
]


@pytest.mark.parametrize("fit_on", [slice(0, 4), slice(2, 7), slice(0, 7)])
def test_tfidf_from_counts_equals_tokenising_again(fit_on):
    features = TextFeatures(min_df=1).fit(TEXTS[fit_on])
    counts = TokenCounts(TEXTS, features.ngram_max)
    expected = features.tfidf_.transform(TEXTS)
    got = features.tfidf_from_counts(counts)
    assert got.shape == expected.shape
    assert abs(got - expected).max() < 1e-12


def test_counts_of_another_tokenisation_are_refused():
    features = TextFeatures(min_df=1, ngram_max=2).fit(TEXTS)
    with pytest.raises(ValueError, match="tokenised"):
        features.tfidf_from_counts(TokenCounts(TEXTS, ngram_max=1))


@pytest.mark.parametrize("kind", ["exclusive", "multilabel"])
def test_weighted_blocks_score_like_the_stacked_matrix(kind):
    rng = np.random.default_rng(3)
    texts = [TEXTS[i % len(TEXTS)] + f" {i % 5}" for i in range(70)]
    vectors = rng.normal(size=(70, 6)).astype(np.float32)
    context = rng.normal(size=(70, 6)).astype(np.float32)
    features = TextFeatures(min_df=1, context_weight=0.3, tfidf_weight=0.7).fit(texts)
    F = features.transform(vectors, texts, context)
    if kind == "multilabel":
        est = MultiLabelClassifier().fit(F, [("a",) if i % 3 else ("a", "b") for i in range(70)])
    else:
        est = ExclusiveClassifier().fit(F, np.array([f"c{i % 3}" for i in range(70)]))
    counts = TokenCounts(texts)
    weighted = features.weighted_blocks(vectors, texts, context, counts)
    assert [w for _, w in weighted] == [1.0, 0.3, 0.7]
    assert np.allclose(est.predict_proba_blocks(weighted), est.predict_proba(F), atol=1e-6)


def test_block_scores_refuse_blocks_that_do_not_add_up():
    with pytest.raises(ValueError, match="columns"):
        _block_scores([np.ones((2, 3), dtype=np.float32)], np.ones((4, 1)), np.zeros(1))


def test_unit_vectors_pass_through_and_others_are_normalised():
    unit = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert np.allclose(unit, [[0.6, 0.8], [0.0, 0.0]])
    again = np.array([[0.6, 0.8], [1.0, 0.0]], dtype=np.float32)
    assert l2_normalise(again) is again


def test_zero_shot_similarities_do_not_depend_on_the_chunk_size():
    embedder = Embedder("hash", model=HashEncoder(), cache=DictCache())
    protos = {
        "valence": {
            "valence/barrier": ["never on time", "waiting again"],
            "valence/good": ["kind"],
        },
        "cmo": {"cmo/context": ["the bus", "rural road", "no car"]},
    }
    scorer = PrototypeScorer(embedder=embedder).fit(protos, {"valence": True, "cmo": False})
    X = embedder.encode([f"{t} {i}" for i, t in enumerate(TEXTS * 5)])
    whole = scorer.similarities(X)
    pieces = scorer.similarities(X, chunk=4)
    for facet, vectors in scorer.vectors_.items():
        direct = np.column_stack([scorer._code_similarity(X, v) for v in vectors])
        assert np.allclose(whole[facet], direct, atol=1e-6)
        assert np.allclose(pieces[facet], direct, atol=1e-6)


# ------------------------------------------------------------- kept inputs
@pytest.fixture
def project(project_path, tiny_codebook, monkeypatch):
    monkeypatch.setattr(
        ModelService,
        "embedder",
        lambda self: Embedder("hash", model=HashEncoder(), cache=self.store),
    )
    p = Project.init(project_path, tiny_codebook)
    doc, spans = _doc("a.txt", 20)
    p.store.add_document(doc, spans, interviewers=["Interviewer"])
    project_inputs.forget()
    yield p
    p.close()
    project_inputs.forget()


def test_inputs_are_kept_through_reviews_and_training(project):
    first = project.model.inputs()
    assert len(first.frame) == 10, "participant segments only"
    assert first.frame["context"].str.startswith("How was the bus").all()
    sid = first.ids[0]
    project.review.decide(sid, "ana", accept=["valence/barrier"])
    project.store.queue.write_scores(_scores(first.ids), "model:x@1")
    again = project.model.inputs()
    assert again is first
    assert np.array_equal(again.rows([sid, 10_000]), [0])


def test_inputs_follow_imports_and_deletions(project):
    first = project.model.inputs()
    doc, spans = _doc("b.txt", 8, case="C02")
    project.store.add_document(doc, spans, interviewers=["Interviewer"])
    grown = project.model.inputs()
    assert grown is not first and len(grown.frame) == 14
    assert grown.X.shape == (14, 32) and grown.context.shape == (14, 32)
    project.store.remove_document("a.txt")
    shrunk = project.model.inputs()
    assert set(shrunk.frame["document"]) == {"b.txt"}
    # a suggestion run after the deletion covers exactly the remaining segments
    result = project.model.suggest()
    assert result["segments"] == 4
    suggested = project.codings(statuses=["suggested"])
    assert set(suggested["document"]) <= {"b.txt"}


def test_zero_shot_scores_are_recomputed_when_the_codebook_changes(project, tiny_codebook):
    from dataclasses import replace

    inputs = project.model.inputs()
    embedder = project.model.embedder()
    before = inputs.zero_shot(project.codebook(), embedder)
    assert inputs.zero_shot(project.codebook(), embedder) is before
    codes = [
        replace(c, definition=c.definition + " The bus is late.") if c.path == "cmo/context" else c
        for c in tiny_codebook.codes
    ]
    project.store.save_codebook(replace(tiny_codebook, codes=codes))
    after = inputs.zero_shot(project.codebook(), embedder)
    assert after is not before
    assert not np.allclose(after["cmo"]["cmo/context"], before["cmo"]["cmo/context"])
