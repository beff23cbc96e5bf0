"""French text keeps its accents, apostrophes and guillemets through import, coding,
the XLSX workbook, the segments CSV and a REFI-QDA round trip."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
from lxml import etree

from qual_nlp.project import Project

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "refi"
QUOTE = (
    "Les médecins ne voulaient pas remplir les formulaires, « c’est trop long » qu’ils disaient."
)
TEXT = (
    "Intervieweuse : Bonjour, merci d'être là. Pouvez-vous me parler de votre rôle ?\n"
    "Infirmière : Je suis infirmière gestionnaire de cas depuis trois ans au CLSC de "
    f"Rivière-du-Loup. {QUOTE}\n"
    "I : Et l’équipe, aujourd’hui ?\n"
    "Infirmière : Ça va mieux. La gestionnaire nous a libéré du temps pour les rencontres "
    "d’équipe — enfin !\n"
)


def _project(tmp_path: Path) -> tuple[Project, int, int]:
    source = tmp_path / "QC_entrevue_infirmière.txt"
    source.write_text(TEXT, encoding="utf-8")
    project = Project.init(tmp_path / "fr.qnlp")
    (outcome,) = project.import_files([source], case="C05")
    assert outcome.status == "imported"
    document = project.document(source.name)
    start = document.text.index(QUOTE)
    project.review.code_span(source.name, start, start + len(QUOTE), "valence/barrier", "amélie")
    return project, start, start + len(QUOTE)


def test_french_text_and_its_coding_survive_import_and_the_segments_csv(tmp_path):
    project, start, end = _project(tmp_path)
    with project:
        document = project.document("QC_entrevue_infirmière.txt")
        assert document.text[start:end] == QUOTE
        speakers = set(project.segments()["speaker"])
        assert {"Intervieweuse", "Infirmière", "I"} <= speakers
        coded = project.codings(coders=["amélie"])
        assert coded["text"].tolist() == [QUOTE]
        out = tmp_path / "segments.csv"
        frame = project.segments()
        frame.to_csv(out, index=False, encoding="utf-8")
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert any(QUOTE in r["text"] for r in rows)


def test_french_quotes_survive_the_xlsx_workbook(tmp_path):
    project, _, _ = _project(tmp_path)
    out = tmp_path / "fr.xlsx"
    with project:
        project.analysis.export("xlsx", out, coders=["amélie"])
    sheet = openpyxl.load_workbook(out, read_only=True)["Quotes"]
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert QUOTE in cells
    assert "amélie" in cells


def test_french_text_and_codings_survive_a_refi_qda_round_trip(tmp_path):
    project, start, end = _project(tmp_path)
    out = tmp_path / "fr.qdpx"
    with project:
        project.analysis.export("qdpx", out)
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("project.qde")
        sources = [n for n in archive.namelist() if n.startswith("sources/")]
        assert QUOTE in archive.read(sources[0]).decode("utf-8")
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "Project.xsd")))
    assert schema.validate(etree.fromstring(xml)), schema.error_log
    with Project.init(tmp_path / "back.qnlp") as back:
        back.import_files([out])
        document = back.document("QC_entrevue_infirmière.txt")
        assert document.text[start:end] == QUOTE
        coded = back.codings(coders=["amélie"])
        assert coded["text"].tolist() == [QUOTE]
        assert coded["code"].tolist() == ["valence/barrier"]
