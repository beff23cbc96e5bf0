"""De-identification on a real PostgreSQL server: migration 0005 builds the schema module
exactly, detection runs once, review and the dictionary are kept, the export is made.

A throw-away cluster is created with PostgreSQL 15's own binaries (as ``nobody`` when the
tests run as root, since PostgreSQL refuses root) on a Unix socket, and stopped after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from qual_nlp.project import Project

BIN = Path("/usr/lib/postgresql/15/bin")
pytestmark = pytest.mark.skipif(
    not (BIN / "initdb").exists(), reason="PostgreSQL 15 binaries are not installed"
)
TEXT = (
    "Interviewer: Who calls you?\n"
    "P07: Nurse Kowalczyk phoned Mr. Raymond Pelchat at 819-555-0143 in Sherbrooke.\n"
)


def _as_postgres(*argv: str) -> list[str]:
    if os.geteuid() == 0:
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]
    return list(argv)


@pytest.fixture
def pg_url() -> Iterator[str]:
    # a folder of its own under /tmp: pytest's are private to root, and nobody must enter
    root = Path(tempfile_dir := tempfile.mkdtemp(prefix="qnlp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "nobody", "nogroup")
    data, port = root / "data", "54391"
    run = lambda *a: subprocess.run(_as_postgres(*a), check=True, capture_output=True)  # noqa: E731
    run(str(BIN / "initdb"), "-D", str(data), "-U", "qual", "--auth=trust")
    options = f"-k {tempfile_dir} -p {port} -c listen_addresses=''"
    run(str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        run(str(BIN / "createdb"), "-h", tempfile_dir, "-p", port, "-U", "qual", "study")
        yield f"postgresql+psycopg://qual@/study?host={tempfile_dir}&port={port}"
    finally:
        run(str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_deid_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from qual_nlp.storage.schema import metadata

    source = tmp_path / "C01_interview_P07.txt"
    source.write_text(TEXT, encoding="utf-8")
    with Project.init(pg_url) as project:
        with project.store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        project.import_files([source], case="C01")
        first = project.deid.run(language="en")
        assert first["documents"] == 1 and first["by_kind"]["PHONE"] == 1
        assert project.deid.run(language="en")["documents"] == 0
        town = next(d for d in project.deid.detections() if d.kind == "LOCATION")
        project.deid.reject([town.id])
        project.deid.add_term("Kowalczyk", "never")
        text = project.deid.text("C01_interview_P07.txt")
        assert "Nurse Kowalczyk phoned Mr. [PERSON-1] at [PHONE-1] in Sherbrooke." in text
        out = project.analysis.export("qdpx", tmp_path / "pg.qdpx", deidentified=True)
    with zipfile.ZipFile(out) as archive:
        blob = b"".join(archive.read(n) for n in archive.namelist())
    assert b"Pelchat" not in blob and b"819-555-0143" not in blob
