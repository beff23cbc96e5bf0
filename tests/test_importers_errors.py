"""Each bad input gets its own ImportFileError naming the file, the problem and the fix."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.formats import SUPPORTED_SUFFIXES, parse_bytes, parse_file

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def error_for(path: Path, data: bytes, **kwargs: int) -> ImportFileError:
    path.write_bytes(data)
    with pytest.raises(ImportFileError) as info:
        parse_file(path, **kwargs)
    error = info.value
    assert error.path == str(path)
    assert str(path) in str(error) and error.problem in str(error) and error.fix in str(error)
    return error


def test_supported_suffixes_are_listed() -> None:
    assert SUPPORTED_SUFFIXES == (".docx", ".md", ".srt", ".txt", ".vtt")


def test_unsupported_pdf_lists_supported_types_and_says_to_export(tmp_path: Path) -> None:
    error = error_for(tmp_path / "C01_interview.pdf", b"%PDF-1.7\n")
    assert "'.pdf'" in error.problem
    assert all(suffix in error.problem for suffix in SUPPORTED_SUFFIXES)
    assert "Export" in error.fix


def test_empty_file(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", b"")
    assert "empty" in error.problem


def test_whitespace_only_file(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", b" \r\n\t\r\n  \n")
    assert "only whitespace" in error.problem


def test_binary_txt_with_nul_bytes(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", b"Interviewer\x00\x01\x02 binary \x00 junk")
    assert "binary" in error.problem


def test_docx_saved_as_txt_is_named_a_zip_archive(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 30)
    assert "ZIP archive" in error.problem
    assert ".docx" in error.fix


def test_pdf_renamed_txt_is_named_a_pdf(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj")
    assert "PDF" in error.problem


def test_image_renamed_txt_is_named_an_image(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", PNG)
    assert "PNG image" in error.problem


def test_undecodable_text(tmp_path: Path) -> None:
    garbage = bytes(range(1, 9)) * 40 + bytes(range(0x80, 0xA0)) * 20
    error = error_for(tmp_path / "P07.txt", garbage)
    assert "do not decode" in error.problem
    assert "UTF-8" in error.fix


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.txt", b"Interviewer: hello\n" * 100, max_bytes=1000)
    assert "over the" in error.problem and "MB" in error.problem
    assert "Split" in error.fix


def test_bytes_over_the_size_limit() -> None:
    with pytest.raises(ImportFileError, match="over the"):
        parse_bytes("P07.txt", b"x" * 2000, max_bytes=1000)


def test_png_renamed_docx(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P07.docx", PNG)
    assert "Word .docx" in error.problem and "PNG image" in error.problem


def test_zip_without_document_xml_renamed_docx(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes/readme.txt", "not a Word file")
    error = error_for(tmp_path / "P07.docx", buffer.getvalue())
    assert "no word/document.xml" in error.problem


def test_xlsx_renamed_docx_is_named_a_workbook(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    error = error_for(tmp_path / "P07.docx", buffer.getvalue())
    assert "Excel" in error.problem


def test_truncated_docx_is_reported_as_damaged(tmp_path: Path) -> None:
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    error = error_for(tmp_path / "P07.docx", buffer.getvalue()[:600])
    assert "damaged" in error.problem or "could not be read" in error.problem


def test_docx_without_text(tmp_path: Path) -> None:
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    error = error_for(tmp_path / "P07.docx", buffer.getvalue())
    assert "no text" in error.problem


def test_vtt_with_no_cues(tmp_path: Path) -> None:
    error = error_for(tmp_path / "fg.vtt", b"WEBVTT\n\nNOTE nothing was captioned\n")
    assert "no cues" in error.problem


def test_vtt_without_header(tmp_path: Path) -> None:
    error = error_for(tmp_path / "fg.vtt", b"Interviewer: hello\nP07: hi\n")
    assert "WEBVTT" in error.problem


def test_srt_with_no_cues(tmp_path: Path) -> None:
    error = error_for(tmp_path / "P12.srt", b"Interviewer: this is not a subtitle file\n")
    assert "no cues" in error.problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        parse_file(tmp_path / "missing.txt")
