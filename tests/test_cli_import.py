"""The command line: init, import (mixed batch with bad files), segments --json/--csv."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qual_nlp.cli import build_parser, main

TRANSCRIPT = (
    "Interviewer: Thanks for meeting me. How has the programme changed things?\n"
    "[00:01:12] P07: Honestly, the nurse calls me back the same day. I don't go to "
    "emergency any more.\n"
    "Interviewer: And getting your hospital results?\n"
    "P07: That's the hard part, nobody sends them to the clinic.\n"
)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "C01_P07.txt").write_text(TRANSCRIPT, encoding="utf-8")
    (folder / "C02_P03.txt").write_bytes(
        "INT: Bonjour Hélène Gagné.\r\nP03: The case manager, she knows me.\r\n".encode("cp1252")
    )
    (folder / "C01_notes.md").write_text(
        "# Visit 1\n\nThe clinic was busy; the nurse case manager had twelve patients.\n\n"
        "Staff talked about discharge summaries that never arrive.\n",
        encoding="utf-8",
    )
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (folder / "meta.csv").write_text(
        "file,case,source_type,province,participant_role,participant_roles\n"
        "C01_P07.txt,C01,interview,QC,patient,Interviewer=interviewer\n"
        "C01_notes.md,C01,field_notes,QC,research coordinator,\n"
        "C02_P03.txt,C02,interview,ON,patient,INT=interviewer;P03=patient\n",
        encoding="utf-8",
    )
    return folder


def run(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "qual_nlp", *args], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_a_mixed_batch_imports_in_one_command_and_bad_files_are_named(batch, project_path):
    code, out, err = run("import", str(project_path), str(batch), "--meta", str(batch / "meta.csv"))
    assert code == 1, "a failed file makes the exit status non-zero"
    assert "3 imported" in out and "2 failed" in out
    assert "empty.txt" in err and "binary.txt" in err

    code, out, _ = run("segments", str(project_path), "--json")
    assert code == 0
    segments = json.loads(out)["segments"]
    keys = {
        "id",
        "document",
        "case",
        "source_type",
        "speaker",
        "role",
        "is_interviewer",
        "timestamp",
        "start",
        "end",
        "text",
        "codings",
    }
    assert keys <= set(segments[0])
    p07 = [s for s in segments if s["speaker"] == "P07"]
    assert p07 and all(s["case"] == "C01" and s["role"] == "patient" for s in p07)
    assert p07[0]["timestamp"] == "00:01:12"
    interviewer = [s for s in segments if s["speaker"] in ("Interviewer", "INT")]
    assert interviewer and all(s["is_interviewer"] for s in interviewer)
    assert any("Hélène Gagné" in s["text"] for s in segments)
    notes = [s for s in segments if s["document"] == "C01_notes.md"]
    assert notes and all(s["source_type"] == "field_notes" for s in notes)


def test_reimporting_the_same_files_is_a_no_op_that_says_so(batch, project_path):
    main(["import", str(project_path), str(batch / "C01_P07.txt")])
    code, out, _ = run("import", str(project_path), str(batch / "C01_P07.txt"))
    assert code == 0
    assert "already imported" in out and "1 unchanged" in out


def test_import_json_reports_each_file(batch, project_path, capsys):
    code = main(
        [
            "import",
            str(project_path),
            str(batch / "C01_P07.txt"),
            str(batch / "empty.txt"),
            "--json",
            "--case",
            "C09",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["summary"]["imported"] == 1 and payload["summary"]["failed"] == 1
    failed = [f for f in payload["files"] if f["status"] == "failed"]
    assert "empty.txt" in failed[0]["message"]


def test_segments_csv_offsets_match_the_document_text(batch, project_path, tmp_path):
    from qual_nlp.project import Project

    main(["import", str(project_path), str(batch), "--meta", str(batch / "meta.csv")])
    out = tmp_path / "segments.csv"
    assert main(["segments", str(project_path), "--csv", str(out)]) == 0
    frame = pd.read_csv(out, keep_default_na=False)
    with Project.open(project_path) as project:
        texts = {d.name: d.text for d in project.documents()}
    for row in frame.itertuples():
        assert texts[row.document][row.start : row.end] == row.text


def test_commands_on_a_missing_project_explain_how_to_create_one(tmp_path, capsys):
    assert main(["segments", str(tmp_path / "none.qnlp")]) == 2
    assert "qual-nlp init" in capsys.readouterr().err


def test_every_command_and_option_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command_parser in sub.choices.items():
        assert f"`{name}" in readme or f" {name} " in readme, f"command {name} not in README"
        for action in command_parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option not in ("--help", "--json"):
                    assert option in readme, f"{name} {option} is not documented in README"


def test_the_starter_sample_imports_every_format_with_its_metadata(project_path):
    from qual_nlp.project import Project

    starter = Path(__file__).resolve().parent / "fixtures" / "starter"
    with Project.init(project_path) as project:
        outcomes = project.import_files([starter], meta=starter / "meta.csv")
        assert [o.status for o in outcomes] == ["imported"] * 6
        formats = {d.source_format for d in project.documents()}
        assert formats == {"txt", "md", "docx", "vtt", "srt"}
        cases = project.cases().set_index("case")
        assert cases.loc["C02", "rurality"] == "rural"
        roles = {(p.label, p.role) for p in project.participants()}
        assert ("Manager", "clinic manager") in roles and ("P07", "patient") in roles
        segments = project.segments()
        assert segments["document"].nunique() == 6
        docs = {d.name: d.text for d in project.documents()}
        for row in segments.itertuples():
            assert docs[row.document][row.start : row.end] == row.text
