"""Reading REFI-QDA projects (.qdpx) and codebooks (.qdc), including hostile files."""

from __future__ import annotations

import stat
import warnings
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree
from test_refi_export import FIXTURES, realistic_codebook, realistic_snapshot

from qual_nlp.errors import ExchangeError
from qual_nlp.exchange.refi_export import project_xml, write_qdc, write_qdpx
from qual_nlp.exchange.refi_import import RefiImportWarning, ZipLimits, read_qdc, read_qdpx

#: Real exports without a licence: read in place (/work/shared/refi-qda/samples), never copied.
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "refi-qda" / "samples"
G = "{:08X}-0000-4000-8000-000000000000".format  # readable GUIDs for hand-made files


def make_qdpx(path: Path, qde: str | bytes, files: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", qde if isinstance(qde, bytes) else qde.encode("utf-8"))
        for name, data in (files or {}).items():
            zf.writestr(name, data)
    return path


def project(body: str, attrs: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="hand-made" {attrs}>{body}</Project>'
    )


CODEBOOK = (
    f'<CodeBook><Codes><Code guid="{G(1)}" name="Feelings" isCodable="true">'
    f'<Code guid="{G(2)}" name="Happy" isCodable="true" color="#FF0000"/></Code>'
    f'<Code guid="{G(3)}" name="Loose end" isCodable="true"/></Codes></CodeBook>'
)


def text_source(text_ref: str, selections: str = "", name: str = "Interview 1") -> str:
    return (
        f'<Sources><TextSource guid="{G(10)}" name="{name}" {text_ref}>'
        f"{selections}</TextSource></Sources>"
    )


def selection(start: int, end: int, code: int = 2, user: str = "") -> str:
    who = f'creatingUser="{user}"' if user else ""
    return (
        f'<PlainTextSelection guid="{G(100 + start)}" startPosition="{start}" endPosition="{end}">'
        f'<Coding guid="{G(200 + start)}" {who}><CodeRef targetGUID="{G(code)}"/></Coding>'
        "</PlainTextSelection>"
    )


# --------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------


def comparable(snapshot):
    def coding(c):
        return (c.document, c.start, c.end, c.code, c.coder, c.status, c.score,
                c.model_version, c.memo, c.created_at)  # fmt: skip

    return {
        "name": snapshot.name,
        "created_at": snapshot.created_at,
        "documents": sorted(
            (
                d.name,
                d.text,
                d.source_type,
                d.case,
                d.source_format,
                d.imported_at,
                repr(d.metadata),
            )
            for d in snapshot.documents
        ),
        "cases": sorted((c.name, repr(sorted(c.attributes.items()))) for c in snapshot.cases),
        "participants": sorted(snapshot.participants, key=lambda p: p.label),
        "coders": sorted((c.name, c.role) for c in snapshot.coders),
        "codings": sorted(coding(c) for c in snapshot.codings),
    }


def test_project_round_trip_is_lossless(tmp_path):
    original = realistic_snapshot()
    write_qdpx(original, tmp_path / "study.qdpx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing of ours is skipped
        back = read_qdpx(tmp_path / "study.qdpx")
    assert back.codebook == original.codebook
    assert comparable(back) == comparable(original)


def test_round_trip_passages_are_the_same_text(tmp_path):
    original = realistic_snapshot()
    write_qdpx(original, tmp_path / "study.qdpx")
    back = read_qdpx(tmp_path / "study.qdpx")
    texts = {d.name: d.text for d in back.documents}
    passages = Counter(texts[c.document][c.start : c.end] for c in back.codings)
    expected = {d.name: d.text for d in original.documents}
    assert passages == Counter(expected[c.document][c.start : c.end] for c in original.codings)
    assert "elle a dégagé du temps pour les rencontres d'équipe 👍" in passages


def test_codebook_round_trip_is_lossless(tmp_path):
    write_qdc(realistic_codebook(), tmp_path / "cm.qdc")
    assert read_qdc(tmp_path / "cm.qdc") == realistic_codebook()


def test_a_description_that_looks_like_our_layout_survives(tmp_path):
    cb = realistic_codebook()
    odd = replace(cb.codes[0], definition="Include: not a criterion", examples=("a\n- b",))
    cb = replace(cb, codes=(odd, *cb.codes[1:]))
    write_qdc(cb, tmp_path / "cm.qdc")
    assert read_qdc(tmp_path / "cm.qdc").codes[0] == odd


# --------------------------------------------------------------------------
# Real exports from other programs
# --------------------------------------------------------------------------


def needs_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} (real ATLAS.ti / MAXQDA exports) is not available")


def test_maxqda_24_export_imports_completely():
    needs_samples()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is skipped
        snap = read_qdpx(SAMPLES / "maxqda24-export.qdpx")
    with zipfile.ZipFile(SAMPLES / "maxqda24-export.qdpx") as zf:
        shipped = sum(len(zf.read(n).decode()) for n in zf.namelist() if n.startswith("sources/"))
    assert len(snap.documents) == 10
    assert sum(len(d.text) for d in snap.documents) == shipped
    assert [c.name for c in snap.coders] == ["johnb"]
    assert snap.codebook is not None
    assert len(snap.codebook.facets) == 18  # top-level codes
    assert len(snap.codebook.codes) == 289  # their children; 307 codes in all
    assert {c.parent for c in snap.codebook.codes} == {None}  # two levels deep
    with zipfile.ZipFile(SAMPLES / "maxqda24-export.qdpx") as zf:
        root = etree.fromstring(zf.read("project.qde"))
    ns = {"q": "urn:QDA-XML:project:1.0"}
    in_file = {
        c.get("name"): (c.get("color"), c.findtext("q:Description", namespaces=ns))
        for c in root.iterfind("q:CodeBook/q:Codes/q:Code/q:Code", ns)
    }
    assert {c.name: (c.color, c.definition) for c in snap.codebook.codes} == in_file
    assert all(f.description for f in snap.codebook.facets)
    assert len(snap.codings) == 0
    sets = Counter(s for d in snap.documents for s in d.metadata["sets"])
    assert sets == {"ICLS 2024": 5, "ICLS 2025": 5}


@pytest.mark.parametrize("name", ["blank-atlas-project", "target-atlas-project"])
def test_atlas_ti_23_exports_import(name):
    needs_samples()
    snap = read_qdpx(SAMPLES / f"{name}.qdpx")
    assert [c.name for c in snap.coders] == ["Enric Llagostera", "ATLAS.ti"]
    if name == "target-atlas-project":
        assert snap.codebook is not None
        assert [f.name for f in snap.codebook.facets] == ["Commits"]
        assert len(snap.codebook.codes) == 2


# --------------------------------------------------------------------------
# Mapping of what other programs write
# --------------------------------------------------------------------------


def test_crlf_source_is_normalised_and_offsets_follow(tmp_path):
    raw = "Line one\r\nLine two is coded\r\nEnd."
    start, end = raw.index("two"), raw.index(" coded")
    qde = project(
        CODEBOOK + text_source(f'plainTextPath="internal://{G(10)}.txt"', selection(start, end))
    )
    snap = read_qdpx(
        make_qdpx(
            tmp_path / "p.qdpx", qde, {f"sources/{G(10)}.txt": b"\xef\xbb\xbf" + raw.encode()}
        )
    )
    doc = snap.documents[0]
    assert doc.text == "Line one\nLine two is coded\nEnd."
    (c,) = snap.codings
    assert doc.text[c.start : c.end] == "two is"


def test_atlas_ti_offsets_count_a_crlf_as_one_character(tmp_path):
    raw = "Line one\r\nLine two is coded\r\nEnd."
    lf = raw.replace("\r\n", "\n")
    start, end = lf.index("two"), lf.index(" coded")
    body = CODEBOOK + text_source(f'plainTextPath="internal://{G(10)}.txt"', selection(start, end))
    qde = project(body, 'origin="ATLAS.ti for Windows 23.2.3.27778"')
    path = make_qdpx(tmp_path / "p.qdpx", qde, {f"sources/{G(10)}.txt": raw.encode()})
    snap = read_qdpx(path)
    (c,) = snap.codings
    assert snap.documents[0].text[c.start : c.end] == "two is"


def test_inline_plain_text_content_is_read(tmp_path):
    qde = project(
        CODEBOOK + f'<Sources><TextSource guid="{G(10)}" name="Inline">'
        "<PlainTextContent>Je suis très content.</PlainTextContent>"
        f"{selection(0, 7)}</TextSource></Sources>"
    )
    snap = read_qdpx(make_qdpx(tmp_path / "p.qdpx", qde))
    assert snap.documents[0].text == "Je suis très content."
    assert snap.codings[0].code == "feelings/happy"


def test_a_pdf_source_is_read_from_its_text_representation(tmp_path):
    qde = project(
        CODEBOOK
        + f'<Sources><PDFSource guid="{G(10)}" name="Report.pdf" path="internal://{G(12)}.pdf">'
        f'<Representation guid="{G(13)}"><PlainTextContent>Résumé: the clinic is happy.'
        f"</PlainTextContent>{selection(22, 27)}</Representation>"
        f'<PDFSelection guid="{G(14)}" page="0" firstX="1" firstY="1" secondX="9" secondY="9"/>'
        "</PDFSource></Sources>"
    )
    with pytest.warns(RefiImportWarning, match="1 PDF area selections"):
        snap = read_qdpx(make_qdpx(tmp_path / "p.qdpx", qde, {f"sources/{G(12)}.pdf": b"%PDF"}))
    (doc,) = snap.documents
    assert doc.name == "Report.pdf" and doc.text[22:27] == "happy"
    assert [(c.start, c.end, c.code) for c in snap.codings] == [(22, 27, "feelings/happy")]


def test_a_foreign_codebook_with_braced_guids_is_read(tmp_path):
    (tmp_path / "cb.qdc").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="{5215cc69-b628-4e02-afb9-9beeaee55808}" name="Topics" isCodable="false">'
        '<Code guid="{d7aa29da-519b-4946-9b90-253b6db8fd0a}" name="Economy" isCodable="true" '
        'color="#ffff00"><Description>Jobs, taxes or business</Description>'
        '<Code guid="{0dcef2f5-e55c-49da-8c33-9b0803c7aeb4}" name="Taxes" isCodable="true"/>'
        "</Code></Code></Codes></CodeBook>",
        encoding="utf-8",
    )
    cb = read_qdc(tmp_path / "cb.qdc")
    assert cb.name == "cb" and [f.id for f in cb.facets] == ["topics"]
    economy, taxes = cb.codes
    assert (economy.id, economy.definition, economy.color) == (
        "economy",
        "Jobs, taxes or business",
        "#ffff00",
    )
    assert (taxes.parent, taxes.path) == ("economy", "topics/taxes")


def test_flat_and_coded_top_level_codes_keep_their_codings(tmp_path):
    qde = project(
        CODEBOOK + f'<Sources><TextSource guid="{G(10)}" name="Inline">'
        "<PlainTextContent>Happy ending, loose end.</PlainTextContent>"
        f"{selection(0, 5, code=1)}{selection(14, 23, code=3)}</TextSource></Sources>"
    )
    snap = read_qdpx(make_qdpx(tmp_path / "p.qdpx", qde))
    assert snap.codebook is not None
    assert {f.id for f in snap.codebook.facets} == {"feelings", "codes"}
    assert sorted(c.code for c in snap.codings) == ["codes/loose_end", "feelings/feelings"]


def test_users_cases_and_document_variables_map_to_records(tmp_path):
    body = (
        f'<Users><User guid="{G(50)}" name="Marie"/></Users>'
        + CODEBOOK
        + f'<Variables><Variable guid="{G(60)}" name="age" typeOfVariable="Integer"/>'
        f'<Variable guid="{G(61)}" name="site" typeOfVariable="Text"/></Variables>'
        f'<Cases><Case guid="{G(70)}" name="Anna"><VariableValue><VariableRef targetGUID="{G(60)}"/>'
        f'<IntegerValue>34</IntegerValue></VariableValue><SourceRef targetGUID="{G(10)}"/></Case>'
        f'<Case guid="{G(71)}"><VariableValue><VariableRef targetGUID="{G(61)}"/>'
        f'<TextValue>Laval</TextValue></VariableValue><SourceRef targetGUID="{G(10)}"/></Case></Cases>'
        f'<Sources><TextSource guid="{G(10)}" name="Anna interview" creatingUser="{G(50)}">'
        "<PlainTextContent>Hello there.</PlainTextContent>"
        f"{selection(0, 5)}</TextSource></Sources>"
    )
    snap = read_qdpx(make_qdpx(tmp_path / "p.qdpx", project(body)))
    assert snap.cases[0].name == "Anna" and snap.cases[0].attributes == {"age": 34}
    doc = snap.documents[0]
    assert doc.case == "Anna" and doc.metadata == {"site": "Laval"}
    assert snap.codings[0].coder == "Marie"
    assert [(c.name, c.role) for c in snap.coders] == [("Marie", "analyst")]


def test_notes_are_memos_of_their_codings_and_other_notes_are_memos(tmp_path):
    sel = selection(0, 5).replace("</Coding>", f'<NoteRef targetGUID="{G(80)}"/></Coding>')
    body = (
        CODEBOOK + f'<Sources><TextSource guid="{G(10)}" name="Interview 1">'
        f"<PlainTextContent>Happy days.</PlainTextContent>{sel}</TextSource></Sources>"
        f'<Notes><Note guid="{G(80)}" name="memo"><PlainTextContent>Pourquoi?</PlainTextContent>'
        f'</Note><Note guid="{G(81)}" name="journal"><PlainTextContent>Day 1</PlainTextContent>'
        "</Note></Notes>"
    )
    snap = read_qdpx(make_qdpx(tmp_path / "p.qdpx", project(body)))
    assert [c.memo for c in snap.codings] == ["Pourquoi?"]
    # a note no coding holds is a memo of its own (a free-standing project memo here)
    assert [(m.title, m.text, m.links) for m in snap.memos] == [("journal", "Day 1", ())]


def test_a_docx_source_without_plain_text_is_skipped_with_a_warning(tmp_path):
    qde = project(CODEBOOK + text_source(f'richTextPath="internal://{G(11)}.docx"'))
    path = make_qdpx(tmp_path / "p.qdpx", qde, {f"sources/{G(11)}.docx": b"PK..."})
    with pytest.warns(RefiImportWarning, match="no plain-text representation"):
        snap = read_qdpx(path)
    assert snap.documents == ()


def test_a_docx_source_uses_its_plain_text_companion(tmp_path):
    qde = project(
        CODEBOOK + text_source(f'richTextPath="internal://{G(11)}.docx"', selection(0, 3))
    )
    files = {f"sources/{G(11)}.docx": b"PK...", f"sources/{G(11)}.txt": b"Oui, merci."}
    snap = read_qdpx(make_qdpx(tmp_path / "p.qdpx", qde, files))
    assert snap.documents[0].text == "Oui, merci." and snap.codings[0].end == 3


# --------------------------------------------------------------------------
# Malformed and hostile files
# --------------------------------------------------------------------------


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    (tmp_path / "p.qdpx").write_text("hello")
    with pytest.raises(ExchangeError, match=r"p\.qdpx: not a zip archive"):
        read_qdpx(tmp_path / "p.qdpx")


def test_an_archive_without_project_qde_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "p.qdpx", "w") as zf:
        zf.writestr("sources/a.txt", "x")
    with pytest.raises(ExchangeError, match="no project.qde"):
        read_qdpx(tmp_path / "p.qdpx")


def test_invalid_xml_is_refused(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", project("<Users>")[:-3])
    with pytest.raises(ExchangeError, match="malformed"):
        read_qdpx(path)


def test_a_wrong_namespace_is_refused(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", '<Project xmlns="urn:QDA-XML:project:0.4" name="x"/>')
    with pytest.raises(ExchangeError, match="urn:QDA-XML:project:0.4"):
        read_qdpx(path)


def test_a_codebook_in_the_project_namespace_is_refused(tmp_path):
    (tmp_path / "cb.qdc").write_bytes(project(CODEBOOK).encode())
    with pytest.raises(ExchangeError, match="expected a <CodeBook>"):
        read_qdc(tmp_path / "cb.qdc")


def test_a_selection_beyond_the_source_text_is_refused(tmp_path):
    qde = project(
        CODEBOOK + text_source(f'plainTextPath="internal://{G(10)}.txt"', selection(3, 40))
    )
    path = make_qdpx(tmp_path / "p.qdpx", qde, {f"sources/{G(10)}.txt": b"short text"})
    with pytest.raises(ExchangeError, match=r"spans 3\.\.40, outside the source text of 10"):
        read_qdpx(path)


def test_a_missing_source_file_is_refused(tmp_path):
    qde = project(text_source(f'plainTextPath="internal://{G(10)}.txt"'))
    with pytest.raises(ExchangeError, match="is not in the archive"):
        read_qdpx(make_qdpx(tmp_path / "p.qdpx", qde))


def test_a_source_path_that_leaves_the_sources_folder_is_refused(tmp_path):
    qde = project(text_source('plainTextPath="internal://../project.qde"'))
    with pytest.raises(ExchangeError, match="not a file in sources/"):
        read_qdpx(make_qdpx(tmp_path / "p.qdpx", qde))


XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"><Description>&x;</Description></Project>'
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + ']>\n<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"/>'
)


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_a_doctype_is_refused_in_projects(tmp_path, xml):
    with pytest.raises(ExchangeError, match="DOCTYPE"):
        read_qdpx(make_qdpx(tmp_path / "p.qdpx", xml))


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_a_doctype_is_refused_in_codebooks(tmp_path, xml):
    path = tmp_path / "cb.qdc"
    path.write_text(xml.replace("Project", "CodeBook").replace("project:1.0", "codebook:1.0"))
    with pytest.raises(ExchangeError, match="DOCTYPE"):
        read_qdc(path)


def test_a_doctype_after_a_comment_is_refused(tmp_path):
    xml = XXE.replace("\n<!DOCTYPE", "\n<!-- harmless -->\n<?pi x?>\n<!DOCTYPE")
    with pytest.raises(ExchangeError, match="DOCTYPE"):
        read_qdpx(make_qdpx(tmp_path / "p.qdpx", xml))


def test_utf16_xml_is_refused(tmp_path):
    xml = project("").replace("utf-8", "utf-16").encode("utf-16")
    with pytest.raises(ExchangeError, match="not UTF-8"):
        read_qdpx(make_qdpx(tmp_path / "p.qdpx", xml))


@pytest.mark.parametrize(
    "entry", ["../evil.txt", "/etc/evil.txt", "sources/../../evil.txt", "C:/evil.txt"]
)
def test_an_entry_that_escapes_the_archive_is_refused(tmp_path, entry):
    path = make_qdpx(tmp_path / "p.qdpx", project(""), {entry: b"evil"})
    with pytest.raises(ExchangeError, match="points outside the archive"):
        read_qdpx(path)


def test_a_symlink_entry_is_refused(tmp_path):
    path = make_qdpx(tmp_path / "p.qdpx", project(""))
    with zipfile.ZipFile(path, "a") as zf:
        info = zipfile.ZipInfo("sources/link.txt")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ExchangeError, match="symbolic link"):
        read_qdpx(path)


def test_a_zip_bomb_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("project.qde", project(text_source(f'plainTextPath="internal://{G(10)}.txt"')))
        with zf.open(f"sources/{G(10)}.txt", "w", force_zip64=True) as fh:
            block = b"\0" * 2**22
            for _ in range(100):  # 400 MiB of zeros
                fh.write(block)
    assert path.stat().st_size < 2 * 2**20
    with pytest.raises(ExchangeError, match="expands .*-fold .*zip bomb"):
        read_qdpx(path)


def test_an_entry_above_the_size_limit_is_refused(tmp_path):
    qde = project(text_source(f'plainTextPath="internal://{G(10)}.txt"'))
    path = make_qdpx(tmp_path / "p.qdpx", qde, {f"sources/{G(10)}.txt": b"x" * 5000})
    with pytest.raises(ExchangeError, match="above the limit of 4000"):
        read_qdpx(path, limits=ZipLimits(max_entry_bytes=4000))


def test_too_many_entries_are_refused(tmp_path):
    files = {f"sources/{i}.txt": b"x" for i in range(20)}
    path = make_qdpx(tmp_path / "p.qdpx", project(""), files)
    with pytest.raises(ExchangeError, match="21 entries, more than the limit of 10"):
        read_qdpx(path, limits=ZipLimits(max_entries=10))


def test_total_size_limit_counts_every_entry_read(tmp_path):
    snap = realistic_snapshot()
    write_qdpx(snap, tmp_path / "study.qdpx")
    qde_size = len(project_xml(snap))
    with pytest.raises(ExchangeError, match="exceeds the size limits"):
        read_qdpx(tmp_path / "study.qdpx", limits=ZipLimits(max_total_bytes=qde_size + 100))


def test_the_shipped_schemas_accept_the_real_exports():
    needs_samples()
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "Project.xsd")))
    for sample in SAMPLES.glob("*.qdpx"):
        with zipfile.ZipFile(sample) as zf:
            assert schema.validate(etree.fromstring(zf.read("project.qde"))), sample
