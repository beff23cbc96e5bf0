"""What differs between SQLite and PostgreSQL, and the same answers from both.

URLs and drivers, servers that cannot be reached, text order under a locale's
collation, and the sample corpus stored alike on a file and on a real server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.dialects import postgresql, sqlite

from qual_nlp.errors import StorageError
from qual_nlp.project import Project
from qual_nlp.records import Document, SegmentSpan
from qual_nlp.storage import Store
from qual_nlp.storage.dialect import binary
from qual_nlp.storage.engine import make_engine, to_url

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "corpora_samples"
#: names that a locale's collation (ICU en-US) orders differently from code points
NAMES = ["C01_b.txt", "C01-a.txt", "c01.txt", "C01a.txt", "Élise.txt", "Zoe.txt", "C10.txt"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://ana@db:5432/study", "postgresql+psycopg://ana@db:5432/study"),
        ("postgres://ana@db/study", "postgresql+psycopg://ana@db/study"),
        ("postgresql+psycopg://ana@db/study", "postgresql+psycopg://ana@db/study"),
    ],
)
def test_postgresql_urls_go_to_psycopg_3(given, expected):
    assert to_url(given) == expected


def test_a_missing_driver_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StorageError, match=r"pip install 'qual_nlp\[postgres\]'") as info:
        make_engine("postgresql://ana:secret@db/study", create=False)
    assert "secret" not in str(info.value)


def test_a_server_that_does_not_answer_is_reported_with_what_to_check():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StorageError, match="cannot connect.*createdb") as info:
        Store.open(f"postgresql://ana:secret@127.0.0.1:{port}/study")
    assert "secret" not in str(info.value)


def test_text_sort_keys_compare_by_code_point_on_postgresql_and_stay_plain_on_sqlite():
    t = table("documents", column("name"))
    query = select(t.c.name).order_by(binary(t.c.name).desc())
    assert 'name COLLATE "C" DESC' in str(query.compile(dialect=postgresql.dialect()))
    assert "ORDER BY documents.name DESC" in str(query.compile(dialect=sqlite.dialect()))


@pytest.mark.backends
def test_documents_and_segments_come_in_code_point_order_whatever_the_collation(store):
    for name in NAMES:
        text = f"P01: Words of {name}.\n"
        span = SegmentSpan(5, len(text) - 1, text[5:-1], "P01")
        store.add_document(Document(name=name, text=text, case=name[:3], sha256=name), [span])
    assert [d.name for d in store.documents()] == sorted(NAMES)
    assert list(store.segments_frame()["document"]) == sorted(NAMES)
    assert [c.name for c in store.cases()] == sorted({n[:3] for n in NAMES})
    assert list(store.queue.next("ana", order="document", n=3)) == list(
        store.segments_frame()["segment_id"][:3]
    )


def _sample_segments(location: str) -> list[dict]:
    with Project.init(location) as project:
        project.import_cases(SAMPLES / "cases.csv")
        outcomes = project.import_files([SAMPLES], meta=SAMPLES / "meta.csv")
        assert [o.message for o in outcomes if o.status == "failed"] == []
        return list(project.segments_report())


def test_the_sample_corpus_is_stored_alike_on_sqlite_and_postgresql(postgres_server, tmp_path):
    on_sqlite = _sample_segments(str(tmp_path / "study.qnlp"))
    on_postgresql = _sample_segments(postgres_server.create_database())
    assert len(on_sqlite) > 1000
    assert on_postgresql == on_sqlite


def _cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "qual_nlp", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_cli_init_import_suggest_and_segments_give_the_same_segments_on_postgresql(
    postgres_server, tmp_path
):
    """The documented commands, run as a user would, on a fresh database and on a file."""
    outputs = []
    for location in (postgres_server.create_database(), str(tmp_path / "study.qnlp")):
        _cli("init", location)
        _cli("import", location, str(SAMPLES), "--meta", str(SAMPLES / "meta.csv"))
        _cli("suggest", location)
        outputs.append(_cli("segments", location, "--json"))
    on_postgresql, on_sqlite = outputs
    segments = json.loads(on_postgresql)["segments"]
    assert len(segments) > 1000
    assert any(c["status"] == "suggested" for s in segments for c in s["codings"])
    assert on_postgresql == on_sqlite


@pytest.mark.backends
def test_a_document_with_a_long_name_is_imported_and_its_event_names_it(store):
    name = "C01_" + "entrevue_" * 15 + ".txt"  # longer than the event log's entity_id
    text = "P01: Words.\n"
    store.add_document(
        Document(name=name, text=text, sha256="long"), [SegmentSpan(5, 11, "Words.", "P01")]
    )
    assert [d.name for d in store.documents()] == [name]
    logged = store.events(limit=1).iloc[0]["entity_id"]
    assert len(name) > len(logged) > 0 and name.startswith(logged)


def test_a_label_longer_than_postgresql_allows_is_refused_whole(postgres_server):
    store = Store.open(postgres_server.create_database(), create=True)
    speaker = "P" * 300  # participants.label holds 200 characters
    text = f"{speaker}: Words.\n"
    span = SegmentSpan(len(speaker) + 2, len(text) - 1, "Words.", speaker)
    with pytest.raises(StorageError, match="too long.*nothing was written"):
        store.add_document(Document(name="a.txt", text=text, sha256="a"), [span])
    assert store.counts()["documents"] == 0
    store.close()


def test_cli_init_on_postgresql_never_prints_the_password(postgres_server):
    url = postgres_server.create_database().replace("postgres@", "postgres:s3cret-pw@")
    out = _cli("init", url)
    assert "Project ready at postgresql+psycopg://postgres:***@127.0.0.1" in out
    assert "s3cret-pw" not in out
    assert "s3cret-pw" not in _cli("segments", url, "--json")


def test_postgresql_reads_open_no_transaction_and_a_write_is_still_one(postgres_server):
    from qual_nlp.storage.engine import writing

    store = Store.open(postgres_server.create_database(), create=True)
    engine = store.journal.engine
    try:
        for _ in range(2):  # the second time on the connection the write used
            with engine.connect() as conn:
                conn.execute(select(column("id")).select_from(table("documents"))).all()
                assert conn.connection.dbapi_connection.autocommit  # no BEGIN, no ROLLBACK
            with writing(engine) as conn, conn.begin():
                assert not conn.connection.dbapi_connection.autocommit
        text = "P01: Words.\n"
        span = SegmentSpan(5, 11, "Words.", "P01")
        with pytest.raises(RuntimeError), store.journal.write("t", "add", "document") as conn:
            store.add_document(Document(name="kept.txt", text=text, sha256="k"), [span])
            conn.execute(table("documents").delete())  # inside the failing transaction
            raise RuntimeError("a write that fails half-way")
        assert [d.name for d in store.documents()] == ["kept.txt"]  # the delete rolled back
    finally:
        store.close()
