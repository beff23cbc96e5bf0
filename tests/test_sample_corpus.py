"""The bundled sample study (``corpora_samples/``) imports to the numbers counted by hand.

Every expected number below was counted once from ``meta.csv``, the files and
``gold_codings.csv`` and is written as a literal, so a change in importing,
segmenting or quote matching shows up here as a changed count.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from qual_nlp.project import Project

SAMPLES = Path(__file__).resolve().parent.parent / "corpora_samples"

ANALYST, INVESTIGATOR, PARTNER = "amelie.gagnon", "rachid.benali", "gilles.ouellet"

CASE_ATTRIBUTES = [
    {"case": "C01", "province": "QC", "rurality": "urban"},
    {"case": "C02", "province": "QC", "rurality": "rural"},
    {"case": "C03", "province": "ON", "rurality": "urban"},
    {"case": "C04", "province": "NB", "rurality": "urban"},
    {"case": "C05", "province": "MB", "rurality": "rural"},
]

# document → (participant_role column of meta.csv, {speaker: role} of the participants,
#             interviewer labels); field notes have no speakers at all.
FIELD_NOTES = ("research coordinator", {}, set())
DOCUMENTS: dict[str, tuple[str, dict[str, str], set[str]]] = {
    "C01_ncm_interview.txt": (
        "nurse case manager",
        {"NCM": "nurse case manager"},
        {"Interviewer"},
    ),
    "C01_manager_interview.docx": (
        "clinic manager",
        {"Manager": "clinic manager"},
        {"Interviewer"},
    ),
    "C01_gp_interview.vtt": (
        "family physician",
        {"Marc-André Dubois": "family physician"},
        {"Julie Roy"},
    ),
    "C01_patient_P01_interview.txt": ("patient", {"P01": "patient"}, {"INT"}),
    "C01_patient_P02_interview.srt": ("patient", {"P02": "patient"}, {"Interviewer"}),
    "C01_field_notes.md": FIELD_NOTES,
    "C02_ncm_interview.txt": (
        "nurse case manager",
        {"Josée": "nurse case manager"},
        {"Interviewer"},
    ),
    "C02_manager_interview.txt": (
        "clinic manager",
        {"Réjean Bélanger": "clinic manager"},
        {"Interviewer"},
    ),
    "C02_gp_interview.docx": (
        "family physician",
        {"Dr. Lévesque": "family physician"},
        {"Interviewer"},
    ),
    "C02_patient_P03_interview.txt": ("patient", {"MARIE": "patient"}, {"INTERVIEWER"}),
    "C02_field_notes.docx": FIELD_NOTES,
    "C03_ncm_interview.vtt": (
        "nurse case manager",
        {"Karen": "nurse case manager"},
        {"Interviewer"},
    ),
    "C03_manager_interview.txt": (
        "clinic manager",
        {"Manager": "clinic manager"},
        {"Interviewer"},
    ),
    "C03_gp_interview.txt": (
        "family physician",
        {"Dr. Patel": "family physician"},
        {"Interviewer"},
    ),
    "C03_patient_P05_interview.txt": ("patient", {"P05": "patient"}, {"Int"}),
    "C03_field_notes.md": FIELD_NOTES,
    "C04_ncm_interview.docx": (
        "nurse case manager",
        {"NCM": "nurse case manager"},
        {"Interviewer"},
    ),
    "C04_manager_interview.srt": (
        "clinic manager",
        {"Manager": "clinic manager"},
        {"Interviewer"},
    ),
    "C04_gp_interview.txt": (
        "family physician",
        {"Dr. Arsenault": "family physician"},
        {"Interviewer"},
    ),
    "C04_patient_P09_interview.txt": ("patient", {"P09": "patient"}, {"INT"}),
    "C04_field_notes.md": FIELD_NOTES,
    "C05_ncm_interview.txt": (
        "nurse case manager",
        {"NCM": "nurse case manager"},
        {"Interviewer"},
    ),
    "C05_manager_interview.docx": (
        "clinic manager",
        {"Manager": "clinic manager"},
        {"Interviewer"},
    ),
    "C05_gp_interview.vtt": (
        "family physician",
        {"Dr. Kowalchuk": "family physician"},
        {"Marc Thibault"},
    ),
    "C05_patient_P12_interview.txt": ("patient", {"P12": "patient"}, {"Interviewer"}),
    "C05_field_notes.md": FIELD_NOTES,
    # French documents, with French speaker labels (the interviewer as I, Intervieweuse,
    # Intervieweur) and the second set of C02 field notes
    "C01_ncm_followup_interview_fr.txt": (
        "nurse case manager",
        {"Infirmière": "nurse case manager"},
        {"I"},
    ),
    "C02_patient_P04_interview_fr.txt": (
        "patient",
        {"Participante 4": "patient"},
        {"Intervieweuse"},
    ),
    "C02_field_notes_fr.md": FIELD_NOTES,
    "C04_patient_P10_interview_fr.txt": ("patient", {"P10": "patient"}, {"Intervieweur"}),
    "FG1_physicians_focus_group.vtt": (
        "family physician",
        {
            "Dr. Arsenault": "family physician",
            "Dr. Gagné": "family physician",
            "Dr. Kowalchuk": "family physician",
            "Dr. Lefebvre": "family physician",
            "Dr. Okafor": "family physician",
        },
        {"Moderator"},
    ),
    "FG2_professionals_focus_group.txt": (
        "other professional",
        {
            "Linda": "medical secretary",
            "Nadia": "social worker",
            "Sanjay": "pharmacist",
            "Sylvie": "nurse practitioner",
            "Tom": "physiotherapist",
        },
        {"Moderator"},
    ),
}

# The focus group's participant_role applies to the physicians, who are not
# listed one by one in participant_roles; the importer gives a document's role
# only to a lone participant, so they are stored without a role for now.
PHYSICIANS_FOCUS_GROUP = "FG1_physicians_focus_group.vtt"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, list]:
    """The whole folder imported with meta.csv (one import for the module)."""
    path = tmp_path_factory.mktemp("sample") / "sample.qnlp"
    project = Project.init(path)
    outcomes = project.import_files([SAMPLES], meta=SAMPLES / "meta.csv")
    yield project, outcomes
    project.close()


@pytest.fixture(scope="module")
def coded(imported: tuple[Project, list]) -> tuple[Project, dict[str, int]]:
    """The same project with ``gold_codings.csv`` loaded."""
    project, _ = imported
    return project, project.import_codings(SAMPLES / "gold_codings.csv")


# ------------------------------------------------------------------ import
def test_the_folder_imports_every_document_and_no_table(imported):
    _, outcomes = imported
    assert Counter(o.status for o in outcomes) == {"imported": 32}
    assert sorted(o.document for o in outcomes) == sorted(DOCUMENTS)
    assert not any(Path(o.path).suffix == ".csv" for o in outcomes)


def test_counts_of_documents_cases_and_participants(imported):
    project, _ = imported
    counts = project.counts()
    assert counts["documents"] == 32  # 28 in English, 4 in French
    assert counts["cases"] == 5
    # the French interviews add I, Infirmière, Intervieweuse, Participante 4, Intervieweur, P10
    assert counts["participants"] == 49
    assert counts["coders"] == 0 and counts["codings"] == 0


def test_cases_carry_their_attributes_from_meta_csv(imported):
    project, _ = imported
    cases = project.cases().sort_values("case").reset_index(drop=True)
    assert cases.to_dict("records") == CASE_ATTRIBUTES


def test_documents_per_case_source_type_and_format(imported):
    project, _ = imported
    documents = project.documents()
    assert Counter(d.case for d in documents) == {
        "C01": 7,
        "C02": 7,
        "C03": 5,
        "C04": 6,
        "C05": 5,
        None: 2,
    }
    assert Counter(d.source_type for d in documents) == {
        "interview": 24,
        "field_notes": 6,
        "focus_group": 2,
    }
    assert Counter((d.case, d.source_type) for d in documents)[("C01", "interview")] == 6
    assert Counter(d.source_format for d in documents) == {
        "txt": 16,
        "docx": 5,
        "md": 5,
        "vtt": 4,
        "srt": 2,
    }


def test_participants_by_role(imported):
    project, _ = imported
    participants = project.participants()
    in_clinics = Counter(p.role for p in participants if p.case is not None)
    assert in_clinics == {
        "interviewer": 14,
        "patient": 8,
        "family physician": 5,
        "clinic manager": 5,
        "nurse case manager": 6,
    }
    assert sum(p.is_interviewer for p in participants) == 15
    assert all(p.role == "interviewer" for p in participants if p.is_interviewer)
    in_groups = {p.label: p.role for p in participants if p.case is None and p.role}
    assert in_groups == {
        "Moderator": "interviewer",
        "Dr. Arsenault": "family physician",
        "Dr. Gagné": "family physician",
        "Dr. Kowalchuk": "family physician",
        "Dr. Lefebvre": "family physician",
        "Dr. Okafor": "family physician",
        "Linda": "medical secretary",
        "Nadia": "social worker",
        "Sanjay": "pharmacist",
        "Sylvie": "nurse practitioner",
        "Tom": "physiotherapist",
    }
    group_labels = {p.label for p in participants if p.case is None}
    assert len(group_labels) == 11  # the moderator, five physicians, five professionals


def _document_roles(project: Project, name: str) -> tuple[str, dict[str, str], set[str]]:
    segments = project.segments(document=name)
    spoken = segments.dropna(subset=["speaker"])
    answers = spoken[~spoken["is_interviewer"].astype(bool)]
    roles = dict(zip(answers["speaker"], answers["role"], strict=True))
    interviewers = set(spoken.loc[spoken["is_interviewer"].astype(bool), "speaker"])
    return project.document(name).metadata["participant_role"], roles, interviewers


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_each_document_has_the_participant_roles_of_meta_csv(imported, name):
    project, _ = imported
    assert _document_roles(project, name) == DOCUMENTS[name]


def test_the_focus_group_physicians_are_its_participants(imported):
    project, _ = imported
    _, roles, interviewers = _document_roles(project, PHYSICIANS_FOCUS_GROUP)
    assert set(roles) == set(DOCUMENTS[PHYSICIANS_FOCUS_GROUP][1])
    assert interviewers == {"Moderator"}


def test_interviewer_turns_are_marked_and_only_them(imported):
    project, _ = imported
    segments = project.segments()
    # the French documents add 73 interviewer turns and 106 other passages (103 turns
    # and field-note paragraphs, 3 header lines)
    assert int(segments["is_interviewer"].sum()) == 536
    assert int((~segments["is_interviewer"].astype(bool)).sum()) == 777
    for name, (_, _, interviewers) in DOCUMENTS.items():
        mine = segments[segments["document"] == name]
        flagged = mine["is_interviewer"].astype(bool)
        assert flagged.equals(mine["speaker"].isin(interviewers)), name
        assert flagged.any() == bool(interviewers), name


def test_field_notes_have_no_speakers(imported):
    project, _ = imported
    segments = project.segments()
    notes = segments[segments["source_type"] == "field_notes"]
    assert notes["document"].nunique() == 6
    assert notes["speaker"].isna().all()


def test_the_cp1252_file_decodes_its_accents(imported):
    project, outcomes = imported
    document = project.document("C02_ncm_interview.txt")
    assert document.metadata["encoding"] == "cp1252"
    assert "infirmière gestionnaire de cas" in document.text
    assert "Saint-Félicien" in document.text
    assert "Ã" not in document.text  # no UTF-8 read of cp1252 bytes (mojibake)
    outcome = next(o for o in outcomes if o.document == "C02_ncm_interview.txt")
    assert any("cp1252" in w for w in outcome.warnings)


def test_the_crlf_file_keeps_no_carriage_return(imported):
    project, _ = imported
    assert b"\r\n" in (SAMPLES / "C01_patient_P01_interview.txt").read_bytes()
    document = project.document("C01_patient_P01_interview.txt")
    assert "\r" not in document.text
    assert "Clinique des Érables (Montréal)" in document.text
    assert not any("\r" in d.text for d in project.documents())


# ------------------------------------------------------------- gold codings
def test_gold_codings_load_every_quote(coded):
    _, loaded = coded
    # 420 rows and 373 codings on the French documents
    assert loaded == {"rows": 2197, "codings": 2053, "quotes_not_found": 0}


def test_gold_coders_and_their_roles(coded):
    project, _ = coded
    assert [(c.name, c.role) for c in project.coders()] == [
        (ANALYST, "analyst"),
        (INVESTIGATOR, "investigator"),
        (PARTNER, "patient_partner"),
    ]


def test_codings_documents_and_reviewed_segments_per_coder(coded):
    project, _ = coded
    codings = project.codings()
    assert set(codings["status"]) == {"accepted"}
    assert codings.groupby("coder").size().to_dict() == {
        ANALYST: 1269,  # 1044 on the English documents, 225 on the French ones
        INVESTIGATOR: 523,  # 477 + 46 (the French follow-up of the C01 case manager)
        PARTNER: 261,  # 159 + 102 (two French patient interviews, the French C02 notes)
    }
    assert codings.groupby("coder")["segment_id"].nunique().to_dict() == {
        ANALYST: 496,  # 413 + 83
        INVESTIGATOR: 208,  # 186 + 22
        PARTNER: 152,  # 94 + 58
    }
    assert codings.groupby("coder")["document"].nunique().to_dict() == {
        ANALYST: 32,
        INVESTIGATOR: 14,
        PARTNER: 11,
    }
    assert project.review.coverage().groupby("coder").size().to_dict() == {
        ANALYST: 777,  # 671 + 106
        INVESTIGATOR: 363,  # 336 + 27
        PARTNER: 263,  # 184 + 79
    }


def test_two_patient_interviews_are_coded_by_all_three_coders(coded):
    """The investigator also coded two patient interviews of the patient partner."""
    project, _ = coded
    shared = ["C01_patient_P01_interview.txt", "C04_patient_P09_interview.txt"]
    codings = project.codings()
    documents = codings.groupby("coder")["document"].agg(set)
    assert sorted(documents[INVESTIGATOR] & documents[PARTNER]) == shared
    per_segment = codings.groupby("segment_id")["coder"].nunique()
    coded_by_all = codings[codings["segment_id"].isin(per_segment[per_segment == 3].index)]
    assert coded_by_all.groupby("document")["segment_id"].nunique().to_dict() == {
        shared[0]: 8,
        shared[1]: 13,
    }
    coverage = project.review.coverage()
    per_segment = coverage.groupby("segment_id")["coder"].nunique()
    reviewed_by_all = (
        project.segments().set_index("segment_id").loc[per_segment[per_segment == 3].index]
    )
    assert reviewed_by_all.groupby("document").size().to_dict() == {shared[0]: 25, shared[1]: 26}


def _per_case(codings: pd.DataFrame, code: str) -> dict[str, int]:
    """Distinct coded segments of ``code`` per case (``-`` for documents without one)."""
    mine = codings[codings["code"] == code]
    return mine.groupby(mine["case"].fillna("-"))["segment_id"].nunique().to_dict()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # C01, C02 and C04 include their French documents' segments: barrier +8, +18, +5;
        # facilitator +13, +23, +11; mechanism +1, +6, +4; context +0, +5, +4; outcome +1,
        # +8, +6
        ("valence/barrier", {"C01": 34, "C02": 55, "C03": 46, "C04": 28, "C05": 49, "-": 21}),
        ("valence/facilitator", {"C01": 45, "C02": 43, "C03": 9, "C04": 43, "C05": 20, "-": 16}),
        ("cmo/mechanism", {"C01": 12, "C02": 11, "C03": 6, "C04": 16, "C05": 2, "-": 3}),
        ("cmo/context", {"C01": 10, "C02": 16, "C03": 7, "C04": 15, "C05": 5}),
        ("cmo/outcome", {"C01": 16, "C02": 20, "C03": 8, "C04": 18, "C05": 8, "-": 6}),
    ],
)
def test_analyst_coded_segments_per_code_and_case(coded, code, expected):
    project, _ = coded
    assert _per_case(project.codings(coders=[ANALYST]), code) == expected


def test_a_quote_over_two_segments_codes_both(coded):
    """C05 field notes: one facilitator quote runs over two paragraphs, so the 19
    facilitator quotes of C05 code 20 segments."""
    project, _ = coded
    codings = project.codings(coders=[ANALYST])
    mine = codings[
        (codings["code"] == "valence/facilitator") & (codings["document"] == "C05_field_notes.md")
    ]
    for words in ("Jolene reviewed the action plan", "Prednisone was prescribed"):
        assert mine["text"].str.contains(words, regex=False).sum() == 1, words


def test_loading_the_gold_codings_twice_changes_nothing(coded):
    project, _ = coded
    assert project.import_codings(SAMPLES / "gold_codings.csv") == {
        "rows": 2197,
        "codings": 0,
        "quotes_not_found": 0,
    }
    assert project.counts()["codings"] == 2053


def test_one_command_writes_the_cross_case_workbook_with_hand_counted_cells(coded, tmp_path):
    """From the sample project, ``qual-nlp export --format xlsx`` writes every sheet, and
    the analyst's theme x case cells equal the hand counts above."""
    import openpyxl

    from qual_nlp.cli import main

    project, _ = coded
    path = str(project.store.engine.url.database)  # the module's SQLite project file
    out = tmp_path / "sample.xlsx"
    assert main(["export", path, "--format", "xlsx", "--coder", ANALYST, "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out, read_only=True)
    assert {"Theme x case", "Barriers-facilitators", "CMO chains", "Quotes", "Codebook"} <= set(
        book.sheetnames
    )
    rows = list(book["Theme x case"].iter_rows(values_only=True))
    header = list(rows[0])
    by_code = {r[header.index("code")]: r for r in rows[1:]}
    barrier = by_code["valence/barrier"]
    assert [barrier[header.index(c)] for c in ("C01", "C02", "C03", "C04", "C05")] == [
        34,
        55,
        46,
        28,
        49,
    ]
    mechanism = by_code["cmo/mechanism"]
    assert [mechanism[header.index(c)] for c in ("C01", "C02", "C03", "C04", "C05")] == [
        12,
        11,
        6,
        16,
        2,
    ]
