"""The analysis workbook end to end: a real SQLite project, the CLI, openpyxl.

Three short transcripts in two cases, coded from a codings CSV by two analysts and a
consensus coder. The hand count (accepted codings, interviewers left out):

==============================================  ====  ====
code                                            C01   C02
==============================================  ====  ====
valence/barrier      (NCM2 twice, MD2 | P2, P3)    2     2
valence/facilitator  (NCM1, MD1 | P1)              2     1
cfir_domain/inner_setting (rolled up)              4     1
cfir_domain/inner_structural_characteristics       2     0
cfir_domain/outer_setting (rolled up)              0     1
cmo/context                                        1     1
==============================================  ====  ====
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import qual_nlp
from qual_nlp.analysis.workbook import sheet_name, write_csv, write_xlsx
from qual_nlp.cli import main

NCM = """Interviewer: How did the program start?
NCM: The medical director protected my hours, so I could see patients every week.
Interviewer: What was hard?
NCM: We could not see the hospital results, so I phoned the emergency every morning.
Interviewer: And then?
NCM: Once the patients trusted me they called me before going to the emergency.
"""
MD = """Interviewer: What do you think of the nurse?
MD: Having her down the hall makes referrals easy.
Interviewer: Any problem?
MD: Some colleagues never referred anyone to her.
"""
P07 = """Interviewer: How did the nurse help you?
P07: She calls me every week and that makes me feel safe.
Interviewer: Was anything difficult?
P07: The pharmacy never got the care plan, so I had to bring it myself.
Interviewer: Anything else?
P07: =Transport to the clinic is hard in winter.
"""
META = """file,case,source_type,participant_roles
C01_interview_NCM.txt,C01,interview,Interviewer=interviewer;NCM=nurse case manager
C01_interview_MD.txt,C01,interview,Interviewer=interviewer;MD=family physician
C02_interview_P07.txt,C02,interview,Interviewer=interviewer;P07=patient
"""
CASES = """case,province,rurality,ed_visits_before,ed_visits_after
C01,QC,urban,100,80
C02,ON,rural,50,45
"""
NCM_DOC, MD_DOC, P07_DOC = "C01_interview_NCM.txt", "C01_interview_MD.txt", "C02_interview_P07.txt"
CODINGS = [
    (NCM_DOC, "The medical director protected my hours", "valence/facilitator", "ana"),
    (NCM_DOC, "The medical director protected", "cfir_domain/inner_relative_priority", "ana"),
    (NCM_DOC, "We could not see the hospital results", "valence/barrier", "ana"),
    (NCM_DOC, "We could not see the hospital results", "valence/barrier", "ben"),
    (NCM_DOC, "We could not see", "cfir_domain/inner_structural_characteristics", "ana"),
    (NCM_DOC, "We could not see the hospital results", "cmo/context", "ana"),
    (NCM_DOC, "Once the patients trusted me", "cmo/mechanism", "ana"),
    (NCM_DOC, "Once the patients trusted me", "cmo/outcome", "ana"),
    (MD_DOC, "Having her down the hall", "valence/facilitator", "ana"),
    (MD_DOC, "Having her down the hall", "cfir_domain/inner_structural_characteristics", "ana"),
    (MD_DOC, "Some colleagues never referred", "valence/barrier", "ben"),
    (MD_DOC, "Some colleagues never referred", "cfir_domain/inner_culture", "ben"),
    (P07_DOC, "She calls me every week", "valence/facilitator", "ana"),
    (P07_DOC, "She calls me every week", "cmo/mechanism", "ana"),
    (P07_DOC, "The pharmacy never got the care plan", "valence/barrier", "ana"),
    (P07_DOC, "The pharmacy never got", "cfir_domain/inner_communications", "ana"),
    (P07_DOC, "The pharmacy never got the care plan", "cmo/context", "ana"),
    (P07_DOC, "Transport to the clinic", "valence/barrier", "team"),
    (P07_DOC, "Transport to the clinic", "cfir_domain/outer_local_conditions", "team"),
]
ROLES = {"ana": "analyst", "ben": "analyst", "team": "consensus"}

THEME_COUNTS = {
    "valence/barrier": (2, 2),
    "valence/facilitator": (2, 1),
    "cfir_domain/inner_setting": (4, 1),
    "cfir_domain/inner_structural_characteristics": (2, 0),
    "cfir_domain/inner_culture": (1, 0),
    "cfir_domain/inner_communications": (0, 1),
    "cfir_domain/outer_setting": (0, 1),
    "cfir_domain/outer_local_conditions": (0, 1),
    "cmo/context": (1, 1),
    "cmo/mechanism": (1, 1),
    "cmo/outcome": (1, 0),
}
SHEETS = [
    "Theme x case",
    "Participants %",
    "Exemplar quotes",
    "Barriers-facilitators",
    "CMO chains",
    "CMO summary",
    "Joint display",
    "Quotes",
    "Codebook",
    "Memos",
]


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if "," in text or '"' in text else text


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    for name, text in ((NCM_DOC, NCM), (MD_DOC, MD), (P07_DOC, P07)):
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "meta.csv").write_text(META, encoding="utf-8")
    (folder / "cases.csv").write_text(CASES, encoding="utf-8")
    lines = ["document,quote,code,coder,role,memo"]
    for doc, quote, code, coder in CODINGS:
        memo = "exemplar" if quote.startswith("Some colleagues") else ""
        lines.append(",".join(map(_csv_field, (doc, quote, code, coder, ROLES[coder], memo))))
    (folder / "codings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "study.qnlp"
    with qual_nlp.open_project(str(path), create=True) as project:
        project.set_codebook("cm-implementation")
        project.import_cases(folder / "cases.csv")
        outcomes = project.import_files(
            [folder / NCM_DOC, folder / MD_DOC, folder / P07_DOC], meta=folder / "meta.csv"
        )
        assert [o.status for o in outcomes] == ["imported"] * 3, outcomes
        loaded = project.import_codings(folder / "codings.csv")
        assert loaded == {"rows": len(CODINGS), "codings": len(CODINGS), "quotes_not_found": 0}
    return path


def _sheet(path: Path, name: str) -> list[dict[str, Any]]:
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    rows = list(ws.iter_rows(values_only=True))
    width = len(rows[0])  # streamed rows leave out their trailing empty cells
    return [dict(zip(rows[0], (*r, *[None] * (width - len(r))), strict=True)) for r in rows[1:]]


def _by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in rows}


@pytest.fixture(scope="module")
def workbook(study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "f.xlsx"
    assert main(["export", str(study), "--format", "xlsx", "--out", str(out)]) == 0
    return out


def test_export_writes_every_sheet(workbook: Path) -> None:
    assert openpyxl.load_workbook(workbook, read_only=True).sheetnames == SHEETS


def test_theme_by_case_matches_the_hand_count(workbook: Path) -> None:
    rows = _by_code(_sheet(workbook, "Theme x case"))
    assert set(rows) == set(THEME_COUNTS) | {"cfir_domain/inner_relative_priority"}
    for code, (c01, c02) in THEME_COUNTS.items():
        assert (rows[code]["C01"], rows[code]["C02"]) == (c01, c02), code
    assert rows["cfir_domain/inner_culture"]["level"] == 1
    assert rows["cfir_domain/inner_culture"]["name"] == "  Culture"


def test_participants_percent(workbook: Path) -> None:
    rows = _by_code(_sheet(workbook, "Participants %"))
    # C01 has two participants (NCM, MD); C02 one (P07)
    assert (rows["valence/barrier"]["C01"], rows["valence/barrier"]["C02"]) == (100.0, 100.0)
    assert rows["cfir_domain/inner_culture"]["C01"] == 50.0
    assert rows["cmo/outcome"]["C02"] == 0.0


def test_barrier_facilitator_matrix(workbook: Path) -> None:
    rows = _by_code(_sheet(workbook, "Barriers-facilitators"))
    inner = rows["cfir_domain/inner_setting"]
    # barriers NCM2, MD2 and facilitators NCM1, MD1 in C01; barrier P2 in C02
    assert [inner[k] for k in ("C01 −", "C01 +", "C01 net", "C02 −", "C02 +")] == [2, 2, 0, 1, 0]
    assert [inner[k] for k in ("Total −", "Total +", "Total net")] == [3, 2, -1]
    outer = rows["cfir_domain/outer_local_conditions"]
    assert (outer["C02 −"], outer["Total net"]) == (1, -1)


def test_cmo_chains_and_summary(workbook: Path) -> None:
    chains = {r["case"]: r for r in _sheet(workbook, "CMO chains")}
    # C01: context NCM2, then mechanism + outcome NCM3 (the question between is skipped)
    assert chains["C01"]["complete"] is True
    assert chains["C01"]["context_quote"].startswith("We could not see")
    assert chains["C01"]["outcome_quote"].startswith("Once the patients")
    assert chains["C01"]["pattern"] == "Barrier + Structural characteristics → mechanism → outcome"
    # C02: mechanism P1 and the context right after it, no outcome
    assert chains["C02"]["complete"] is False
    assert chains["C02"]["context_start"] < chains["C02"]["context_end"]
    summary = _sheet(workbook, "CMO summary")
    assert sorted((r["C01"], r["C02"], r["Cases"], r["Total"]) for r in summary) == [
        (0, 1, 1, 1),
        (1, 0, 1, 1),
    ]


def test_joint_display(workbook: Path) -> None:
    rows = {r["case"]: r for r in _sheet(workbook, "Joint display")}
    assert rows["C01"]["ed_visits_change_pct"] == -20.0
    assert rows["C02"]["ed_visits_change_pct"] == -10.0
    assert (rows["C01"]["valence/barrier"], rows["C02"]["valence/facilitator"]) == (2, 1)


def test_quotes_sheet(workbook: Path) -> None:
    rows = _sheet(workbook, "Quotes")
    assert len(rows) == len(CODINGS)  # every coding is accepted
    first = rows[0]
    assert list(first)[:10] == [
        "document",
        "case",
        "province",
        "rurality",
        "speaker",
        "role",
        "start",
        "end",
        "text",
        "code",
    ]
    transport = next(r for r in rows if r["code"] == "valence/barrier" and r["coder"] == "team")
    assert transport["text"] == "=Transport to the clinic is hard in winter."  # text, not a formula
    assert (transport["case"], transport["province"], transport["speaker"]) == ("C02", "ON", "P07")
    assert transport["status"] == "accepted" and transport["coder_role"] == "consensus"
    text = P07.split("P07: ")[3].rstrip("\n")
    doc = P07.replace("\r\n", "\n")
    assert doc[transport["start"] : transport["end"]] == text


def test_exemplar_quotes_sheet(workbook: Path) -> None:
    rows = _by_code(_sheet(workbook, "Exemplar quotes"))
    cell = rows["cfir_domain/inner_culture"]["C01"]
    assert cell.startswith("“Some colleagues never referred anyone to her.” — C01_interview_MD.txt")
    assert rows["cfir_domain/inner_culture"]["C02"] in ("", None)


def test_codebook_sheet(workbook: Path, study: Path) -> None:
    rows = _sheet(workbook, "Codebook")
    with qual_nlp.open_project(str(study)) as project:
        codes = project.codebook().codes
    assert [r["path"] for r in rows] == [c.path for c in codes]
    culture = next(r for r in rows if r["path"] == "cfir_domain/inner_culture")
    assert (culture["parent"], culture["level"]) == ("cfir_domain/inner_setting", 1)


def test_csv_bundle_has_the_same_numbers(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    assert main(["export", str(study), "--format", "csv", "--out", str(out), "--json"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(f"{name}.csv" for name in SHEETS)
        text = zf.read("Theme x case.csv").decode("utf-8-sig")
        quotes = zf.read("Quotes.csv").decode("utf-8-sig")
    lines = {line.split(",")[0]: line.split(",") for line in text.splitlines()}
    assert lines["code"][-2:] == ["C01", "C02"]
    assert lines["valence/barrier"][-2:] == ["2", "2"]
    assert lines["cfir_domain/inner_setting"][-2:] == ["4", "1"]
    assert "'=Transport to the clinic" in quotes  # guarded against formula injection


def test_export_filters_by_coder(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "ben.xlsx"
    assert (
        main(["export", str(study), "--format", "xlsx", "--out", str(out), "--coder", "ben"]) == 0
    )
    rows = _by_code(_sheet(out, "Theme x case"))
    assert (rows["valence/barrier"]["C01"], rows["valence/barrier"]["C02"]) == (2, 0)
    assert "valence/facilitator" not in rows
    assert len(_sheet(out, "Quotes")) == 3


def test_matrix_command_to_csv(study: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "m.csv"
    args = ["matrix", str(study), "--facet", "valence", "--coder", "consensus", "--out", str(out)]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "rows": 2, "cols": 2}
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines == [
        "code,name,level,C01,C02",
        "valence/barrier,Barrier,0,0,1",
        "valence/facilitator,Facilitator,0,0,0",
    ]


def test_matrix_command_by_attribute_to_xlsx(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    args = ["matrix", str(study), "--cols", "province", "--value", "documents", "--out", str(out)]
    assert main(args) == 0
    rows = _by_code(_sheet(out, "Matrix"))
    # barrier: NCM and MD documents (QC), P07 (ON)
    assert (rows["valence/barrier"]["QC"], rows["valence/barrier"]["ON"]) == (2, 1)


def test_matrix_command_valence_split(study: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.xlsx"
    assert main(["matrix", str(study), "--valence", "--out", str(out)]) == 0
    rows = _by_code(_sheet(out, "Barriers-facilitators"))
    assert rows["cfir_domain/inner_setting"]["Total −"] == 3


def test_matrix_command_reports_a_bad_column(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["matrix", str(study), "--cols", "region", "--out", str(tmp_path / "x.csv")]) == 2
    assert "province" in capsys.readouterr().err


def test_sample_project_exports_hand_counted_workbook(tmp_path: Path) -> None:
    from qual_nlp.commands.demo import build_demo

    folder = Path(__file__).resolve().parent / "fixtures" / "starter"
    path = tmp_path / "sample.qnlp"
    build_demo(path, samples=folder, suggest=False, train=False)
    codings = tmp_path / "codings.csv"
    codings.write_text(
        "document,quote,code,coder,role,memo\n"
        "C01_interview_NCM.txt,The care plan takes two hours per patient,valence/barrier,ana,,\n"
        "C03_interview_P07.txt,never got the new care plan,valence/barrier,ana,,\n"
        "C03_interview_P07.txt,She came to my apartment,valence/facilitator,ana,,\n"
        "C03_interview_P07.txt,She came to my apartment,cmo/mechanism,ana,,\n"
        "C03_interview_P07.txt,Now I know who to call,cmo/outcome,ana,,\n",
        encoding="utf-8",
    )
    with qual_nlp.open_project(str(path)) as project:
        assert project.import_codings(codings)["quotes_not_found"] == 0
    out = tmp_path / "sample.xlsx"
    assert main(["export", str(path), "--format", "xlsx", "--out", str(out)]) == 0
    names = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert {"Theme x case", "Barriers-facilitators", "CMO chains", "Quotes", "Codebook"} <= set(
        names
    )
    rows = _by_code(_sheet(out, "Theme x case"))
    assert (rows["valence/barrier"]["C01"], rows["valence/barrier"]["C03"]) == (1, 1)
    assert (rows["valence/facilitator"]["C01"], rows["valence/facilitator"]["C03"]) == (0, 1)
    chains = _sheet(out, "CMO chains")
    assert [(c["case"], c["outcome_segment"] is not None) for c in chains] == [("C03", True)]
    assert len(_sheet(out, "Quotes")) == 5


def test_writers_keep_formulas_as_text_and_fix_sheet_names(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": ["=1+1", "-x", "ok"], "b": [1.5, None, 3.0]})
    taken: set[str] = set()
    assert sheet_name("Theme x case: C01/C02", taken) == "Theme x case_ C01_C02"
    assert sheet_name("theme x case: c01/c02", taken) == "theme x case_ c01_c02 (2)"
    out = write_xlsx(tmp_path / "w.xlsx", {"a/b" * 20: frame})
    ws = openpyxl.load_workbook(out).worksheets[0]
    assert ws.title == ("a_b" * 20)[:31]
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["=1+1", "-x", "ok"]
    assert ws.cell(2, 1).data_type == "s"
    assert [ws.cell(r, 2).value for r in (2, 3, 4)] == [1.5, None, 3.0]
    csv = write_csv(tmp_path / "w.csv", frame).read_text(encoding="utf-8-sig")
    assert csv.splitlines()[1:3] == ["'=1+1,1.5", "'-x,"]
