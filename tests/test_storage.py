"""The store: migrations, pragmas, transactions, codings, reviews, caches.

Every test that takes ``store`` or ``project_location`` runs twice: on a real SQLite
file and on a real PostgreSQL server (tests/postgres_server.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect

from qual_nlp.errors import ProjectNotFoundError, RecordNotFoundError, StorageError
from qual_nlp.records import Coding, Document, SegmentSpan
from qual_nlp.storage import Store
from qual_nlp.storage.engine import HEAD, current_revision
from qual_nlp.storage.schema import metadata

pytestmark = pytest.mark.backends

TEXT = "Interviewer: How is it going?\nP07: The nurse calls me back the same day.\n"


def _doc(name: str = "C01_P07.txt", case: str | None = "C01", text: str = TEXT) -> Document:
    return Document(name=name, text=text, case=case, sha256=name)


def _spans(text: str = TEXT) -> list[SegmentSpan]:
    a = text.index("How")
    b = text.index("The nurse")
    return [
        SegmentSpan(a, text.index("?") + 1, text[a : text.index("?") + 1], "Interviewer"),
        SegmentSpan(b, len(text) - 1, text[b:-1], "P07", turn_index=1),
    ]


def test_new_project_is_migrated_to_head_with_every_table(store):
    assert current_revision(store.engine) == HEAD
    assert set(metadata.tables) <= set(inspect(store.engine).get_table_names())


def test_migration_builds_the_schema_module_exactly(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(project_path):
    store = Store.open(project_path, create=True)
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    store.close()


def test_opening_a_missing_project_says_how_to_create_one(tmp_path):
    with pytest.raises(ProjectNotFoundError, match="qual-nlp init"):
        Store.open(tmp_path / "nope.qnlp")


def test_memory_names_a_private_database_not_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = Store.open(":memory:", create=True)
    assert current_revision(store.engine) == HEAD
    assert store.segments_generation() == (0, 0, 0)
    assert not (tmp_path / ":memory:").exists()


def test_opening_a_foreign_database_is_refused(project_location):
    from qual_nlp.storage.engine import make_engine

    engine = make_engine(project_location, create=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE x (a int)")
    engine.dispose()
    with pytest.raises(ProjectNotFoundError, match="no qual_nlp project"):
        Store.open(project_location)


def test_document_segments_and_participants_are_stored_together(store):
    store.add_document(_doc(), _spans(), roles={"P07": "patient"}, interviewers=["Interviewer"])
    frame = store.segments_frame()
    assert list(frame["speaker"]) == ["Interviewer", "P07"]
    assert list(frame["is_interviewer"]) == [True, False]
    assert list(frame["role"]) == ["interviewer", "patient"]
    doc = store.document("C01_P07.txt")
    for row in frame.itertuples():
        assert doc.text[row.start : row.end] == row.text


def test_a_failed_import_leaves_nothing_half_written(store):
    store.add_document(_doc(), _spans())
    before = store.counts()
    # same name, new case: the case insert happens inside the transaction, then it fails
    with pytest.raises(StorageError, match="already in the project"):
        store.add_document(_doc(case="C99"), _spans())
    assert store.counts() == before
    assert "C99" not in [c.name for c in store.cases()]


def test_inconsistent_offsets_are_refused_before_writing(store):
    bad = [SegmentSpan(0, 5, "xxxxx")]
    with pytest.raises(StorageError, match="does not match"):
        store.add_document(_doc(), bad)
    assert store.counts()["documents"] == 0


def test_every_write_appends_an_event(store):
    n = store.counts()["events"]
    store.add_document(_doc(), _spans())
    store.set_meta("note", "x", actor="ana")
    events = store.events()
    assert store.counts()["events"] == n + 2
    assert events.iloc[0]["actor"] == "ana"


def test_case_attributes_merge(store):
    store.upsert_case("C01", {"province": "QC"})
    store.upsert_case("C01", {"rurality": "urban"})
    assert store.cases()[0].attributes == {"province": "QC", "rurality": "urban"}


def _suggest(store, seg_id, code, score, coder="model:lr@1"):
    frame = pd.DataFrame(
        {"segment_id": [seg_id], "code": [code], "score": [score], "model_version": [coder]}
    )
    store.codings.replace_suggestions(coder, frame)


def test_accepting_a_suggestion_keeps_it_and_links_the_human_coding(store):
    store.add_document(_doc(), _spans())
    seg = int(store.segments_frame().iloc[1]["segment_id"])
    _suggest(store, seg, "valence/facilitator", 0.9)
    store.codings.review(seg, "ana", accept=["valence/facilitator"], reject=["cmo/context"])
    codings = store.codings.frame()
    assert sorted(zip(codings.coder, codings.status, codings.code, strict=True)) == [
        ("ana", "accepted", "valence/facilitator"),
        ("ana", "rejected", "cmo/context"),
        ("model:lr@1", "suggested", "valence/facilitator"),
    ]
    assert list(store.codings.coverage().itertuples(index=False, name=None)) == [(seg, "ana")]
    by_id = {int(r.coding_id): (r.status, r.code) for r in codings.itertuples()}
    with store.engine.connect() as conn:
        links = conn.exec_driver_sql("SELECT id, source_coding_id FROM codings").all()
    linked = {by_id[i]: by_id.get(source) for i, source in links}
    assert linked == {  # the accepted code points at the suggestion it came from
        ("accepted", "valence/facilitator"): ("suggested", "valence/facilitator"),
        ("rejected", "cmo/context"): None,  # nothing suggested it
        ("suggested", "valence/facilitator"): None,
    }


def test_a_second_review_replaces_the_coders_earlier_decision(store):
    store.add_document(_doc(), _spans())
    seg = int(store.segments_frame().iloc[1]["segment_id"])
    store.codings.review(seg, "ana", accept=["valence/barrier"])
    store.codings.review(seg, "ana", accept=["valence/facilitator"], memo="misread")
    mine = store.codings.frame(coders=["ana"])
    assert list(mine.code) == ["valence/facilitator"]
    assert list(mine.memo) == ["misread"]


def test_new_model_version_replaces_open_suggestions_of_older_versions(store):
    store.add_document(_doc(), _spans())
    seg = int(store.segments_frame().iloc[1]["segment_id"])
    _suggest(store, seg, "valence/barrier", 0.6, coder="model:lr@1")
    store.codings.review(seg, "ana", accept=["valence/facilitator"])
    _suggest(store, seg, "valence/facilitator", 0.8, coder="model:lr@2")
    codings = store.codings.frame()
    suggested = codings[codings.status == "suggested"]
    assert list(suggested.coder) == ["model:lr@2"]
    assert "ana" in set(codings.coder)


def test_unknown_code_is_refused_with_the_fix(store):
    store.add_document(_doc(), _spans())
    with pytest.raises(RecordNotFoundError, match="codebook"):
        store.codings.add([Coding("C01_P07.txt", 0, 5, "valence/nope", "ana")])
    assert store.counts()["codings"] == 0


def test_saving_an_edited_codebook_never_orphans_codings(store, tiny_codebook):
    from dataclasses import replace

    store.add_document(_doc(), _spans())
    store.codings.add([Coding("C01_P07.txt", 0, 5, "cmo/outcome", "ana")])
    smaller = replace(tiny_codebook, codes=tiny_codebook.codes[:4])
    store.save_codebook(smaller)
    assert "cmo/outcome" not in [c.path for c in store.load_codebook().codes]
    assert list(store.codings.frame().code) == ["cmo/outcome"]


def test_remap_moves_codings_to_the_merged_code(store):
    store.add_document(_doc(), _spans())
    store.codings.add([Coding("C01_P07.txt", 0, 5, "cmo/outcome", "ana")])
    assert store.remap_codes({"cmo/outcome": "cmo/mechanism"}) == 1
    assert list(store.codings.frame().code) == ["cmo/mechanism"]


def test_embedding_cache_round_trips_float32_vectors(store):
    vec = np.arange(384, dtype=np.float32) / 7
    store.put_many({"abc": vec}, "enc")
    store.put_many({"abc": vec}, "enc")  # idempotent
    got = store.get_many(["abc", "missing"], "enc")
    assert list(got) == ["abc"]
    np.testing.assert_array_equal(got["abc"], vec)
    assert store.get_many(["abc"], "other-encoder") == {}


def test_free_span_coding_is_checked_against_the_text(store):
    from qual_nlp.errors import ValidationError

    store.add_document(_doc(), _spans())
    store.codings.code_span("C01_P07.txt", 0, 11, "cmo/context", "ana")
    assert store.codings.frame().iloc[0]["text"] == TEXT[0:11]
    with pytest.raises(ValidationError, match="outside the text"):
        store.codings.code_span("C01_P07.txt", 0, 10_000, "cmo/context", "ana")


def test_model_versions_count_up_and_keep_metrics(store):
    assert store.model_versions.add("model:lr", {"valence": {"f1": 0.5}}, b"x", 10) == 1
    assert store.model_versions.add("model:lr", {"valence": {"f1": 0.6}}, b"y", 20) == 2
    versions = store.model_versions.frame()
    assert list(versions.version) == [1, 2]
    assert versions.iloc[1]["metrics"]["valence"]["f1"] == 0.6
    assert store.model_versions.blob("model:lr") == (2, b"y")


def test_blind_assignment_lasts_until_finished(store):
    store.add_document(_doc(), _spans())
    ids = list(store.segments_frame().segment_id)
    store.assignments.create("round1", ["ana", "pat"], ids)
    assert store.assignments.is_blind("pat")
    store.codings.review(ids[0], "pat", accept=["valence/barrier"])
    frame = store.assignments.frame()
    assert frame.set_index("coder").loc["pat", "reviewed"] == 1
    store.assignments.finish("round1", "pat")
    assert not store.assignments.is_blind("pat")
    assert store.assignments.segments("round1", "ana") == ids


def test_a_project_at_an_older_schema_is_upgraded_on_open_without_losing_data(project_location):
    from alembic import command

    from qual_nlp.storage.engine import _alembic_config, make_engine

    engine = make_engine(project_location, create=True)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO documents (name, source_type, source_format, text, sha256, imported_at,"
            " metadata) VALUES ('old.txt', 'interview', 'txt', 'hello', 'h', 'then', '{}')"
        )
    engine.dispose()
    store = Store.open(project_location)
    assert current_revision(store.engine) == HEAD
    assert [d.name for d in store.documents()] == ["old.txt"]


def test_queue_orders_unreviewed_segments_and_skips_interviewers(store):
    text = "I: Hi?\nP1: one two.\nP1: three four.\nP2: five six.\n"
    spans = []
    for label, words in (
        ("I", "Hi?"),
        ("P1", "one two."),
        ("P1", "three four."),
        ("P2", "five six."),
    ):
        start = text.index(words)
        spans.append(SegmentSpan(start, start + len(words), words, label))
    store.add_document(_doc(text=text), spans, interviewers=["I"])
    ids = list(store.segments_frame().segment_id)
    scores = pd.DataFrame(
        {"segment_id": ids, "uncertainty": [0.9, 0.1, 0.8, 0.5], "relevance": [0.0, 0.9, 0.2, 0.4]}
    )
    store.queue.write_scores(scores, "model:lr@1")
    assert store.queue.next("ana", n=3) == [ids[2], ids[3], ids[1]]
    assert store.queue.next("ana", order="relevance", n=1) == [ids[1]]
    assert store.queue.next("ana", order="document", n=1) == [ids[1]]
    store.codings.review(ids[2], "ana", accept=["valence/barrier"])
    assert store.queue.next("ana", n=1) == [ids[3]]
    assert store.queue.next("pat", n=1) == [ids[2]], "another coder's reviews don't count"
    _suggest(store, ids[3], "valence/barrier", 0.3)
    assert store.queue.next("ana", code="valence/barrier", n=5) == [ids[3]]
    assert store.queue.next("ana", code="valence/barrier", min_score=0.5, n=5) == []
