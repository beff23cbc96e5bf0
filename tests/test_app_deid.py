"""The De-identify page, driven headless with AppTest; decisions checked in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_support import app_on, fresh_caches, open_page  # noqa: F401  (autouse)

from qual_nlp.project import Project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TEXT = (
    "Interviewer: Who helps you?\n"
    "P07: Nurse Kowalczyk calls me from Sherbrooke every Tuesday, at 819-555-0143.\n"
)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    source = tmp_path / "C03_interview_P07.txt"
    source.write_text(TEXT, encoding="utf-8")
    path = tmp_path / "study.qnlp"
    with Project.init(path) as project:
        project.import_files([source], case="C03")
    return path


def current(at) -> str:
    [block] = [h.value for h in at.html if 'id="deid-current"' in h.value]
    return block.split("<mark>", 1)[1].split("</mark>", 1)[0]


def statuses(path: Path) -> dict[str, str]:
    with Project.open(path) as project:
        frame = project.deid.frame()
    return dict(zip(frame["text"], frame["status"], strict=True))


def test_detect_then_accept_reject_and_next_walk_the_queue(study: Path) -> None:
    at = open_page(app_on(study), "deid")
    at.button(key="deid_run").click().run()
    assert not at.exception
    assert current(at) == "Kowalczyk"
    at.button(key="deid_accept").click().run()
    assert current(at) == "Sherbrooke"
    at.button(key="deid_reject").click().run()
    assert current(at) == "819-555-0143"
    at.button(key="deid_next").click().run()
    assert not [h for h in at.html if 'id="deid-current"' in h.value]
    assert statuses(study) == {
        "Kowalczyk": "accepted",
        "Sherbrooke": "rejected",
        "819-555-0143": "suggested",
    }
    preview = next(h.value for h in at.html if 'id="deid-preview"' in h.value)
    assert "Nurse [NURSE-1] calls me from Sherbrooke" in preview
    assert "819-555-0143" not in preview


def test_a_missed_name_and_a_dictionary_term_are_saved(study: Path) -> None:
    at = open_page(app_on(study), "deid")
    at.text_input(key="deid_add_text").input("Tuesday")
    at.selectbox(key="deid_add_kind").select("DATE")
    at.button[[b.label for b in at.button].index("Add")].click().run()
    at.text_input(key="deid_term").input("Kowalczyk")
    at.radio(key="deid_term_mode").set_value("never")
    at.button[[b.label for b in at.button].index("Save term")].click().run()
    assert not at.exception
    with Project.open(study) as project:
        assert [(t.term, t.mode) for t in project.deid.dictionary()] == [("Kowalczyk", "never")]
        text = project.deid.text("C03_interview_P07.txt")
    assert "Tuesday" not in text and "Nurse Kowalczyk" in text


def test_a_patient_partner_sees_only_the_deidentified_document(study: Path) -> None:
    at = open_page(app_on(study, coder="pat", role="patient partner"), "deid")
    shown = " ".join(h.value for h in at.html) + " ".join(m.value for m in at.markdown)
    for identifier in ("Kowalczyk", "Sherbrooke", "819-555-0143"):
        assert identifier not in shown
    assert "[NURSE-1]" in shown
    assert not [b for b in at.button if b.key in ("deid_accept", "deid_run")]
