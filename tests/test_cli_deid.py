"""``qual-nlp deid`` and the ``--deidentified`` outputs, run through the real CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from qual_nlp.cli import main

FR = (
    "Intervieweuse: Comment ça se passe?\n"
    "P03: L'infirmière Gagnon m'appelle au 418 555-0190 depuis que je reste à Rimouski. "
    "Ma carte, c'est TREM 5203 1199. Le mardi, elle vient pour mon diabète.\n"
)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    source = tmp_path / "C05_entrevue_P03.txt"
    source.write_text(FR, encoding="utf-8")
    path = tmp_path / "s.qnlp"
    assert main(["init", str(path)]) == 0
    assert main(["import", str(path), str(source), "--case", "C05"]) == 0
    return path


def run(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_deid_prints_counts_by_kind_and_runs_once_per_document(study: Path, capsys) -> None:
    first = run(capsys, "deid", str(study), "--language", "fr")
    assert first["documents"] == 1
    assert {"PERSON", "PHONE", "HEALTH_ID", "LOCATION"} <= set(first["by_kind"])
    assert first["by_status"] == {"suggested": sum(first["by_kind"].values())}
    again = run(capsys, "deid", str(study))
    assert again["documents"] == 0 and again["skipped"] == 1


def test_review_by_id_and_accept_all(study: Path, capsys) -> None:
    listed = run(capsys, "deid", str(study), "--language", "fr", "--list")["list"]
    town = next(d for d in listed if d["text"] == "Rimouski")
    phone = next(d for d in listed if d["kind"] == "PHONE")
    out = run(capsys, "deid", str(study), "--reject", str(town["id"]), "--accept", str(phone["id"]))
    assert out["rejected"] == 1 and out["accepted"] == 1
    out = run(capsys, "deid", str(study), "--accept-all")
    assert set(out["by_status"]) == {"accepted", "rejected"}
    segments = run(capsys, "segments", str(study), "--deidentified")["segments"]
    text = " ".join(s["text"] for s in segments)
    assert "Rimouski" in text and "Gagnon" not in text and "418 555-0190" not in text


def test_added_spans_and_the_dictionary(study: Path, capsys) -> None:
    out = run(
        capsys, "deid", str(study), "--language", "fr", "--add-text", "C05_entrevue_P03.txt",
        "diabète", "--kind", "ORGANIZATION", "--never", "Rimouski",
    )  # fmt: skip
    assert len(out["added"]) == 1
    segments = run(capsys, "segments", str(study), "--deidentified")["segments"]
    text = " ".join(s["text"] for s in segments)
    assert "diabète" not in text and "Rimouski" in text
    assert main(["deid", str(study), "--always", "mardi", "--kind", "DATE"]) == 0
    capsys.readouterr()
    segments = run(capsys, "segments", str(study), "--deidentified")["segments"]
    assert "mardi" not in " ".join(s["text"] for s in segments)


def test_segments_and_exports_deidentified(study: Path, capsys, tmp_path: Path) -> None:
    segments = run(capsys, "segments", str(study), "--deidentified")["segments"]
    assert [s["speaker"] for s in segments] == ["Intervieweuse", "P03"]
    assert "L'infirmière [NURSE-1] m'appelle" in segments[1]["text"]
    plain = run(capsys, "segments", str(study))["segments"]
    assert "Gagnon" in plain[1]["text"]  # the original stays in the project
    for fmt, name in (("qdpx", "s.qdpx"), ("xlsx", "s.xlsx"), ("csv", "s.zip")):
        out = tmp_path / name
        assert (
            main(["export", str(study), "--format", fmt, "--out", str(out), "--deidentified"]) == 0
        )
        with zipfile.ZipFile(out) as archive:  # all three are zip files
            blob = b"".join(archive.read(n) for n in archive.namelist())
        # (the built-in codebook's examples name a fictional "Dr. Gagnon" of their own)
        for identifier in ("infirmière Gagnon", "418 555-0190", "TREM 5203", "Rimouski"):
            assert identifier.encode() not in blob, (fmt, identifier)


def test_an_unknown_language_is_refused_by_the_parser(study: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["deid", str(study), "--language", "de"])
