"""Read transcript and field-note files into :class:`~qual_nlp.records.ParsedDocument` records.

One parser per format, chosen by file suffix through a small registry:

====== ====================================================================
.txt   plain text; speaker turns or, without speakers, one passage per paragraph
.md    as .txt, plus ``#`` headings and ``**Name:**`` labels
.docx  Word: paragraphs, headings and table rows in reading order
.vtt   WebVTT captions; consecutive cues of one speaker merge into a turn
.srt   SubRip captions, as .vtt
====== ====================================================================

Every problem with a file raises :class:`~qual_nlp.errors.ImportFileError`
naming the file, what is wrong and how to fix it.

>>> from qual_nlp.ingest.formats import parse_bytes
>>> doc = parse_bytes("C01_NCM.txt", b"Interviewer: Why?\\r\\nNCM: The ED visits.\\r\\n")
>>> [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns]
[('Interviewer', 'Why?'), ('NCM', 'The ED visits.')]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats.speakers import is_interviewer_label, normalise_label
from qual_nlp.records import ParsedDocument

#: A parser takes (path or name for messages, file name, bytes).
Parser = Callable[[str, str, bytes], ParsedDocument]

DEFAULT_MAX_BYTES = 50_000_000


def _txt(source: str, name: str, data: bytes) -> ParsedDocument:
    from qual_nlp.ingest.formats.txt import parse_txt

    return parse_txt(source, name, data)


def _md(source: str, name: str, data: bytes) -> ParsedDocument:
    from qual_nlp.ingest.formats.txt import parse_txt

    return parse_txt(source, name, data, markdown=True)


def _docx(source: str, name: str, data: bytes) -> ParsedDocument:
    from qual_nlp.ingest.formats.docx import parse_docx

    return parse_docx(source, name, data)


def _vtt(source: str, name: str, data: bytes) -> ParsedDocument:
    from qual_nlp.ingest.formats.subtitles import parse_subtitles

    return parse_subtitles(source, name, data, fmt="vtt")


def _srt(source: str, name: str, data: bytes) -> ParsedDocument:
    from qual_nlp.ingest.formats.subtitles import parse_subtitles

    return parse_subtitles(source, name, data, fmt="srt")


_PARSERS: dict[str, Parser] = {
    ".txt": _txt,
    ".md": _md,
    ".docx": _docx,
    ".vtt": _vtt,
    ".srt": _srt,
}

#: Suffixes :func:`parse_file` reads (lower case, with the dot).
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted(_PARSERS))

_ADVICE = {
    ".pdf": "Export the PDF as .docx or plain text (.txt) and import that",
    ".doc": "Open it in Word or LibreOffice and use Save As .docx",
    ".rtf": "Open it in Word or LibreOffice and use Save As .docx",
    ".odt": "Open it in LibreOffice and use Save As .docx",
    ".qdpx": "Open .qdpx projects with the REFI-QDA import, not as a document",
}


def register_importer(suffix: str, parser: Parser) -> None:
    """Read files ending in ``suffix`` with ``parser`` (replacing any parser for it).

    >>> register_importer(".text", _txt)  # doctest: +SKIP
    """
    global SUPPORTED_SUFFIXES
    _PARSERS[suffix.lower()] = parser
    SUPPORTED_SUFFIXES = tuple(sorted(_PARSERS))


def _parser_for(source: str, name: str) -> Parser:
    suffix = Path(name).suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        # .qdpx projects are read whole by the import (qual_nlp.exchange), not by a parser
        supported = ", ".join((*SUPPORTED_SUFFIXES, ".qdpx"))
        found = f"'{suffix}'" if suffix else "no suffix"
        raise ImportFileError(
            source,
            f"unsupported file type: expected one of {supported} (a REFI-QDA project) "
            f"but the name has {found}",
            _ADVICE.get(
                suffix,
                f"Save or export the document as one of {', '.join(SUPPORTED_SUFFIXES)}",
            ),
        )
    return parser


def _check_size(source: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ImportFileError(
            source,
            f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit",
            "Split it into smaller files, or raise the limit (max_bytes)",
        )


def parse_bytes(name: str, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Parse an uploaded file's bytes; ``name`` (with its suffix) chooses the format.

    >>> parse_bytes("notes.md", b"# Visit\\n\\nThe waiting room was full.").turns[1].kind
    'paragraph'
    """
    parser = _parser_for(name, name)
    _check_size(name, len(data), max_bytes)
    return parser(name, Path(name).name, data)


def parse_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Parse the file at ``path`` into a :class:`~qual_nlp.records.ParsedDocument`.

    >>> doc = parse_file("corpora_samples/C01/interview_NCM.txt")  # doctest: +SKIP
    >>> doc.has_speakers, doc.turns[0].speaker  # doctest: +SKIP
    (True, 'Interviewer')
    """
    path = Path(path)
    source = str(path)
    parser = _parser_for(source, path.name)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportFileError(source, "no such file", "Check the path and the file name") from None
    except OSError as exc:
        raise ImportFileError(
            source, f"the file cannot be read ({exc})", "Check its permissions"
        ) from exc
    if path.is_dir():
        raise ImportFileError(source, "expected a file but found a folder", "Import its files")
    _check_size(source, size, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(
            source, f"the file cannot be read ({exc})", "Check its permissions"
        ) from exc
    return parser(source, path.name, data)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "ImportFileError",
    "Parser",
    "is_interviewer_label",
    "normalise_label",
    "parse_bytes",
    "parse_file",
    "register_importer",
]
