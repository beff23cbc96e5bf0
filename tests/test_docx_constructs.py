"""Every word of a Word file: one small document per construct that carries text.

Each document is written at test time with python-docx, its body XML completed with
lxml, and the exact rendered text is checked.
"""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from lxml import etree

from qual_nlp.ingest.formats import parse_bytes

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NSMAP = (
    f'xmlns:w="{W}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'
)


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def build(*paragraphs: str, parts: dict[str, str] | None = None) -> bytes:
    """A .docx whose body holds ``paragraphs`` (WordprocessingML fragments, in order)."""
    document = docx.Document()
    body = document.element.body
    sect = body[-1]
    for xml in paragraphs:
        wrapper = etree.fromstring(f"<root {NSMAP}>{xml}</root>")
        for element in wrapper:
            sect.addprevious(element)
    buffer = io.BytesIO()
    document.save(buffer)
    if not parts:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        for name, xml in parts.items():
            dst.writestr(name, f'<?xml version="1.0" encoding="UTF-8"?>{xml}')
    return out.getvalue()


def read(data: bytes) -> tuple[str, tuple[str, ...]]:
    doc = parse_bytes("transcript.docx", data)
    return doc.text, doc.warnings


def test_hyperlink_text_is_read() -> None:
    text, warnings = read(
        build(
            "<w:p>"
            + _r("P07: I looked at ")
            + '<w:hyperlink w:history="1">'
            + _r("the clinic website")
            + "</w:hyperlink>"
            + _r(" first.")
            + "</w:p>"
        )
    )
    assert text == "P07: I looked at the clinic website first."
    assert warnings == ()


def test_inline_and_block_content_controls_are_read() -> None:
    inline = (
        "<w:p>"
        + _r("Participant: ")
        + "<w:sdt><w:sdtPr><w:alias w:val='Name'/></w:sdtPr><w:sdtContent>"
        + _r("Marie Tremblay")
        + "</w:sdtContent></w:sdt></w:p>"
    )
    block = (
        "<w:sdt><w:sdtPr/><w:sdtContent><w:p>"
        + _r("Interviewer: How did it start?")
        + "</w:p><w:p>"
        + _r("P07: With a phone call.")
        + "</w:p></w:sdtContent></w:sdt>"
    )
    text, _ = read(build(inline, block))
    assert text == (
        "Participant: Marie Tremblay\n\nInterviewer: How did it start?\n\nP07: With a phone call."
    )


def test_a_text_box_is_read_once_after_its_paragraph() -> None:
    box = "<w:txbxContent><w:p>" + _r("Note: the recorder stopped here.") + "</w:p></w:txbxContent>"
    drawing = (
        "<w:drawing><wp:anchor><a:graphic><a:graphicData><wps:wsp><wps:txbx>"
        + box
        + "</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>"
    )
    pict = "<w:pict><v:shape><v:textbox>" + box + "</v:textbox></v:shape></w:pict>"
    paragraph = (
        "<w:p>"
        + _r("P07: Then it went quiet.")
        + "<w:r><mc:AlternateContent><mc:Choice Requires='wps'>"
        + drawing
        + "</mc:Choice><mc:Fallback>"
        + pict
        + "</mc:Fallback></mc:AlternateContent></w:r></w:p>"
    )
    text, _ = read(build(paragraph, "<w:p>" + _r("Interviewer: Go on.") + "</w:p>"))
    assert text == (
        "P07: Then it went quiet.\n\nNote: the recorder stopped here.\n\nInterviewer: Go on."
    )


def test_a_vml_text_box_without_alternate_content_is_read() -> None:
    pict = (
        "<w:r><w:pict><v:shape><v:textbox><w:txbxContent><w:p>"
        + _r("Boxed aside.")
        + "</w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
    )
    text, _ = read(build("<w:p>" + _r("Before.") + pict + "</w:p>"))
    assert text == "Before.\n\nBoxed aside."


def test_tracked_insertions_are_kept_and_deletions_dropped() -> None:
    text, _ = read(
        build(
            "<w:p>"
            + _r("P07: The nurse ")
            + '<w:del w:id="1" w:author="T"><w:r><w:delText>never </w:delText></w:r></w:del>'
            + '<w:ins w:id="2" w:author="T">'
            + _r("always ")
            + "</w:ins>"
            + _r("calls back.")
            + '<w:moveFrom w:id="3" w:author="T">'
            + _r(" Moved away.")
            + "</w:moveFrom></w:p>"
        )
    )
    assert text == "P07: The nurse always calls back."


def test_fields_show_their_result_not_their_instruction() -> None:
    simple = (
        "<w:p>"
        + _r("Recorded on ")
        + '<w:fldSimple w:instr=" DATE \\@ &quot;d MMMM yyyy&quot; ">'
        + _r("3 March 2026")
        + "</w:fldSimple></w:p>"
    )
    complex_ = (
        "<w:p>"
        + _r("See ")
        + '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + '<w:r><w:instrText xml:space="preserve"> HYPERLINK "https://example.org" </w:instrText></w:r>'
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + _r("the guideline")
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        + _r(" for details.")
        + "</w:p>"
    )
    text, _ = read(build(simple, complex_))
    assert text == "Recorded on 3 March 2026\n\nSee the guideline for details."


def test_smart_tags_and_custom_xml_are_read() -> None:
    text, _ = read(
        build(
            "<w:p>"
            + _r("We met in ")
            + '<w:smartTag w:uri="urn:schemas-microsoft-com:office:smarttags" w:element="place">'
            + _r("Rimouski")
            + "</w:smartTag>"
            + '<w:customXml w:element="date">'
            + _r(" in May")
            + "</w:customXml>"
            + _r(".")
            + "</w:p>"
        )
    )
    assert text == "We met in Rimouski in May."


def test_tabs_breaks_symbols_and_no_break_hyphens() -> None:
    text, _ = read(
        build(
            "<w:p>"
            + _r("Week")
            + "<w:r><w:tab/></w:r>"
            + _r("two")
            + "<w:r><w:br/></w:r>"
            + _r("Jean")
            + "<w:r><w:noBreakHyphen/></w:r>"
            + _r("Paul said")
            + '<w:r><w:sym w:font="Symbol" w:char="2014"/></w:r>'
            + _r("yes")
            + "</w:p>"
        )
    )
    assert text == "Week\ttwo\nJean-Paul said—yes"


def test_footnotes_and_endnotes_come_at_the_end() -> None:
    footnotes = (
        f'<w:footnotes xmlns:w="{W}">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r>'
        + _r(" Pseudonym chosen by the participant.")
        + "</w:p></w:footnote></w:footnotes>"
    )
    endnotes = (
        f'<w:endnotes xmlns:w="{W}"><w:endnote w:id="2"><w:p>'
        + _r("Transcribed by A.B.")
        + "</w:p></w:endnote></w:endnotes>"
    )
    text, _ = read(
        build(
            "<w:p>"
            + _r("P07: Call me Lou.")
            + '<w:r><w:footnoteReference w:id="1"/></w:r></w:p>'
            + "<w:p>"
            + _r("Interviewer: Thank you.")
            + '<w:r><w:endnoteReference w:id="2"/></w:r></w:p>',
            parts={"word/footnotes.xml": footnotes, "word/endnotes.xml": endnotes},
        )
    )
    assert text == (
        "P07: Call me Lou.[^1]\n\nInterviewer: Thank you.[^2]\n\n"
        "[^1] Pseudonym chosen by the participant.\n\n[^2] Transcribed by A.B."
    )


def test_tables_with_content_controls_and_nested_tables_are_read() -> None:
    table = (
        "<w:tbl><w:tr><w:tc><w:p>"
        + _r("Site")
        + "</w:p></w:tc><w:tc><w:sdt><w:sdtContent><w:p>"
        + _r("Rimouski")
        + "</w:p></w:sdtContent></w:sdt></w:tc></w:tr>"
        + "<w:tr><w:tc><w:p>"
        + _r("Team")
        + "</w:p></w:tc><w:tc><w:tbl><w:tr><w:tc><w:p>"
        + _r("two nurses")
        + "</w:p></w:tc></w:tr></w:tbl></w:tc></w:tr></w:tbl>"
    )
    text, _ = read(build(table))
    assert text == "Site | Rimouski\n\nTeam | two nurses"


def test_equations_are_read() -> None:
    text, _ = read(
        build("<w:p>" + _r("Score ") + "<m:oMath><m:r><m:t>x+1</m:t></m:r></m:oMath></w:p>")
    )
    assert text == "Score x+1"


def test_text_in_an_unknown_element_is_named_in_a_warning() -> None:
    text, warnings = read(
        build(
            "<w:p>" + _r("Kept.") + "</w:p>",
            "<w:p>"
            + _r("Also kept ")
            + "<w:oddWrapper>"
            + _r("lost words")
            + "</w:oddWrapper></w:p>",
        )
    )
    assert text == "Kept.\n\nAlso kept"
    assert len(warnings) == 1
    assert "transcript.docx: paragraph 2" in warnings[0] and "'lost words'" in warnings[0]


def _damage(data: bytes, before: bytes, after: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "word/document.xml":
                content = content.replace(before, after)
            dst.writestr(item, content)
    return out.getvalue()


def _three_turns() -> bytes:
    return build(
        "<w:p>" + _r("Interviewer: Tell me more.") + "</w:p>",
        "<w:p>" + _r("P07: The ENTITY part matters.") + "</w:p>",
        "<w:p>" + _r("Interviewer: Thanks.") + "</w:p>",
    )


def test_html_entities_in_the_xml_are_read_as_their_characters() -> None:
    damaged = _damage(_three_turns(), b"ENTITY", b"caf&eacute; &amp; the rest")
    doc = parse_bytes("odd.docx", damaged)
    assert doc.text == (
        "Interviewer: Tell me more.\n\nP07: The café & the rest part matters.\n\n"
        "Interviewer: Thanks."
    )
    assert len(doc.warnings) == 1
    assert doc.warnings[0].startswith("odd.docx: word/document.xml is damaged")
    assert "recovered whole" in doc.warnings[0]


def test_text_a_recovering_parser_cuts_is_counted_and_its_paragraph_named() -> None:
    damaged = _damage(_three_turns(), b"ENTITY", b"odd &bogus; entity and more")
    doc = parse_bytes("odd.docx", damaged)
    assert doc.text.startswith("Interviewer: Tell me more.\n\nP07: The odd")
    assert doc.text.endswith("Interviewer: Thanks.")
    assert len(doc.warnings) == 1
    warning = doc.warnings[0]
    assert warning.startswith("odd.docx: paragraph 2: word/document.xml is damaged")
    lost = len("&bogus;"[:1] + " entity and more part matters.")  # the entity counts as one
    assert f"about {lost} of " in warning


def test_xml_beyond_repair_is_a_clear_error() -> None:
    from qual_nlp.errors import ImportFileError

    data = build("<w:p>" + _r("Words.") + "</w:p>")
    broken = _damage(data, b"<w:body>", b"<<<")
    with pytest.raises(ImportFileError, match="broken.docx"):
        parse_bytes("broken.docx", broken)
