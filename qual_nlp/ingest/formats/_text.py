"""Decoding and normalising helpers shared by the importers.

Everything an importer returns points into text made by :func:`normalise_text`:
line ends are LF, there is no byte-order mark, and Unicode is in NFC form, so
the same passage always has the same character offsets whatever editor saved it.
"""

from __future__ import annotations

import re
import unicodedata

from qual_nlp.errors import ImportFileError

#: Leading bytes of file types that people save or rename by mistake.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (
        b"PK\x03\x04",
        "a ZIP archive (for example a .docx, .xlsx or .qdpx file)",
        "Give the file its real suffix (a Word file should end in .docx) or export it as plain text",
    ),
    (b"%PDF", "a PDF document", "Export it from the PDF reader as .docx or plain text (.txt)"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "a legacy Word .doc (or other Office 97-2003) file",
        "Open it in Word or LibreOffice and use Save As .docx",
    ),
    (b"{\\rtf", "an RTF document", "Open it in Word or LibreOffice and use Save As .docx"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "Import the transcript itself, not an image"),
    (b"\xff\xd8\xff", "a JPEG image", "Import the transcript itself, not an image"),
    (b"GIF87a", "a GIF image", "Import the transcript itself, not an image"),
    (b"GIF89a", "a GIF image", "Import the transcript itself, not an image"),
    (b"\x1f\x8b", "a gzip archive", "Extract the archive and import the files inside it"),
)

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# Control characters that never occur in real text (tab, LF, CR, FF, VT are allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")

#: Above this share of control characters the bytes are not text in any encoding we try.
_MAX_CONTROL_SHARE = 0.01

_TS_PARTS = re.compile(r"^(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:[.,]\d+)?$")


def sniff_binary(data: bytes) -> tuple[str, str] | None:
    """Name the binary file type ``data`` starts with, with a fix, or ``None`` for text.

    >>> sniff_binary(b"%PDF-1.7 ...")[0]
    'a PDF document'
    >>> sniff_binary(b"Interviewer: hello") is None
    True
    """
    for magic, what, fix in _MAGIC:
        if data.startswith(magic):
            return what, fix
    return None


def decode_text(data: bytes, source: str) -> tuple[str, str, tuple[str, ...]]:
    """Decode the bytes of a text file: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else latin-1.

    Returns ``(text, encoding, warnings)``; ``text`` is not yet normalised.
    Raises :class:`ImportFileError` naming ``source`` for empty, binary or
    undecodable content.

    >>> decode_text("Hélène".encode("cp1252"), "notes.txt")[1:]
    ('cp1252', ('notes.txt: not valid UTF-8; read as cp1252 (Windows Western European). Check accented letters such as é and è.',))
    """
    if not data:
        raise ImportFileError(
            source,
            "the file is empty (0 bytes)",
            "Check that the transcript was saved before exporting it, then import it again",
        )
    binary = sniff_binary(data)
    if binary is not None:
        what, fix = binary
        raise ImportFileError(source, f"expected a text file but found {what}", fix)
    if data.startswith(b"\xef\xbb\xbf"):
        return _checked(data[3:].decode("utf-8", errors="strict"), "utf-8-sig", source, data)
    if data.startswith(_UTF16_BOMS):
        try:
            return _checked(data.decode("utf-16"), "utf-16", source, data)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                source,
                f"the file starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason})",
                "Re-save it as UTF-8 text (in Notepad: Save As, Encoding UTF-8)",
            ) from exc
    if b"\x00" in data:
        raise ImportFileError(
            source,
            "expected text but found binary data (NUL bytes)",
            "Import the transcript as .txt, .md, .docx, .vtt or .srt; if it is UTF-16 text, "
            "re-save it as UTF-8",
        )
    try:
        return _checked(data.decode("utf-8"), "utf-8", source, data)
    except UnicodeDecodeError:
        pass
    for encoding, label in (
        ("cp1252", "cp1252 (Windows Western European)"),
        ("latin-1", "latin-1"),
    ):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        warning = (
            f"{source}: not valid UTF-8; read as {label}. Check accented letters such as é and è."
        )
        return _checked(text, encoding, source, data, (warning,))
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _checked(
    text: str, encoding: str, source: str, data: bytes, warnings: tuple[str, ...] = ()
) -> tuple[str, str, tuple[str, ...]]:
    controls = len(_CONTROL.findall(text))
    if controls and controls > _MAX_CONTROL_SHARE * len(text):
        raise ImportFileError(
            source,
            f"the bytes do not decode to readable text: read as {encoding}, "
            f"{controls} of {len(text)} characters are control codes",
            "Open the file in a text editor and re-save it as UTF-8 text; if it is a binary "
            "format, export the transcript as .docx or .txt",
        )
    if not text.strip():
        raise ImportFileError(
            source,
            f"the file holds only whitespace ({len(data)} bytes, no words)",
            "Check that the right file was exported; an empty transcript cannot be segmented",
        )
    return text, encoding, warnings


def normalise_text(text: str) -> str:
    """Return ``text`` without BOM, with LF line ends and in Unicode NFC form.

    >>> normalise_text("\\ufeffHe\\u0301le\\u0300ne\\r\\nok\\r")
    'Hélène\\nok\\n'
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return unicodedata.normalize("NFC", text)


def normalise_timestamp(value: str) -> str | None:
    """Normalise ``12:31``, ``1:02:03.5``, ``00:12:31,500`` to ``HH:MM:SS``; ``None`` if not a time.

    Two-part times are minutes and seconds, as transcription software writes them.

    >>> normalise_timestamp("12:31"), normalise_timestamp("1:02:03.500")
    ('00:12:31', '01:02:03')
    """
    match = _TS_PARTS.match(value.strip())
    if match is None:
        return None
    hours = int(match.group(1) or 0)
    minutes, seconds = int(match.group(2)), int(match.group(3))
    if seconds > 59 or (match.group(1) is not None and minutes > 59):
        return None
    hours += minutes // 60
    minutes %= 60
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def stripped_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` so that it neither starts nor ends with whitespace.

    >>> stripped_span("  a b \\n", 0, 7)
    (2, 5)
    """
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
