"""De-identification of a real project file: detection runs once per document, review by
id, the dictionary, consistent pseudonyms, and de-identified segments and exports that keep
each coding on the pseudonymised version of its passage."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from qual_nlp.project import Project

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NCM = (
    "Interviewer: How did it start?\n"
    "NCM: Nurse Kowalczyk phoned Mr. Raymond Pelchat at 819-555-0143 every Tuesday. "
    "He lives at 412 Wellington Street in Sherbrooke and he was 91 years old.\n"
    "Interviewer: And the plan?\n"
    "NCM: The care plan was signed on March 14, 2023 with the pharmacist. Raymond Pelchat "
    "liked it, and his COPD got better.\n"
)
PATIENT = (
    "Interviewer: Who calls you?\n"
    "P07: Nurse Kowalczyk calls me on Mondays. Before that, my neighbour Phyllis Arsenault "
    "drove me to the emergency in Sherbrooke.\n"
)
PASSAGE = "Raymond Pelchat liked it, and his COPD got better."
IDENTIFIERS = ("Kowalczyk", "Pelchat", "819-555-0143", "Wellington", "Sherbrooke", "Phyllis",
               "Arsenault", "March 14", "91 years")  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Project:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "C03_interview_NCM.txt").write_text(NCM, encoding="utf-8")
    (folder / "C03_interview_P07.txt").write_text(PATIENT, encoding="utf-8")
    project = Project.init(tmp_path / "study.qnlp")
    outcomes = project.import_files([folder], case="C03")
    assert {o.status for o in outcomes} == {"imported"}
    text = project.document("C03_interview_NCM.txt").text
    start = text.index(PASSAGE)
    project.review.code_span(
        "C03_interview_NCM.txt",
        start,
        start + len(PASSAGE),
        "valence/facilitator",
        "ana",
        "Pelchat says so; ask Nurse Kowalczyk",
    )
    return project


def test_detection_finds_each_kind_and_a_second_run_processes_nothing(project: Project) -> None:
    first = project.deid.run(language="en")
    assert first["documents"] == 2
    assert {"PERSON", "PHONE", "ADDRESS", "LOCATION", "DATE", "AGE_OVER_89"} <= set(
        first["by_kind"]
    )
    second = project.deid.run(language="en")
    assert second["documents"] == 0 and second["skipped"] == 2 and second["detections"] == 0
    assert second["by_kind"] == first["by_kind"]


def test_the_store_keeps_offsets_and_a_hash_not_the_identifier(project: Project) -> None:
    project.deid.run(language="en")
    text = project.document("C03_interview_NCM.txt").text
    phone = [d for d in project.deid.detections("C03_interview_NCM.txt") if d.kind == "PHONE"]
    assert [text[d.start : d.end] for d in phone] == ["819-555-0143"]
    import hashlib

    assert phone[0].text_hash == hashlib.sha256(b"819-555-0143").hexdigest()
    assert phone[0].status == "suggested"


def test_pseudonyms_are_consistent_across_documents_and_role_aware(project: Project) -> None:
    project.deid.run(language="en")
    ncm = project.deid.text("C03_interview_NCM.txt")
    patient = project.deid.text("C03_interview_P07.txt")
    assert "Nurse [NURSE-1] phoned Mr. [PERSON-1]" in ncm
    assert "Nurse [NURSE-1] calls me" in patient
    assert ncm.count("[PERSON-1]") == 2  # the same man, twice
    assert "[LOCATION-1]" in ncm and "[LOCATION-1]" in patient  # Sherbrooke, in both
    assert "every Tuesday" in ncm and "on Mondays" in patient  # weekdays stay
    for identifier in IDENTIFIERS:
        assert identifier not in ncm + patient
    # labels are kept: asking again gives the same text
    assert project.deid.text("C03_interview_NCM.txt") == ncm


def test_a_rejected_detection_stays_and_an_added_span_goes(project: Project) -> None:
    project.deid.run(language="en")
    [date] = [d for d in project.deid.detections() if d.kind == "DATE"]
    assert project.deid.reject([date.id]) == 1
    ids = project.deid.add_text("C03_interview_NCM.txt", "pharmacist", "PERSON")
    assert len(ids) == 1
    text = project.deid.text("C03_interview_NCM.txt")
    assert "March 14, 2023" in text
    assert "pharmacist" not in text
    # a re-run (here forced by a dictionary change) keeps the lead's decisions
    project.deid.add_term("COPD", mode="always", kind="ORGANIZATION")
    again = project.deid.run(language="en")
    assert again["documents"] == 2
    statuses = {d.id: d.status for d in project.deid.detections()}
    assert statuses[date.id] == "rejected" and statuses[ids[0]] == "added"
    assert "COPD" not in project.deid.text("C03_interview_NCM.txt")


def test_never_terms_are_not_caught(project: Project) -> None:
    project.deid.add_term("Sherbrooke", mode="never")
    project.deid.run(language="en")
    assert "Sherbrooke" in project.deid.text("C03_interview_P07.txt")


def test_deidentified_segments_keep_codes_as_speakers_and_remap_offsets(project: Project) -> None:
    project.deid.run(language="en")
    report = project.deid.segments_report()
    blob = json.dumps(report, ensure_ascii=False)
    for identifier in IDENTIFIERS:
        assert identifier not in blob
    assert {r["speaker"] for r in report} == {"Interviewer", "NCM", "P07"}
    texts = {r["document"]: project.deid.text(r["document"]) for r in report}
    for r in report:
        assert texts[r["document"]][r["start"] : r["end"]] == r["text"]
    assert any("[PERSON-1] liked it, and his COPD" in r["text"] for r in report)
    [coding] = project.deid.codings(coders=["ana"]).itertuples()
    assert coding.text == "[PERSON-1] liked it, and his COPD got better."
    assert texts[coding.document][coding.start : coding.end] == coding.text


def test_a_speaker_named_by_name_takes_a_pseudonym(tmp_path: Path) -> None:
    source = tmp_path / "C09_interview.txt"
    source.write_text(
        "Interviewer: Tell me about the clinic.\n"
        "Dr. Lindqvist: It is busy, we see many frail patients.\n",
        encoding="utf-8",
    )
    with Project.init(tmp_path / "s.qnlp") as project:
        project.import_files([source])
        speakers = set(project.deid.segments()["speaker"])
    assert "Interviewer" in speakers
    assert not any("Lindqvist" in str(s) for s in speakers)


def test_a_coded_passage_round_trips_through_a_deidentified_qdpx(
    project: Project, tmp_path: Path
) -> None:
    project.deid.run(language="en", accept_all=True)
    out = tmp_path / "shared.qdpx"
    project.analysis.export("qdpx", out, deidentified=True)
    pseudonymised = project.deid.text("C03_interview_NCM.txt")
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("project.qde")
        everything = b"".join(archive.read(n) for n in archive.namelist()).decode("utf-8")
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "refi" / "Project.xsd")))
    assert schema.validate(etree.fromstring(xml)), schema.error_log
    for identifier in IDENTIFIERS:
        assert identifier not in everything
    with Project.init(tmp_path / "back.qnlp") as back:
        back.import_files([out])
        document = back.document("C03_interview_NCM.txt")
        assert document.text == pseudonymised
        coded = back.codings(coders=["ana"])
    [row] = coded.itertuples()
    assert row.text == "[PERSON-1] liked it, and his COPD got better."
    assert row.memo == "[PERSON-1] says so; ask Nurse [NURSE-1]"
    assert 0 <= row.start < row.end <= len(pseudonymised)
    assert pseudonymised[row.start : row.end] == row.text


def test_a_deidentified_workbook_quotes_the_pseudonymised_passage(
    project: Project, tmp_path: Path
) -> None:
    out = tmp_path / "shared.xlsx"
    project.analysis.export("xlsx", out, deidentified=True)
    book = openpyxl.load_workbook(out, read_only=True)
    cells = [
        str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c
    ]
    assert any("[PERSON-1] liked it" in c for c in cells)
    assert not any(i in c for c in cells for i in IDENTIFIERS)


def test_the_setting_gives_non_leads_deidentified_views_only(project: Project) -> None:
    assert not project.deid.required
    assert not project.deid.must_deidentify("lead")
    assert project.deid.must_deidentify("patient_partner")  # always
    assert not project.deid.must_deidentify("analyst")
    project.deid.set_required(True)
    assert project.deid.must_deidentify("analyst")
    assert not project.deid.must_deidentify("lead")
    project.deid.set_required(False)
    assert project.deid.must_deidentify("patient_partner")


def test_a_changed_document_is_detected_again_and_new_ones_only(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(200):
        (folder / f"doc_{i:03}.txt").write_text(
            f"Interviewer: Who helped?\nP{i:02}: Nurse Tremblay called me from Rimouski, "
            f"visit {i}.\n",
            encoding="utf-8",
        )
    with Project.init(tmp_path / "big.qnlp") as project:
        project.import_files([folder])
        assert project.deid.run(language="en")["documents"] == 200
        for i in range(200, 203):
            (folder / f"doc_{i:03}.txt").write_text(
                f"P{i}: Dr. Gagnon saw me in Matane, visit {i}.\n", encoding="utf-8"
            )
        project.import_files([folder])
        rerun = project.deid.run(language="en")
        assert rerun["documents"] == 3 and rerun["skipped"] == 200
        assert "Gagnon" not in project.deid.text("doc_201.txt")


def test_a_patient_partner_view_never_holds_an_original_identifier(
    project: Project, tmp_path: Path
) -> None:
    partner, lead = project.deid.view("patient_partner"), project.deid.view("lead")
    assert partner.deidentified and not lead.deidentified
    sid = int(project.segments().query("text.str.contains('Pelchat')").iloc[0]["segment_id"])
    item = partner.review_item(sid, "pat")
    readable = [
        json.dumps(partner.segments_report(), ensure_ascii=False),
        partner.segments().to_json(force_ascii=False),
        partner.codings().to_json(force_ascii=False),
        partner.text("C03_interview_P07.txt"),
        json.dumps([item.segment, item.previous, item.next], ensure_ascii=False),
    ]
    out = partner.export("xlsx", tmp_path / "partner.xlsx")
    book = openpyxl.load_workbook(out, read_only=True)
    readable += [
        str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c
    ]
    for identifier in IDENTIFIERS:
        assert not any(identifier in text for text in readable), identifier
    assert "Kowalczyk" in lead.text("C03_interview_P07.txt")
    assert "Pelchat" in lead.review_item(sid, "ana").segment["text"]


def test_each_document_is_read_in_its_own_language(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "fr_court.txt").write_text(
        "P02: L'infirmière Gagnon vient le mardi.\n", encoding="utf-8"
    )
    (folder / "en_long.txt").write_text(NCM, encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text("file,case,language\nfr_court.txt,C01,fr\nen_long.txt,C01,\n", encoding="utf-8")
    with Project.init(tmp_path / "m.qnlp") as project:
        project.import_files([folder], meta=meta)
        project.deid.run()
        languages = {
            name: lang for name, (_sha, lang, _cfg) in project.store.deid.processed().items()
        }
        assert languages == {"fr_court.txt": "fr", "en_long.txt": "en"}
        # Kowalczyk, the nurse of the other document, is NURSE-1
        assert "L'infirmière [NURSE-2] vient le mardi." in project.deid.text("fr_court.txt")
