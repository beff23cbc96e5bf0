"""Writing REFI-QDA projects (.qdpx) and codebooks (.qdc)."""

from __future__ import annotations

import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from qual_nlp.errors import ExchangeError
from qual_nlp.exchange.refi_export import codebook_xml, project_xml, write_qdc, write_qdpx
from qual_nlp.records import (
    Case,
    Code,
    Codebook,
    Coder,
    Coding,
    Document,
    Facet,
    Participant,
    ProjectSnapshot,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "refi"
NS = {"q": "urn:QDA-XML:project:1.0", "c": "urn:QDA-XML:codebook:1.0"}

INTERVIEW = (
    "Interviewer: Pouvez-vous décrire l'accès aux services?\n"
    "NCM: Honnêtement 🙂 la coordination avec l'hôpital régional est difficile. "
    "Les médecins de famille ne répondent pas toujours, et les délais d'attente sont longs.\n"
    "Interviewer: Et le soutien de la direction?\n"
    "NCM: La gestionnaire nous écoute; elle a dégagé du temps pour les rencontres d'équipe 👍. "
    "C'est une culture d'entraide qui fait la différence.\n"
)
FOCUS_GROUP = (
    "P07: Since the nurse called me every week I feel less alone — “she knows my story”.\n"
    "P12: For me the pharmacy was the barrier: no bilingual staff, señor Pérez had to translate.\n"
    "P07: The care plan helped me to set goals 🎯 and I went to the ER less often.\n"
)
FIELD_NOTES = (
    "Observation, clinique C01, mardi. Réunion interdisciplinaire de 45 minutes; "
    "l'infirmière présente trois cas complexes. Ambiance détendue, humour ☕.\n"
)


def span(text: str, passage: str) -> tuple[int, int]:
    start = text.index(passage)
    return start, start + len(passage)


def realistic_codebook() -> Codebook:
    return Codebook(
        name="cm-implementation",
        version="2.1",
        description="Case management implementation codebook — barrières, CFIR 2.0, CMO.",
        facets=(
            Facet("valence", "Valence", True, "Is the passage a barrier or a facilitator?"),
            Facet("cfir_domain", "CFIR 2.0 domain", False, "Where the determinant sits."),
            Facet("cmo", "Realist CMO", False),
        ),
        codes=(
            Code(
                "barrier",
                "valence",
                "Barrier",
                definition="Something that hinders implementation of case management.",
                inclusion="Explicit obstacles, delays, missing resources.",
                exclusion="Neutral descriptions of the setting.",
                examples=("les délais d'attente sont longs", "no bilingual staff 😕"),
                color="#C0392B",
            ),
            Code(
                "facilitator",
                "valence",
                "Facilitator",
                definition="Something that eases implementation.\n\nInclude: this line is part "
                "of the definition, not a criterion.",
                examples=("elle a dégagé du temps",),
                color="#27AE60",
            ),
            Code(
                "inner_setting",
                "cfir_domain",
                "Inner setting",
                definition="Features of the clinic.",
                color="#2980B9",
            ),
            Code(
                "culture",
                "cfir_domain",
                "Culture",
                parent="inner_setting",
                definition="Shared values and norms.",
                color="#5DADE2",
            ),
            Code(
                "leadership_engagement",
                "cfir_domain",
                "Leadership engagement",
                parent="inner_setting",
                definition="Managers' involvement and support.",
                color="#AED6F1",
            ),
            Code("outer_setting", "cfir_domain", "Outer setting", definition="The wider system."),
            Code("context", "cmo", "Context", definition="Circumstances that trigger a mechanism."),
            Code("mechanism", "cmo", "Mechanism", definition="Reasoning and response."),
            Code("outcome", "cmo", "Outcome", definition="What resulted.", color="#f39c12"),
        ),
    )


def realistic_snapshot() -> ProjectSnapshot:
    docs = (
        Document(
            "C01_interview_NCM.txt",
            INTERVIEW,
            "interview",
            "C01",
            source_format="txt",
            imported_at="2024-11-02T14:05:00Z",
            metadata={"interviewer": "A. Tremblay", "duration_min": 48, "language": "fr"},
        ),
        Document(
            "C02_focus_group.txt",
            FOCUS_GROUP,
            "focus_group",
            "C02",
            source_format="vtt",
            imported_at="2024-11-03T09:00:00+01:00",
            metadata={"participants": ["P07", "P12"]},
        ),
        Document("C01_field_notes.txt", FIELD_NOTES, "field_notes", "C01", imported_at=""),
    )
    a, b, m = "analyst-a", "partner-b", "model:minilm-lr@3"
    hop = span(INTERVIEW, "la coordination avec l'hôpital régional est difficile")
    wait = span(INTERVIEW, "les délais d'attente sont longs")
    both = span(INTERVIEW, "Les médecins de famille ne répondent pas toujours, et les délais")
    lead = span(INTERVIEW, "elle a dégagé du temps pour les rencontres d'équipe 👍")
    cult = span(INTERVIEW, "C'est une culture d'entraide qui fait la différence.")
    call = span(FOCUS_GROUP, "Since the nurse called me every week I feel less alone")
    pharm = span(FOCUS_GROUP, "the pharmacy was the barrier: no bilingual staff")
    plan = span(FOCUS_GROUP, "The care plan helped me to set goals 🎯")
    er = span(FOCUS_GROUP, "I went to the ER less often")
    meet = span(FIELD_NOTES, "Réunion interdisciplinaire de 45 minutes")
    d1, d2, d3 = (d.name for d in docs)
    codings = (
        Coding(d1, *hop, "valence/barrier", a, created_at="2024-11-05T10:00:00Z"),
        Coding(d1, *hop, "valence/barrier", b, created_at="2024-11-06T11:30:00Z"),
        Coding(d1, *hop, "cfir_domain/outer_setting", a, memo="Hôpital = outer setting 🏥"),
        Coding(d1, *hop, "valence/barrier", m, "suggested", 0.8134, "minilm-lr@3"),
        Coding(d1, *wait, "valence/barrier", m, "suggested", 0.66, "minilm-lr@3"),
        Coding(d1, *both, "cmo/context", b, created_at="2024-11-06T11:31:00Z"),
        Coding(d1, *lead, "valence/facilitator", a),
        Coding(d1, *lead, "cfir_domain/leadership_engagement", a),
        Coding(d1, *lead, "cfir_domain/leadership_engagement", m, "accepted", 0.91, "minilm-lr@3"),
        Coding(d1, *cult, "cfir_domain/culture", b, memo="culture d'entraide\nsecond line"),
        Coding(d1, *cult, "valence/barrier", m, "rejected", 0.41, "minilm-lr@3", memo="wrong"),
        Coding(d2, *call, "cmo/mechanism", a),
        Coding(d2, *call, "cmo/mechanism", b),
        Coding(d2, *pharm, "valence/barrier", b),
        Coding(d2, *pharm, "valence/facilitator", m, "rejected", 0.12, "minilm-lr@2"),
        Coding(d2, *plan, "cmo/mechanism", m, "suggested", 0.55, "minilm-lr@3"),
        Coding(d2, *er, "cmo/outcome", a),
        Coding(d3, *meet, "cfir_domain/inner_setting", a),
    )
    return ProjectSnapshot(
        name="Étude CM — 10 cliniques",
        created_at="2024-10-30T08:00:00Z",
        cases=(
            Case(
                "C01",
                {
                    "province": "Québec",
                    "rurality": "rural",
                    "clinics": 3,
                    "share": 0.25,
                    "teaching": True,
                },
            ),
            Case("C02", {"province": "Ontario", "rurality": "urban", "clinics": 5, "share": 0.5}),
        ),
        participants=(
            Participant("NCM", "nurse case manager", "C01"),
            Participant("P07", "patient", "C02"),
            Participant("Interviewer", None, None, is_interviewer=True),
        ),
        documents=docs,
        codebook=realistic_codebook(),
        coders=(Coder(a, "analyst"), Coder(b, "patient partner"), Coder(m, "model")),
        codings=codings,
    )


@pytest.fixture(scope="module")
def project_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(FIXTURES / "Project.xsd")))


@pytest.fixture(scope="module")
def codebook_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(FIXTURES / "Codebook.xsd")))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("refi") / "study.qdpx"
    write_qdpx(realistic_snapshot(), path)
    return path


def qde(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("project.qde"))


def test_project_of_a_realistic_snapshot_validates_against_the_schema(exported, project_schema):
    root = qde(exported)
    assert project_schema.validate(root), project_schema.error_log


def test_a_minimal_snapshot_validates_and_has_no_empty_containers(project_schema):
    snap = ProjectSnapshot(name="empty", documents=(Document("a.txt", "Some text."),))
    root = etree.fromstring(project_xml(snap))
    assert project_schema.validate(root), project_schema.error_log
    for tag in ("Users", "CodeBook", "Variables", "Cases", "Sets", "Links", "Graphs"):
        assert root.find(f"q:{tag}", NS) is None or len(root.find(f"q:{tag}", NS))
    assert root.find("q:CodeBook", NS) is None and root.find("q:Sets", NS) is None


def test_codebook_validates_against_the_codebook_schema(tmp_path, codebook_schema):
    path = tmp_path / "cm.qdc"
    write_qdc(realistic_codebook(), path)
    assert codebook_schema.validate(etree.parse(str(path))), codebook_schema.error_log


def test_files_are_utf8_without_bom_and_declare_their_encoding(exported, tmp_path):
    write_qdc(realistic_codebook(), tmp_path / "cm.qdc")
    with zipfile.ZipFile(exported) as zf:
        blobs = {n: zf.read(n) for n in zf.namelist()}
    blobs["cm.qdc"] = (tmp_path / "cm.qdc").read_bytes()
    for name, data in blobs.items():
        assert not data.startswith(b"\xef\xbb\xbf"), name
        data.decode("utf-8")
        if not name.endswith(".txt"):
            assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'), name


def test_archive_holds_project_qde_and_one_plain_text_file_per_source(exported):
    root = qde(exported)
    with zipfile.ZipFile(exported) as zf:
        names = set(zf.namelist())
    sources = root.findall("q:Sources/q:TextSource", NS)
    assert len(sources) == 3
    for src in sources:
        assert src.find("q:PlainTextContent", NS) is None
        assert src.get("plainTextPath") == f"internal://{src.get('guid')}.txt"
        assert f"sources/{src.get('guid')}.txt" in names
    assert names == {"project.qde"} | {f"sources/{s.get('guid')}.txt" for s in sources}


def test_selection_positions_count_code_points_of_the_shipped_text(exported):
    snap = realistic_snapshot()
    texts = {d.name: d.text for d in snap.documents}
    root = qde(exported)
    checked = 0
    with zipfile.ZipFile(exported) as zf:
        for src in root.findall("q:Sources/q:TextSource", NS):
            shipped = zf.read(f"sources/{src.get('guid')}.txt").decode("utf-8")
            assert shipped == texts[src.get("name")]
            for sel in src.findall("q:PlainTextSelection", NS):
                start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                wanted = {(c.start, c.end) for c in snap.codings if c.document == src.get("name")}
                assert (start, end) in wanted
                checked += 1
    lead = span(INTERVIEW, "elle a dégagé du temps pour les rencontres d'équipe 👍")
    # past the first emoji, UTF-16 code units would differ from code points by one
    assert len(INTERVIEW[: lead[0]].encode("utf-16-le")) // 2 == lead[0] + 1
    kept = {(c.document, c.start, c.end, c.coder) for c in snap.codings if c.status != "rejected"}
    assert checked == len(kept)


def test_each_selection_belongs_to_the_one_coder_of_its_codings(exported):
    # QualCoder takes the coder of a text coding from its selection's creatingUser
    root = qde(exported)
    for sel in root.iterfind(".//q:PlainTextSelection", NS):
        creators = {c.get("creatingUser") for c in sel.findall("q:Coding", NS)}
        assert creators == {sel.get("creatingUser")}


def test_reexport_gives_identical_bytes_and_guids(tmp_path):
    write_qdpx(realistic_snapshot(), tmp_path / "one.qdpx")
    write_qdpx(realistic_snapshot(), tmp_path / "two.qdpx")
    assert (tmp_path / "one.qdpx").read_bytes() == (tmp_path / "two.qdpx").read_bytes()


def test_code_guids_are_the_same_in_the_codebook_and_the_project(exported):
    in_project = {
        c.get("name"): c.get("guid") for c in qde(exported).iterfind(".//q:CodeBook//q:Code", NS)
    }
    qdc = etree.fromstring(codebook_xml(realistic_codebook()))
    in_codebook = {c.get("name"): c.get("guid") for c in qdc.iterfind(".//c:Code", NS)}
    assert in_project == in_codebook and len(in_project) == 12


def test_facets_are_uncodable_top_level_codes_with_codes_nested_three_levels(exported):
    codes = qde(exported).find("q:CodeBook/q:Codes", NS)
    top = codes.findall("q:Code", NS)
    assert [c.get("name") for c in top] == ["Valence", "CFIR 2.0 domain", "Realist CMO"]
    assert {c.get("isCodable") for c in top} == {"false"}
    culture = codes.find("q:Code/q:Code[@name='Inner setting']/q:Code[@name='Culture']", NS)
    assert culture is not None and culture.get("color") == "#5DADE2"
    assert culture.get("isCodable") == "true"
    barrier = codes.find("q:Code/q:Code[@name='Barrier']", NS)
    text = barrier.findtext("q:Description", namespaces=NS)
    assert text.startswith("Something that hinders implementation of case management.")
    assert "Include: Explicit obstacles" in text and "Exclude: Neutral" in text
    assert "- no bilingual staff 😕" in text


def test_colors_are_written_as_six_digit_hex():
    cb = realistic_codebook()
    odd = (replace(cb.codes[0], color="#abc"), replace(cb.codes[1], color="red"))
    root = etree.fromstring(codebook_xml(replace(cb, codes=(*odd, *cb.codes[2:]))))
    colors = {c.get("name"): c.get("color") for c in root.iterfind(".//c:Code", NS)}
    assert colors["Barrier"] == "#aabbcc" and colors["Facilitator"] is None
    assert colors["Outcome"] == "#f39c12"


def test_each_coder_and_each_model_version_is_a_user(exported):
    root = qde(exported)
    users = {u.get("name"): u.get("guid") for u in root.findall("q:Users/q:User", NS)}
    assert set(users) == {"analyst-a", "partner-b", "model:minilm-lr@3"}
    creators = {c.get("creatingUser") for c in root.iterfind(".//q:Coding", NS)}
    assert creators == set(users.values())


def test_suggestion_score_and_status_travel_in_the_coding_note(exported):
    root = qde(exported)
    model = root.find("q:Users/q:User[@name='model:minilm-lr@3']", NS).get("guid")
    notes = {n.get("guid"): n for n in root.findall("q:Notes/q:Note", NS)}
    described = []
    for coding in root.iterfind(".//q:Coding", NS):
        if coding.get("creatingUser") == model:
            note = notes[coding.find("q:NoteRef", NS).get("targetGUID")]
            described.append(note.findtext("q:Description", namespaces=NS))
    assert len(described) == 4
    assert any(d.startswith("suggested, score 0.81") and '"score":0.8134' in d for d in described)


def test_rejected_suggestions_are_not_codings_but_are_kept_in_the_project_note(exported):
    root = qde(exported)
    assert len(root.findall(".//q:Coding", NS)) == 16  # 18 codings, 2 rejected
    ref = root.find("q:NoteRef", NS).get("targetGUID")
    note = root.find(f"q:Notes/q:Note[@guid='{ref}']", NS)
    content = note.findtext("q:PlainTextContent", namespaces=NS)
    assert '"status"' not in content and content.count('"coder": "model:minilm-lr@') == 2


def test_cases_carry_typed_variables_and_their_sources(exported):
    root = qde(exported)
    kinds = {
        v.get("name"): v.get("typeOfVariable") for v in root.findall("q:Variables/q:Variable", NS)
    }
    assert kinds["province"] == "Text" and kinds["clinics"] == "Integer"
    assert kinds["share"] == "Float" and kinds["teaching"] == "Boolean"
    c01 = root.find("q:Cases/q:Case[@name='C01']", NS)
    assert c01.findtext("q:VariableValue/q:FloatValue", namespaces=NS) == "0.25"
    sources = {s.get("guid"): s.get("name") for s in root.iterfind(".//q:TextSource", NS)}
    members = {sources[r.get("targetGUID")] for r in c01.findall("q:SourceRef", NS)}
    assert members == {"C01_interview_NCM.txt", "C01_field_notes.txt"}
    assert root.find("q:Cases/q:Case[@name='NCM (C01)']", NS) is not None


def test_writing_into_a_missing_folder_names_the_path(tmp_path):
    with pytest.raises(ExchangeError, match=r"nowhere/study\.qdpx: cannot write here"):
        write_qdpx(realistic_snapshot(), tmp_path / "nowhere" / "study.qdpx")


def test_a_coding_of_an_unknown_code_is_refused():
    snap = realistic_snapshot()
    bad = Coding(snap.documents[0].name, 0, 5, "valence/unknown", "analyst-a")
    with pytest.raises(ExchangeError, match="valence/unknown"):
        project_xml(ProjectSnapshot(**{**snap.__dict__, "codings": (bad,)}))


def test_a_coding_outside_its_document_is_refused():
    snap = realistic_snapshot()
    bad = Coding(snap.documents[2].name, 10, 10_000, "valence/barrier", "analyst-a")
    with pytest.raises(ExchangeError, match="outside the document"):
        project_xml(ProjectSnapshot(**{**snap.__dict__, "codings": (bad,)}))


def test_a_code_with_an_unknown_parent_is_refused():
    cb = realistic_codebook()
    broken = Codebook(cb.name, cb.facets, (*cb.codes, Code("x", "cmo", "X", parent="nowhere")))
    with pytest.raises(ExchangeError, match="nowhere"):
        codebook_xml(broken)


def test_a_parent_loop_is_refused():
    cb = realistic_codebook()
    loop = (Code("a", "cmo", "A", parent="b"), Code("b", "cmo", "B", parent="a"))
    with pytest.raises(ExchangeError, match=r"\['cmo/a', 'cmo/b'\] are unreachable"):
        codebook_xml(replace(cb, codes=(*cb.codes, *loop)))


def test_duplicate_code_ids_are_refused():
    cb = realistic_codebook()
    with pytest.raises(ExchangeError, match=r"\['barrier'\] occur more than once"):
        codebook_xml(replace(cb, codes=(*cb.codes, replace(cb.codes[0], facet="cmo"))))


def test_exporting_fifty_thousand_codings(tmp_path, project_schema):
    text = "Les délais d'attente sont longs. " * 4000
    docs = tuple(Document(f"doc{i:02d}.txt", text) for i in range(10))
    codes = ("valence/barrier", "valence/facilitator", "cmo/context", "cmo/mechanism")
    coders = ("analyst-a", "partner-b", "model:minilm-lr@3")
    codings = tuple(
        Coding(
            f"doc{i % 10:02d}.txt",
            (i * 7) % 120_000,
            (i * 7) % 120_000 + 33,
            codes[i % 4],
            coders[i % 3],
            "suggested" if i % 3 == 2 else "accepted",
            0.5 if i % 3 == 2 else None,
            "minilm-lr@3" if i % 3 == 2 else None,
        )
        for i in range(50_000)
    )
    snap = ProjectSnapshot("big", documents=docs, codebook=realistic_codebook(), codings=codings)
    began = time.perf_counter()
    write_qdpx(snap, tmp_path / "big.qdpx")
    took = time.perf_counter() - began
    print(
        f"\nexported 50,000 codings in {took:.2f} s ({(tmp_path / 'big.qdpx').stat().st_size} bytes)"
    )
    root = qde(tmp_path / "big.qdpx")
    assert len(root.findall(".//q:Coding", NS)) == 50_000
    assert project_schema.validate(root), project_schema.error_log
