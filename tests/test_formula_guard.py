"""Formula injection: every CSV and XLSX writer passes its cells through one guard.

A project whose segment texts, case names and memos start with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is written out by each writer of the product; no
CSV cell may start with one of those characters, and XLSX cells keep the text typed as
text (so a spreadsheet shows it rather than runs it).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from qual_nlp.analysis.workbook import FORMULA_START, neutralise
from qual_nlp.cli import main

TEXTS = ("=1+2", "+1", "-1+1", "@SUM(A1)", '=HYPERLINK("x")')
CASES = ("\tC1", "\rC2")
MEMOS = ("=1+2", "\tmemo", "\rmemo")


@pytest.fixture
def risky(tmp_path: Path, tiny_codebook) -> Path:
    """A project whose cells would run as formulas if written raw."""
    from qual_nlp.project import Project
    from qual_nlp.records import Coding

    for number, case in enumerate(CASES, start=1):
        lines = [f"{who}: {t}" for t in TEXTS for who in ("Interviewer", "P01")]
        lines.append(f"P01: This is file {number} of case {case.strip()}.")
        (tmp_path / f"f{number}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "risky.qnlp"
    with Project.init(path, codebook=tiny_codebook) as project:
        for number, case in enumerate(CASES, start=1):
            project.import_files([tmp_path / f"f{number}.txt"], case=case)
        segments = project.segments()
        codings = []
        for i, seg in enumerate(segments.itertuples()):
            for coder in ("ana", "ben"):
                code = "valence/barrier" if (i + (coder == "ben")) % 2 else "valence/facilitator"
                codings.append(
                    Coding(
                        seg.document,
                        int(seg.start),
                        int(seg.end),
                        code,
                        coder,
                        memo=MEMOS[i % len(MEMOS)],
                        segment_id=int(seg.segment_id),
                    )
                )
        project.add_codings(codings)
        project.store.codings.mark_reviewed([int(i) for i in segments["segment_id"]], "ana")
        project.store.codings.mark_reviewed([int(i) for i in segments["segment_id"]], "ben")
    return path


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def _is_number(cell: str) -> bool:
    """A number such as ``-0.25`` is data, not a formula."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _assert_guarded(text: str, expected: tuple[str, ...]) -> None:
    cells = _csv_cells(text)
    assert cells, "the CSV is empty"
    raw = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert raw == [], f"cells written raw: {raw[:5]}"
    for value in expected:
        assert neutralise(value) in cells, f"{value!r} missing (guarded)"


def _assert_xlsx_text(path: Path, expected: tuple[str, ...]) -> None:
    book = openpyxl.load_workbook(path)
    found = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    assert cell.data_type == "s", f"{ws.title}!{cell.coordinate} is a formula"
                    found[cell.value] = cell.data_type
    assert set(expected) <= set(found), set(expected) - set(found)


def test_the_guard_neutralises_every_formula_start() -> None:
    for value in ("=1+2", "+1", "-1+1", "@SUM(A1)", '=HYPERLINK("x")', "\tx", "\rx"):
        assert neutralise(value) == "'" + value
    assert neutralise("plain") == "plain" and neutralise(-1) == -1 and neutralise(None) is None


def test_segments_csv_is_guarded(risky: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.csv"
    assert main(["segments", str(risky), "--csv", str(out)]) == 0
    _assert_guarded(out.read_bytes().decode("utf-8-sig"), TEXTS + CASES)


def test_agreement_csv_and_xlsx_are_guarded(risky: Path, tmp_path: Path) -> None:
    out = tmp_path / "agreement.csv"
    assert main(["agreement", str(risky), "--by", "case", "--out", str(out)]) == 0
    _assert_guarded(out.read_bytes().decode("utf-8-sig"), CASES)
    assert (
        main(["agreement", str(risky), "--by", "case", "--out", str(out.with_suffix(".xlsx"))]) == 0
    )
    _assert_xlsx_text(out.with_suffix(".xlsx"), CASES)


def test_matrix_csv_and_xlsx_are_guarded(risky: Path, tmp_path: Path) -> None:
    out = tmp_path / "matrix.csv"
    assert main(["matrix", str(risky), "--value", "quotes", "--out", str(out)]) == 0
    text = out.read_bytes().decode("utf-8-sig")
    assert _csv_cells(text)[:1] == ["code"]
    _assert_guarded(text, CASES)
    assert main(["matrix", str(risky), "--out", str(out.with_suffix(".xlsx"))]) == 0
    _assert_xlsx_text(out.with_suffix(".xlsx"), CASES)


def test_export_csv_bundle_and_xlsx_are_guarded(risky: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "analysis.zip"
    assert main(["export", str(risky), "--format", "csv", "--out", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as zf:
        texts = {n: zf.read(n).decode("utf-8-sig") for n in zf.namelist()}
    for text in texts.values():
        _assert_guarded(text, ())
    everything = "\n".join(texts.values())
    _assert_guarded(everything, TEXTS + CASES + MEMOS)
    book = tmp_path / "analysis.xlsx"
    assert main(["export", str(risky), "--format", "xlsx", "--out", str(book)]) == 0
    _assert_xlsx_text(book, TEXTS + CASES + MEMOS)


def test_the_apps_downloads_are_guarded(risky: Path) -> None:
    from app_pages.matrices_page import export_bytes
    from qual_nlp.project import Project

    with Project.open(risky) as project:
        data = export_bytes(project, "csv", "analysis.zip")()
        xlsx = export_bytes(project, "xlsx", "analysis.xlsx")()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        everything = "\n".join(zf.read(n).decode("utf-8-sig") for n in zf.namelist())
    _assert_guarded(everything, TEXTS + CASES + MEMOS)
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    quotes = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert set(TEXTS) <= set(quotes)
