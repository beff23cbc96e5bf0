"""Memos through the facade, the rules, the command line and the exports.

Real project files (and a real PostgreSQL database for the storage round trip), the
team of tests/test_access_project.py for the rules, REFI-QDA checked against the
schema, the workbook read back with openpyxl.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_access_project import C01, make_team  # noqa: E402
from test_app_support import build_project, segment_with  # noqa: E402

from qual_nlp.cli import main  # noqa: E402
from qual_nlp.errors import AccessDeniedError, ValidationError  # noqa: E402
from qual_nlp.project import Project  # noqa: E402
from qual_nlp.records import MemoLink  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NS = {"q": "urn:QDA-XML:project:1.0"}


def passage(project: Project, fragment: str) -> MemoLink:
    """A passage link on the words ``fragment`` of C01."""
    text = project.document(C01).text
    at = text.index(fragment)
    return MemoLink("passage", C01, at, at + len(fragment))


@pytest.mark.backends
def test_memos_are_kept_found_changed_and_removed(backend, project_location, tmp_path):
    location = build_project(tmp_path, suggestions=False, location=project_location)
    with Project.open(location) as project:
        text = project.document(C01).text
        at = text.index("physicians did not know")
        first = project.memos.add(
            "Physicians out of the loop",
            "Both clinics say the physicians were not told.",
            links=[
                MemoLink("code", "valence/barrier"),
                MemoLink("passage", C01, at, at + 23),
                MemoLink("case", "C01"),
            ],
            author="ana",
        )
        second = project.memos.add("Next round", "Ask about transport.", author="bo")
    with Project.open(location) as project:  # what was written is read back after reopening
        memo = project.memos.get(first)
        assert (memo.title, memo.author, memo.scope) == (
            "Physicians out of the loop",
            "ana",
            "code, passage, case",
        )
        assert memo.links[1] == MemoLink("passage", C01, at, at + 23)
        assert [m.id for m in project.memos.search("PHYSICIANS")] == [first]
        assert [m.id for m in project.memos.search("transport")] == [second]
        assert [m.id for m in project.memos.find(document=C01)] == [first]
        assert [m.id for m in project.memos.find(code="valence/barrier")] == [first]
        assert project.memos.search("nothing like this") == []
        project.memos.update(second, text="Ask about transport and parking.", links=[])
        assert [m.id for m in project.memos.search("parking")] == [second]
        project.memos.remove(first)
        assert [m.id for m in project.memos.find()] == [second]
        assert project.memos.frame()["title"].tolist() == ["Next round"]


def test_links_that_point_nowhere_are_refused_with_what_to_fix(tmp_path):
    with Project.open(build_project(tmp_path, suggestions=False)) as project:
        size = len(project.document(C01).text)
        for link, message in (
            (MemoLink("code", "valence/nope"), "no code 'valence/nope'"),
            (MemoLink("document", "missing.txt"), "no document named 'missing.txt'"),
            (MemoLink("case", "C99"), "no case named 'C99'"),
            (MemoLink("passage", C01, 10, size + 5), "is not inside"),
        ):
            with pytest.raises(ValidationError, match=message):
                project.memos.add("x", links=[link])
        with pytest.raises(ValidationError, match="needs a title"):
            project.memos.add("  ")
        assert project.memos.find() == []


# --------------------------------------------------------------------- the rules
@pytest.fixture
def team(tmp_path: Path):
    with Project.open(make_team(tmp_path)) as project:
        yield project


def test_who_writes_reads_and_changes_memos(team: Project):
    lea, ana, zed = team.as_user("lea"), team.as_user("ana"), team.as_user("zed")
    pat, vic = team.as_user("pat"), team.as_user("vic")
    theirs = ana.memos.add("Ana's memo", "about huddles", links=[MemoLink("document", C01)])
    # the author is the signed-in user, whoever is named
    with pytest.raises(AccessDeniedError, match="in the name of 'lea'"):
        ana.memos.add("As someone else", author="lea")
    # a patient partner writes on a passage of an assigned segment, nowhere else
    mine = pat.memos.add("My thought", "they were not told", links=[passage(lea, "did not know")])
    with pytest.raises(AccessDeniedError, match="codes only the segments assigned"):
        pat.memos.add("Project-wide", "a free memo")
    with pytest.raises(AccessDeniedError, match="codes only the segments assigned"):
        pat.memos.add("Whole document", links=[MemoLink("document", C01)])
    # ... and reads only their own
    assert [m.id for m in pat.memos.find()] == [mine]
    with pytest.raises(AccessDeniedError, match="only their own memos"):
        pat.memos.get(theirs)
    # a viewer reads the team's memos and writes none
    assert {m.id for m in vic.memos.find()} == {theirs, mine}
    with pytest.raises(AccessDeniedError, match="may not write memos"):
        vic.memos.add("Viewer memo")
    # the author or a lead changes a memo; a colleague does not
    with pytest.raises(AccessDeniedError, match="only their own memos"):
        zed.memos.update(theirs, text="rewritten")
    ana.memos.update(theirs, text="about weekly huddles")
    lea.memos.remove(mine)
    assert [m.id for m in zed.memos.find()] == [theirs]
    refused = team.store.events().query("action == 'refused'")
    assert len(refused) >= 5  # every refusal above is in the journal


def test_a_coder_in_a_blind_assignment_reads_only_their_own_memos(team: Project):
    lea, ana = team.as_user("lea"), team.as_user("ana")
    lead_memo = lea.memos.add("Lead's reading of C01", links=[MemoLink("document", C01)])
    lea.review.assign("blind-ana", ["ana"], documents=[C01], blind=True)
    own = ana.memos.add("Ana's own")
    assert [m.id for m in ana.memos.find()] == [own]
    ana.review.finish_assignment("blind-ana", "ana")
    assert {m.id for m in ana.memos.find()} == {own, lead_memo}


# ------------------------------------------------------------------- exports
def test_memos_travel_to_refi_qda_as_notes_and_to_the_workbook(tmp_path):
    with Project.open(build_project(tmp_path)) as project:
        text = project.document(C01).text
        at = text.index("weekly team huddle")
        project.memos.add(
            "Huddles help",
            "the huddle",
            author="ana",
            links=[MemoLink("passage", C01, at, at + 18), MemoLink("code", "valence/facilitator")],
        )
        project.memos.add(
            "On C01", "long interview", author="ana", links=[MemoLink("document", C01)]
        )
        project.memos.add("Project memo", "plan the second round", author="bo")
        project.analysis.export("qdpx", tmp_path / "p.qdpx")
        project.analysis.export("xlsx", tmp_path / "p.xlsx")
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        root = etree.fromstring(archive.read("project.qde"))
    etree.XMLSchema(etree.parse(str(FIXTURES / "refi" / "Project.xsd"))).assertValid(root)
    notes = {n.get("name"): n for n in root.iterfind("q:Notes/q:Note", NS)}
    assert {"Huddles help", "On C01", "Project memo"} <= set(notes)
    huddle = notes["Huddles help"].get("guid")
    assert notes["Huddles help"].findtext("q:PlainTextContent", namespaces=NS) == "the huddle"
    users = {u.get("guid"): u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
    assert users[notes["Huddles help"].get("creatingUser")] == "ana"
    source = next(s for s in root.iterfind("q:Sources/q:TextSource", NS) if s.get("name") == C01)
    selection = next(
        s
        for s in source.iterfind("q:PlainTextSelection", NS)
        if s.find(f"q:NoteRef[@targetGUID='{huddle}']", NS) is not None
    )
    assert (int(selection.get("startPosition")), int(selection.get("endPosition"))) == (at, at + 18)
    on_doc = notes["On C01"].get("guid")
    assert source.find(f"q:NoteRef[@targetGUID='{on_doc}']", NS) is not None
    project_refs = {r.get("targetGUID") for r in root.iterfind("q:NoteRef", NS)}
    assert notes["Project memo"].get("guid") in project_refs
    memo_set = next(
        s for s in root.iterfind("q:Sets/q:Set", NS) if s.get("name") == "Memo: Huddles help"
    )
    assert memo_set.find("q:MemberNote", NS).get("targetGUID") == huddle

    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "p.xlsx")
    rows = list(book["Memos"].values)
    assert rows[0][:4] == ("memo_id", "title", "text", "author")
    assert {r[1] for r in rows[1:]} == {"Huddles help", "On C01", "Project memo"}


def test_matrix_sheets_carry_colour_scales(tmp_path):
    from openpyxl import load_workbook
    from openpyxl.formatting.rule import ColorScale

    with Project.open(build_project(tmp_path)) as project:
        for sid in project.segments()["segment_id"].head(6):
            project.review.decide(
                int(sid), "ana", accept=["valence/barrier", "cfir_domain/inner_setting"]
            )
        project.review.decide(
            segment_with(project, "weekly team huddle"),
            "ana",
            accept=["valence/facilitator", "cfir_domain/inner_setting"],
        )
        project.analysis.export("xlsx", tmp_path / "m.xlsx")
    book = load_workbook(tmp_path / "m.xlsx")

    def scales(sheet: str) -> dict[str, list[str]]:
        ws = book[sheet]
        headers = [c.value for c in ws[1]]
        out: dict[str, list[str]] = {}
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                assert rule.type == "colorScale" and isinstance(rule.colorScale, ColorScale)
                colours = [c.rgb[-6:] for c in rule.colorScale.color]
                for cells in str(cf.sqref).split():
                    column = "".join(ch for ch in cells.split(":")[0] if ch.isalpha())
                    out[headers[ord(column) - ord("A")]] = colours
        return out

    theme = scales("Theme x case")
    assert set(theme) == {"C01", "C02"} and theme["C01"] == ["FFFFFF", "3B6FD8"]
    assert "Total" not in theme or theme["Total"][-1] == "3B6FD8"
    valence = scales("Barriers-facilitators")
    assert valence["C01 −"] == ["FFFFFF", "C0392B"]  # barriers red
    assert valence["C01 +"] == ["FFFFFF", "27AE60"]  # facilitators green
    assert valence["C01 net"] == ["C0392B", "FFFFFF", "27AE60"]
    assert "Quotes" not in {s for s in book.sheetnames if book[s].conditional_formatting}


# ---------------------------------------------------------------- command line
def test_memo_command_adds_lists_and_searches(tmp_path, capsys):
    path = str(build_project(tmp_path, suggestions=False))
    assert (
        main(
            [
                "memo",
                path,
                "add",
                "--title",
                "Transport",
                "--text",
                "bus lines",
                "--code",
                "valence/barrier",
                "--passage",
                f"{C01}:0-10",
                "--json",
            ]
        )
        == 0
    )
    added = json.loads(capsys.readouterr().out)
    assert added["scope"] == "code, passage" and added["links"][1]["end"] == 10
    assert main(["memo", path, "add", "--title", "Plan", "--author", "bo"]) == 0
    assert "memo 2 added: Plan (project)" in capsys.readouterr().out
    assert main(["memo", path, "search", "BUS", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["memos"]
    assert [m["title"] for m in found] == ["Transport"]
    assert main(["memo", path, "list"]) == 0
    listed = capsys.readouterr().out
    assert "Transport" in listed and "Plan" in listed and f"passage {C01} 0–10" in listed
    assert main(["memo", path, "add", "--title", "x", "--code", "valence/nope"]) == 2
    assert "no code 'valence/nope'" in capsys.readouterr().err


# ------------------------------------------------------------------ the app page
def test_the_memos_page_writes_lists_and_searches(tmp_path):
    from test_app_support import app_on, fresh_caches, open_page  # noqa: F401

    path = build_project(tmp_path, suggestions=False)
    at = open_page(app_on(path), "memos")
    assert not at.exception
    assert any("No memos yet" in i.value for i in at.info)
    at.text_input(key="memos_new_title").input("Huddles and trust")
    at.text_area(key="memos_new_text").input("Physicians start to listen.")
    at.multiselect(key="memos_new_codes").set_value(["valence/facilitator"])
    at.button[[b.label for b in at.button].index("Save memo")].click().run()
    assert not at.exception
    assert any("Memo 1 saved: Huddles and trust" in s.value for s in at.success)
    at.text_input(key="memos_search").input("PHYSICIANS").run()
    assert any("Huddles and trust" in m.value for m in at.markdown)
    at.text_input(key="memos_search").input("nothing like this").run()
    assert any("No memo matches" in i.value for i in at.info)
    with Project.open(path) as project:
        [memo] = project.memos.find()
    assert memo.author == "ana" and memo.links == (MemoLink("code", "valence/facilitator"),)


def test_a_deidentified_export_moves_memo_passages_and_scrubs_their_text(tmp_path):
    from test_deid_project import IDENTIFIERS, NCM, PASSAGE, PATIENT

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "C03_interview_NCM.txt").write_text(NCM, encoding="utf-8")
    (folder / "C03_interview_P07.txt").write_text(PATIENT, encoding="utf-8")
    with Project.init(tmp_path / "study.qnlp") as project:
        project.import_files([folder], case="C03")
        text = project.document("C03_interview_NCM.txt").text
        at = text.index(PASSAGE)
        link = MemoLink("passage", "C03_interview_NCM.txt", at, at + len(PASSAGE))
        project.memos.add("Pelchat's plan", "Nurse Kowalczyk agrees", links=[link], author="ana")
        project.deid.run(language="en", accept_all=True)
        project.analysis.export("qdpx", tmp_path / "shared.qdpx", deidentified=True)
        project.analysis.export("xlsx", tmp_path / "shared.xlsx", deidentified=True)
        pseudonymised = project.deid.text("C03_interview_NCM.txt")
    with zipfile.ZipFile(tmp_path / "shared.qdpx") as archive:
        root = etree.fromstring(archive.read("project.qde"))
        everything = b"".join(archive.read(n) for n in archive.namelist()).decode("utf-8")
    for identifier in IDENTIFIERS:
        assert identifier not in everything
    note = next(
        n
        for n in root.iterfind("q:Notes/q:Note", NS)
        if "Nurse" in (n.findtext("q:PlainTextContent", namespaces=NS) or "")
    )
    assert note.findtext("q:PlainTextContent", namespaces=NS) == "Nurse [NURSE-1] agrees"
    selection = root.find(
        f".//q:PlainTextSelection/q:NoteRef[@targetGUID='{note.get('guid')}']/..", NS
    )
    start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
    assert pseudonymised[start:end] == "[PERSON-1] liked it, and his COPD got better."
    from openpyxl import load_workbook

    rows = list(load_workbook(tmp_path / "shared.xlsx")["Memos"].values)
    assert "Kowalczyk" not in str(rows) and "Pelchat" not in str(rows)


def test_memos_come_back_from_a_qdpx_with_their_links(tmp_path):
    with Project.open(build_project(tmp_path)) as project:
        text = project.document(C01).text
        at = text.index("weekly team huddle")
        passage = MemoLink("passage", C01, at, at + 18)
        project.memos.add(
            "Huddles help",
            "the huddle",
            author="ana",
            links=[passage, MemoLink("code", "valence/facilitator"), MemoLink("case", "C01")],
        )
        project.memos.add("On C01", "long", author="bo", links=[MemoLink("document", C01)])
        project.memos.add("Project memo", "plan the second round", author="bo")
        project.analysis.export("qdpx", tmp_path / "p.qdpx")
    back_folder = tmp_path / "back"
    back_folder.mkdir()
    with Project.init(back_folder / "back.qnlp") as back:
        back.import_files([tmp_path / "p.qdpx"])
        back.import_files([tmp_path / "p.qdpx"])  # twice: no memo doubled
        found = {m.title: m for m in back.memos.find()}
    assert set(found) == {"Huddles help", "On C01", "Project memo"}
    huddle = found["Huddles help"]
    assert (huddle.text, huddle.author) == ("the huddle", "ana")
    assert set(huddle.links) == {
        passage,
        MemoLink("code", "valence/facilitator"),
        MemoLink("case", "C01"),
    }
    assert found["On C01"].links == (MemoLink("document", C01),)
    assert found["Project memo"].links == () and found["Project memo"].author == "bo"
