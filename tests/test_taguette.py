"""Taguette's CSVs both ways: its codebook and highlights in, a codebook CSV it accepts out.

The files are written as Taguette 1.x writes them (``taguette/export.py``: the codebook
``tag,description,number of highlights,number of documents``; the highlights
``id,document,tag,content``), and the codebook written here is read back with the rules
of Taguette's own codebook import (``taguette/import_codebook.py``: a ``tag``, ``name`` or
``path`` column, an optional ``description``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from qual_nlp.cli import main
from qual_nlp.errors import ImportFileError
from qual_nlp.exchange.taguette import read_codebook_csv, read_highlights_csv
from qual_nlp.project import Project

TRANSCRIPT = (
    "Interviewer: What changed for you?\n"
    "P07: The nurse calls me back the same day. I don't go to the emergency any more.\n"
    "Interviewer: And the hospital?\n"
    "P07: Nobody sends my results to the clinic, so she has to chase them.\n"
)
CODEBOOK = (
    "tag,description,number of highlights,number of documents\r\n"
    "Access,Getting care when it is needed,1,1\r\n"
    'Information gaps,"Results, letters or summaries that do not arrive",1,1\r\n'
    "Unused,,0,0\r\n"
)
HIGHLIGHTS = (
    "id,document,tag,content\r\n"
    "1,C01_P07,Access,The nurse calls me back the same day.\r\n"
    "2,C01_P07,Information gaps,Nobody sends my results to the clinic\r\n"
    "2,C01_P07,Access,Nobody sends my results to the clinic\r\n"
    '3,C01_P07,Trust,"I don\'t go to the emergency any more."\r\n'
    "4,C09_P01,Access,A document that was never imported\r\n"
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "C01_P07.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (tmp_path / "codebook.csv").write_text(CODEBOOK, encoding="utf-8")
    (tmp_path / "highlights.csv").write_text(HIGHLIGHTS, encoding="utf-8")
    return tmp_path


def _taguette_reads(text: str) -> list[dict[str, str]]:
    """Taguette's codebook import rules, applied to ``text``."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    header = [c.lower() for c in rows[0]]
    assert sum(c in header for c in ("tag", "name", "path")) == 1, header
    col = next(header.index(c) for c in ("tag", "name", "path") if c in header)
    desc = header.index("description") if "description" in header else None
    out = []
    for row in rows[1:]:
        if not any(row):
            continue
        assert row[col].strip(), "Taguette refuses an empty tag name"
        out.append({"path": row[col].strip(), "description": row[desc].strip() if desc else ""})
    return out


def test_the_codebook_csv_becomes_codes_of_a_taguette_facet(files: Path) -> None:
    codebook = read_codebook_csv(files / "codebook.csv")
    assert [(c.path, c.name, c.definition) for c in codebook.codes] == [
        ("taguette/access", "Access", "Getting care when it is needed"),
        (
            "taguette/information_gaps",
            "Information gaps",
            "Results, letters or summaries that do not arrive",
        ),
        ("taguette/unused", "Unused", "Unused"),  # no description: the tag defines itself
    ]


def test_init_takes_a_taguette_codebook(files: Path, capsys) -> None:
    assert main(["init", str(files / "p.qnlp"), "--codebook", str(files / "codebook.csv")]) == 0
    assert "3 codes" in capsys.readouterr().out


def test_highlights_code_the_segments_they_quote(files: Path, capsys) -> None:
    project_path = files / "p.qnlp"
    with Project.init(project_path) as project:
        project.import_files([files / "C01_P07.txt"])
    code = main(
        [
            "import-taguette",
            str(project_path),
            "--codebook",
            str(files / "codebook.csv"),
            "--highlights",
            str(files / "highlights.csv"),
            "--coder",
            "vicky",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1, "a highlight of a document not in the project is reported"
    assert "4 new codes, 4 codings from 5 highlights" in out
    assert "'C09_P01' is not in the project" in err
    with Project.open(project_path) as project:
        codings = project.codings()
        got = sorted(zip(codings["code"], codings["coder"], codings["text"], strict=True))
        paths = {c.name: c.path for c in project.codebook().codes}
    assert paths["Trust"] == "taguette/trust"  # a tag missing from the codebook is added
    first = "The nurse calls me back the same day. I don't go to the emergency any more."
    second = "Nobody sends my results to the clinic, so she has to chase them."
    assert got == sorted(
        [
            ("taguette/access", "vicky", first),
            ("taguette/information_gaps", "vicky", second),
            ("taguette/access", "vicky", second),
            ("taguette/trust", "vicky", first),
        ]
    )
    again = Project.open(project_path)
    with again:
        counts = again.import_taguette(files / "highlights.csv", coder="vicky")
        assert counts["codings"] == 0 and len(again.codings()) == 4, "twice adds nothing"


def test_a_codebook_csv_taguette_accepts_round_trips(files: Path, tiny_codebook) -> None:
    with Project.init(files / "p.qnlp", codebook=tiny_codebook) as project:
        out = project.analysis.export("taguette", files / "for_taguette.csv")
    text = out.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "tag,description"
    tags = _taguette_reads(text)
    assert tags[:2] == [
        {"path": "Barrier", "description": "An obstacle."},
        {"path": "Facilitator", "description": "Something that helps."},
    ]
    assert [t["path"] for t in tags] == [c.name for c in tiny_codebook.codes]
    back = read_codebook_csv(out)
    assert [(c.name, c.definition) for c in back.codes] == [
        (c.name, c.definition) for c in tiny_codebook.codes
    ]


def test_formula_like_tags_are_guarded_in_the_codebook_csv(files: Path, tiny_codebook) -> None:
    from dataclasses import replace

    codes = (replace(tiny_codebook.codes[0], name='=HYPERLINK("x")', definition="@SUM(A1)"),)
    with Project.init(files / "p.qnlp", codebook=replace(tiny_codebook, codes=codes)) as project:
        text = project.taguette_codebook(files / "t.csv").read_bytes().decode("utf-8-sig")
    assert _taguette_reads(text) == [{"path": '\'=HYPERLINK("x")', "description": "'@SUM(A1)"}]


def test_files_that_are_not_taguettes_say_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("code,definition\nx,y\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="needs a 'tag' column"):
        read_codebook_csv(tmp_path / "a.csv")
    with pytest.raises(ImportFileError, match="content missing"):
        read_highlights_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("tag,description\n,no name\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="line 2 has no tag name"):
        read_codebook_csv(tmp_path / "b.csv")
