"""Word (.docx) transcripts, generated with python-docx as a transcriber's Word file would be."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from docx.document import Document as WordDocument

from qual_nlp.ingest.formats import parse_bytes, parse_file
from qual_nlp.records import ParsedDocument


def spans(doc: ParsedDocument) -> list[tuple[str, str | None, str]]:
    return [(t.kind, t.speaker, doc.text[t.start : t.end]) for t in doc.turns]


def speaker_paragraph(document: WordDocument, label: str, words: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.add_run(label).bold = True
    paragraph.add_run(words)


@pytest.fixture
def interview_docx(tmp_path: Path) -> Path:
    """Interview C03 with P07: heading, bold speaker runs, a plain label, a table, a timestamp."""
    document = docx.Document()
    document.add_heading("Interview C03 – P07, Saint-Jérôme", level=1)
    speaker_paragraph(document, "Interviewer:", " How did the care plan start?")
    speaker_paragraph(document, "P07:", " Hélène called me after my third visit to the emergency.")
    document.add_paragraph("Now she comes every two weeks.")
    document.add_paragraph("")
    speaker_paragraph(document, "Interviewer", ": Who else is involved? [00:14:02]")
    document.add_paragraph("P07: The pharmacist, and the social worker for my housing.")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(
        [("Week", "Contacts", "Notes"), ("1", "4", "ED visit"), ("2", "1", "GP follow-up")]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Closing", level=2)
    document.add_paragraph("Interviewer: Thank you.")
    path = tmp_path / "C03_interview_P07.docx"
    document.save(str(path))
    return path


def test_docx_headings_paragraphs_and_table_rows_in_body_order(interview_docx: Path) -> None:
    doc = parse_file(interview_docx)
    assert [kind for kind, _, _ in spans(doc)] == [
        "heading", "turn", "turn", "turn", "turn", "table_row", "table_row", "table_row",
        "heading", "turn",
    ]  # fmt: skip
    assert doc.source_format == "docx" and doc.has_speakers


def test_docx_bold_and_plain_speaker_labels_are_outside_the_span(interview_docx: Path) -> None:
    doc = parse_file(interview_docx)
    turns = [(s, text) for kind, s, text in spans(doc) if kind == "turn"]
    assert turns[0] == ("Interviewer", "How did the care plan start?")
    assert turns[3] == ("P07", "The pharmacist, and the social worker for my housing.")


def test_docx_unlabelled_paragraph_continues_the_speakers_turn(interview_docx: Path) -> None:
    doc = parse_file(interview_docx)
    _, speaker, text = spans(doc)[2]
    assert speaker == "P07"
    assert text == (
        "Hélène called me after my third visit to the emergency.\n\nNow she comes every two weeks."
    )


def test_docx_timestamp_is_read_and_left_out(interview_docx: Path) -> None:
    doc = parse_file(interview_docx)
    turn = doc.turns[3]
    assert turn.timestamp == "00:14:02"
    assert doc.text[turn.start : turn.end] == "Who else is involved?"


def test_docx_table_rows_are_cells_joined_with_bars(interview_docx: Path) -> None:
    doc = parse_file(interview_docx)
    rows = [text for kind, _, text in spans(doc) if kind == "table_row"]
    assert rows == ["Week | Contacts | Notes", "1 | 4 | ED visit", "2 | 1 | GP follow-up"]


def test_docx_rendering_is_plain_text_with_blank_lines_between_blocks(interview_docx: Path) -> None:
    doc = parse_file(interview_docx)
    assert doc.text.startswith(
        "Interview C03 – P07, Saint-Jérôme\n\nInterviewer: How did the care plan start?\n\n"
    )
    assert "\n\n\n" not in doc.text


def test_docx_transcript_table_gives_speaker_and_time_per_row() -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    rows = [
        ("Time", "Speaker", "Text"),
        ("00:15:01", "NCM", "We share the care plan with the pharmacy."),
        ("00:15:20", "P07", "Yes, it helps with my pills."),
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse_bytes("C03_table.docx", buffer.getvalue())
    assert spans(doc)[1:] == [
        ("table_row", "NCM", "We share the care plan with the pharmacy."),
        ("table_row", "P07", "Yes, it helps with my pills."),
    ]
    assert [t.timestamp for t in doc.turns] == [None, "00:15:01", "00:15:20"]


def test_docx_label_in_its_own_paragraph_takes_the_next_paragraph() -> None:
    document = docx.Document()
    for label, words in [
        ("INTERVIEWER:", "How are patients referred to you?"),
        ("NCM:", "Through the physicians, and sometimes the ED."),
    ]:
        document.add_paragraph().add_run(label).bold = True
        document.add_paragraph(words)
    paragraph = document.add_paragraph("NCM: The list comes monthly.")
    paragraph.add_run().add_break()
    paragraph.add_run("P07: I was on that list.")
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse_bytes("C01_layout.docx", buffer.getvalue())
    assert [(s, text) for _, s, text in spans(doc)] == [
        ("INTERVIEWER", "How are patients referred to you?"),
        ("NCM", "Through the physicians, and sometimes the ED."),
        ("NCM", "The list comes monthly."),
        ("P07", "I was on that list."),
    ]


def test_docx_without_speakers_reads_as_field_notes() -> None:
    document = docx.Document()
    document.add_paragraph("Arrived at clinic C02 at nine. The waiting room was full.")
    document.add_paragraph("Note: the NCM was away; the GP covered her calls.")
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse_bytes("C02_notes.docx", buffer.getvalue())
    assert not doc.has_speakers
    assert [t.kind for t in doc.turns] == ["paragraph", "paragraph"]
