"""De-identification under accounts: detection and review are a lead's; with the setting
on, a patient partner's review items carry pseudonyms only, even before a lead ran
detection (the facade detects first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qual_nlp.errors import AccessDeniedError
from qual_nlp.project import Project

TEXT = (
    "Interviewer: Who helps you at home?\n"
    "P07: Nurse Kowalczyk calls me from Sherbrooke every Tuesday, at 819-555-0143, and "
    "she set up my pill box so I stopped missing my heart pills.\n"
)
ORIGINALS = ("Kowalczyk", "Sherbrooke", "819-555-0143")


@pytest.fixture
def team(tmp_path: Path):
    source = tmp_path / "C03_interview_P07.txt"
    source.write_text(TEXT, encoding="utf-8")
    with Project.init(tmp_path / "team.qnlp", encoder="all-MiniLM-L6-v2") as project:
        project.import_files([source], case="C03")
        project.access.add_user("lea", "lead", "lead passphrase one")
        lead = project.as_user("lea")
        lead.access.add_user("ana", "analyst", "analyst passphrase")
        lead.access.add_user("pat", "patient_partner", "partner passphrase")
        lead.review.assign("round-1", ["pat"], documents=[source.name], blind=True)
        yield project


def _answer(project: Project) -> int:
    frame = project.as_user("lea").segments()
    return int(frame[frame["text"].str.contains("pill box")]["segment_id"].iloc[0])


def test_detection_review_and_the_setting_are_a_leads(team: Project):
    for name in ("ana", "pat"):
        user = team.as_user(name)
        for attempt in (
            user.deid.run,
            user.deid.frame,
            lambda u=user: u.deid.accept([1]),
            lambda u=user: u.deid.add_term("Kowalczyk"),
            lambda u=user: u.deid.set_required(False),
        ):
            with pytest.raises(AccessDeniedError):
                attempt()
    assert team.as_user("lea").deid.run()["detections"] >= 3


def test_a_patient_partner_reads_pseudonyms_only(team: Project):
    sid = _answer(team)
    # no lead has run detection yet: the partner's item is detected, then pseudonymised
    item = team.as_user("pat").review.item(sid, "pat")
    text = item.segment["text"]
    assert "pill box" in text
    for original in ORIGINALS:
        assert original not in text, text
    # the lead still reads the original
    lead_item = team.as_user("lea").review.item(sid, "lea")
    assert all(original in lead_item.segment["text"] for original in ORIGINALS)


def test_the_setting_extends_pseudonyms_to_every_non_lead(team: Project):
    sid = _answer(team)
    analyst = team.as_user("ana")
    assert "Kowalczyk" in analyst.review.item(sid, "ana").segment["text"]
    team.as_user("lea").deid.set_required(True)
    assert "Kowalczyk" not in analyst.review.item(sid, "ana").segment["text"]
    assert not analyst.segments()["text"].str.contains("Kowalczyk").any()
    team.as_user("lea").deid.set_required(False)  # a patient partner's stay pseudonymised
    assert "Kowalczyk" not in team.as_user("pat").review.item(sid, "pat").segment["text"]


def test_a_patient_partners_segments_and_codings_carry_pseudonyms(team: Project):
    sid = _answer(team)
    partner = team.as_user("pat")
    partner.review.decide(sid, "pat", accept=["valence/facilitator"])
    texts = " ".join(partner.segments()["text"]) + " ".join(partner.codings()["text"])
    assert "pill box" in texts
    assert not any(original in texts for original in ORIGINALS), texts
    report = partner.segments_report()
    assert not any(o in str(report) for o in ORIGINALS)


def test_with_the_setting_on_an_analyst_reads_no_original_anywhere(team: Project):
    lead = team.as_user("lea")
    sid = _answer(team)
    lead.review.decide(sid, "lea", accept=["valence/facilitator"])
    lead.deid.set_required(True)
    analyst = team.as_user("ana")
    name = analyst.segments()["document"].iloc[0]
    seen = [analyst.document(name).text]
    seen += [str(frame.to_dict()) for frame in analyst.analysis.workbook().values()]
    seen += [str(analyst.analysis.matrix(cols="case", value="quotes").to_dict())]
    text = " ".join(seen)
    assert "pill box" in text
    assert not any(original in text for original in ORIGINALS)
    # the lead still reads the original document
    assert "Kowalczyk" in lead.document(name).text


def test_only_a_lead_is_shown_the_de_identify_page(team: Project):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from app_pages import auth

    assert auth.visible(team.as_user("lea"), "deid")
    for name in ("ana", "pat"):
        assert not auth.visible(team.as_user(name), "deid"), name
    assert auth.visible(team, "deid")  # solo mode: every page
