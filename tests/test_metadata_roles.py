"""Metadata CSVs whose participant_roles cell holds a bare role (no ``LABEL=``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.batch import parse_role_cell, read_metadata
from qual_nlp.project import Project

ONE = "Interviewer: How did it start?\n\nMarie: The nurse called me.\n\nInterviewer: And then?\n\nMarie: She came every week.\n"
TWO = "INT: Tell me about the team.\n\nNCM1: We share the caseload.\n\nNCM2: And the phone line.\n"
MAPPED = "INT: Hello.\n\nP07: Hello to you.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "one.txt").write_text(ONE, encoding="utf-8")
    (tmp_path / "two.txt").write_text(TWO, encoding="utf-8")
    (tmp_path / "mapped.txt").write_text(MAPPED, encoding="utf-8")
    return tmp_path


def _roles(project: Project, document: str) -> dict[str, str | None]:
    frame = project.segments(document=document)
    return dict(zip(frame["speaker"], frame["role"], strict=True))


def test_a_bare_role_goes_to_every_non_interviewer_speaker(folder: Path, tmp_path: Path) -> None:
    (folder / "meta.csv").write_text(
        "file,case,participant_roles\n"
        "one.txt,C01,nurse case manager\n"
        "two.txt,C01,nurse case manager;\n"
        "mapped.txt,C02,INT=interviewer;P07=patient\n",
        encoding="utf-8",
    )
    with Project.init(tmp_path / "p.qnlp") as project:
        outcomes = project.import_files(
            [folder / n for n in ("one.txt", "two.txt", "mapped.txt")], meta=folder / "meta.csv"
        )
        assert [o.status for o in outcomes] == ["imported"] * 3
        assert _roles(project, "one.txt") == {
            "Interviewer": "interviewer",
            "Marie": "nurse case manager",
        }
        two = _roles(project, "two.txt")
        assert (two["NCM1"], two["NCM2"]) == ("nurse case manager", "nurse case manager")
        assert _roles(project, "mapped.txt") == {"INT": "interviewer", "P07": "patient"}
    warned = {Path(o.path).name: o.warnings for o in outcomes}
    assert len(warned["one.txt"]) == 1 and len(warned["two.txt"]) == 1  # once per file
    assert "one.txt" in warned["one.txt"][0] and "'nurse case manager'" in warned["one.txt"][0]
    assert "Marie" in warned["one.txt"][0] and "NCM1, NCM2" in warned["two.txt"][0]
    assert warned["mapped.txt"] == ()


def test_the_singular_column_name_is_accepted(folder: Path, tmp_path: Path) -> None:
    (folder / "meta.csv").write_text(
        "file,case,participant_role\n"
        "one.txt,C01,patient\n"
        "mapped.txt,C02,INT=interviewer;P07=caregiver\n",
        encoding="utf-8",
    )
    meta = read_metadata(folder / "meta.csv")
    assert meta.files["mapped.txt"].roles == {"INT": "interviewer", "P07": "caregiver"}
    assert "participant_role" not in meta.files["mapped.txt"].attributes
    with Project.init(tmp_path / "p.qnlp") as project:
        outcomes = project.import_files(
            [folder / "one.txt", folder / "mapped.txt"], meta=folder / "meta.csv"
        )
        assert [o.status for o in outcomes] == ["imported", "imported"]
        assert _roles(project, "one.txt")["Marie"] == "patient"
        assert _roles(project, "mapped.txt")["P07"] == "caregiver"


def test_the_cli_imports_the_batch_and_warns(folder: Path, tmp_path: Path, capsys) -> None:
    from qual_nlp.cli import main

    (folder / "meta.csv").write_text(
        "file,case,participant_roles\none.txt,C01,nurse case manager\n", encoding="utf-8"
    )
    code = main(
        [
            "import",
            str(tmp_path / "p.qnlp"),
            str(folder / "one.txt"),
            "--meta",
            str(folder / "meta.csv"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0 and "1 imported" in out
    assert err.count("warning: one.txt: participant_roles holds the role") == 1


def test_a_mixed_cell_is_still_refused_with_the_line() -> None:
    assert parse_role_cell("") == ({}, None)
    with pytest.raises(ImportFileError, match="'patient' is not LABEL=role"):
        parse_role_cell("INT=interviewer;patient", "meta.csv line 3")
