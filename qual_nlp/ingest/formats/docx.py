"""Word (.docx) transcripts and field notes.

The body's WordprocessingML is read with lxml (:mod:`.docx_xml`: every run of text
Word shows, including hyperlinks, content controls, text boxes, tracked insertions,
fields and smart tags; footnotes and endnotes at the end) and rendered to plain
text in reading order, one block per paragraph or table row, with a blank line
between blocks::

    Interview C03 — P07            (a heading: one ``kind="heading"`` turn)

    Interviewer: How did the care plan start?

    P07: The nurse called me after my third visit to the emergency.

    Week | Contacts | Notes        (a table row: cells joined with " | ")

Text that could not be read (an element the reader does not know, a chart, XML
that had to be recovered) gives a warning naming the file and the paragraph.

Speaker labels are found in the rendered text exactly as in plain text (a bold
``Name:`` run reads as ``Name:``), so the same document-level rules apply.
Tables laid out as transcripts (``Speaker | Text`` or ``Time | Speaker | Text``)
become ``kind="table_row"`` turns with their speaker and timestamp, whose span
is the last cell only.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats._text import normalise_text, normalise_timestamp, sniff_binary
from qual_nlp.ingest.formats.docx_xml import (
    BodyReader,
    Table,
    W,
    clean,
    parse_part,
    raw_text_lengths,
)
from qual_nlp.ingest.formats.speakers import label_strength, normalise_label
from qual_nlp.ingest.formats.txt import build_turns
from qual_nlp.records import ParsedDocument, Turn

#: Refuse a document.xml that would inflate beyond this (zip bombs).
MAX_DOCUMENT_XML_BYTES = 500_000_000

_HEADER_WORDS = frozenset(
    {"speaker", "name", "who", "time", "timestamp", "start", "text", "transcript", "locuteur"}
)
_ARCHIVE_KINDS = (
    ("xl/workbook.xml", "an Excel workbook (.xlsx)", "Save the sheet as .csv or copy it to Word"),
    ("ppt/presentation.xml", "a PowerPoint presentation (.pptx)", "Export the notes as text"),
    ("content.xml", "an OpenDocument file (.odt)", "Open it in LibreOffice and Save As .docx"),
    ("project.qde", "a REFI-QDA project (.qdpx)", "Import it as a .qdpx project instead"),
)


@dataclass(frozen=True)
class _Row:
    """A table row laid out as a transcript line: where its words are in the rendering."""

    speaker: str
    timestamp: str | None
    text_offset: int  # offset of the last cell inside the rendered row


def parse_docx(source: str, name: str, data: bytes) -> ParsedDocument:
    """Parse the bytes of a .docx file (see :func:`qual_nlp.ingest.formats.parse_bytes`)."""
    archive = _open(source, data)
    reader, body = _read_body(source, archive)
    items = [*reader.blocks(body), *reader.footnotes()]
    blocks: list[tuple[str, str, _Row | None]] = []  # (kind, text, transcript row)
    for item in items:
        if isinstance(item, Table):
            blocks.extend(_table_blocks(item.rows))
            continue
        text = normalise_text(clean(item.text)).strip()
        if text:
            heading = item.style.lower().startswith(("heading", "title", "subtitle"))
            blocks.append(("heading" if heading else "text", text, None))
    if not blocks:
        raise ImportFileError(
            source,
            "the Word document holds no text (no paragraph, table or text box has words)",
            "Check that the transcript is in the document, not in images",
        )

    parts: list[str] = []
    structure: dict[int, str] = {}
    rows: dict[int, _Row] = {}
    offset = 0
    for kind, text, row in blocks:
        if kind != "text":
            for line_start in _line_starts(text, offset):
                structure[line_start] = kind
        if row is not None:
            rows[offset] = row
        parts.append(text)
        offset += len(text) + 2
    text = "\n\n".join(parts)
    turns, has_speakers = build_turns(text, structure=structure)
    turns = tuple(_transcript_row(turn, rows.get(turn.start)) for turn in turns)
    return ParsedDocument(
        name=name,
        text=text,
        turns=turns,
        source_format="docx",
        has_speakers=has_speakers or any(t.speaker for t in turns),
        warnings=tuple(dict.fromkeys(reader.warnings)),
    )


def _read_body(source: str, archive: zipfile.ZipFile) -> tuple[BodyReader, Any]:
    """The body of word/document.xml and a reader knowing the styles and notes."""
    xml = archive.read("word/document.xml")
    try:
        root, damage = parse_part(xml)
    except etree.XMLSyntaxError as exc:
        raise ImportFileError(
            source,
            f"word/document.xml is not readable XML ({exc})",
            "Open it in Word (which can repair it) and save it again as .docx",
        ) from exc
    body = root.find(f"{{{W}}}body")
    if body is None:
        raise ImportFileError(
            source,
            "word/document.xml has no document body",
            "Open it in Word or LibreOffice and save it again as .docx",
        )
    reader = BodyReader(source, _styles(archive), _notes(archive))
    if damage is not None:
        reader.warnings.append(_damage_warning(source, xml, root, damage))
    return reader, body


def _part(archive: zipfile.ZipFile, member: str) -> Any:
    if member not in archive.namelist():
        return None
    try:
        return parse_part(archive.read(member))[0]
    except etree.XMLSyntaxError:
        return None


def _styles(archive: zipfile.ZipFile) -> dict[str, str]:
    """Style id → style name (``Heading1`` → ``heading 1``)."""
    root = _part(archive, "word/styles.xml")
    if root is None:
        return {}
    out = {}
    for style in root.iter(f"{{{W}}}style"):
        found = style.find(f"{{{W}}}name")
        out[style.get(f"{{{W}}}styleId", "")] = (
            found.get(f"{{{W}}}val", "") if found is not None else ""
        )
    return out


def _notes(archive: zipfile.ZipFile) -> dict[tuple[str, str], Any]:
    """Footnotes and endnotes by (kind, id), separators left out."""
    out = {}
    for kind in ("footnote", "endnote"):
        root = _part(archive, f"word/{kind}s.xml")
        for note in root.iter(f"{{{W}}}{kind}") if root is not None else ():
            if note.get(f"{{{W}}}type", "normal") == "normal":
                out[(kind, note.get(f"{{{W}}}id", ""))] = note
    return out


def _damage_warning(source: str, xml: bytes, root: Any, error: str) -> str:
    """What a recovering parse kept of damaged XML, and from which paragraph text is missing."""
    expected = raw_text_lengths(xml)
    t = f"{{{W}}}t"
    kept = [sum(len(e.text or "") for e in p.iter(t)) for p in root.iter(f"{{{W}}}p")]
    lost = sum(expected) - sum(kept)
    if lost <= 0:
        return (
            f"{source}: word/document.xml is damaged ({error}); its text was recovered "
            "whole, but check the document opens in Word"
        )
    first = next(
        (i for i, (a, b) in enumerate(zip(expected, kept, strict=False), 1) if a != b),
        min(len(expected), len(kept)) + 1,
    )
    return (
        f"{source}: paragraph {first}: word/document.xml is damaged ({error}); about {lost} "
        f"of {sum(expected)} characters could not be read from there on. Open the document "
        "in Word (which repairs it), save it and import it again"
    )


def _open(source: str, data: bytes) -> zipfile.ZipFile:
    if not data:
        raise ImportFileError(
            source, "the file is empty (0 bytes)", "Save the document in Word again and re-import"
        )
    if not data.startswith(b"PK\x03\x04"):
        binary = sniff_binary(data)
        found, fix = binary or (
            "content that is not a ZIP archive",
            "Open it in Word or LibreOffice and use Save As .docx",
        )
        raise ImportFileError(
            source, f"expected a Word .docx (a ZIP archive) but found {found}", fix
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        info = archive.getinfo("word/document.xml") if "word/document.xml" in names else None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(
            source,
            f"the .docx archive is damaged ({exc})",
            "Open it in Word (which can repair it) and save it again",
        ) from exc
    if info is None:
        kind, advice = next(
            ((what, fix) for member, what, fix in _ARCHIVE_KINDS if member in names),
            ("a ZIP archive", "Give the file its real suffix, or save the transcript as .docx"),
        )
        raise ImportFileError(
            source, f"expected a Word .docx but found {kind} with no word/document.xml", advice
        )
    if info.file_size > MAX_DOCUMENT_XML_BYTES:
        raise ImportFileError(
            source,
            f"word/document.xml would unpack to {info.file_size / 1e6:.0f} MB, "
            f"over the {MAX_DOCUMENT_XML_BYTES / 1e6:.0f} MB limit",
            "Split the document into smaller files",
        )
    return archive


def _line_starts(text: str, offset: int) -> list[int]:
    starts = [offset]
    pos = text.find("\n")
    while pos >= 0:
        starts.append(offset + pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def _table_blocks(table: list[list[str]]) -> list[tuple[str, str, _Row | None]]:
    grid = [[normalise_text(c) for c in cells] for cells in table]
    grid = [cells for cells in grid if any(cells)]
    layout = [_as_transcript_row(cells) for cells in grid]
    speaker_rows = sum(row is not None for row in layout)
    is_transcript = len(grid) > 0 and speaker_rows >= max(1, 0.6 * len(grid))
    blocks: list[tuple[str, str, _Row | None]] = []
    for cells, row in zip(grid, layout, strict=True):
        rendered = " | ".join(cells).strip()
        if row is not None and is_transcript:
            row = replace(row, text_offset=len(rendered) - len(cells[-1]))
        blocks.append(("table_row", rendered, row if is_transcript else None))
    return blocks


def _as_transcript_row(cells: list[str]) -> _Row | None:
    """Read ``Speaker | Text`` or ``Time | Speaker | Text`` rows; ``None`` for other rows."""
    if len(cells) not in (2, 3) or not cells[-1]:
        return None
    timestamp = None
    if len(cells) == 3:
        timestamp = normalise_timestamp(cells[0].strip("[]() "))
        if timestamp is None:
            return None
    label = normalise_label(cells[-2])
    if not label or label.lower() in _HEADER_WORDS or not label_strength(label):
        return None
    return _Row(speaker=label, timestamp=timestamp, text_offset=0)


def _transcript_row(turn: Turn, row: _Row | None) -> Turn:
    if row is None or turn.kind != "table_row":
        return turn
    start = turn.start + row.text_offset
    return replace(turn, start=start, speaker=row.speaker, timestamp=row.timestamp)
