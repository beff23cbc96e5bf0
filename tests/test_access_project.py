"""The rules through the Python API: every read and write of the facade obeys them.

A real project file (the app fixtures: two interviews, model suggestions) with a lead,
an analyst, an investigator, a patient partner and a viewer.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_support import MODEL, build_project, segment_with  # noqa: E402

from qual_nlp.errors import AccessDeniedError, SignInError, ValidationError  # noqa: E402
from qual_nlp.project import Project  # noqa: E402

PASSWORDS = {
    "lea": "lead passphrase one",
    "ana": "analyst passphrase",
    "zed": "investigator passphrase",
    "pat": "partner passphrase",
    "vic": "viewer passphrase",
}
ROLES = {"ana": "analyst", "zed": "investigator", "pat": "patient_partner", "vic": "viewer"}
C01 = "C01_interview_NCM.txt"


def make_team(folder: Path) -> Path:
    """The project with five accounts; pat has C01 assigned (blind); zed coded one of
    pat's segments with a memo."""
    path = build_project(folder)
    with Project.open(path) as project:
        project.access.add_user("lea", "lead", PASSWORDS["lea"])
        lead = project.as_user("lea")
        for name, role in ROLES.items():
            lead.access.add_user(name, role, PASSWORDS[name])
        lead.review.assign("round-1", ["pat"], documents=[C01], blind=True)
        zed = lead.as_user("zed")
        zed.review.decide(
            segment_with(lead, "physicians did not know"),
            "zed",
            accept=["cmo/context"],
            memo="ZED-NOTE",
        )
    return path


@pytest.fixture
def team(tmp_path: Path):
    with Project.open(make_team(tmp_path)) as project:
        yield project


def seg(project: Project, fragment: str) -> int:
    """The id of the segment holding ``fragment`` (looked up as the lead)."""
    return segment_with(project.as_user("lea"), fragment)


def refusals(project: Project) -> list[tuple[str, str]]:
    events = project.store.events()
    rows = events[events["action"] == "refused"]
    return list(zip(rows["actor"], rows["entity_id"], strict=True))


# ------------------------------------------------------------------ accounts
def test_a_project_without_accounts_stays_in_solo_mode(tmp_path: Path):
    with Project.open(build_project(tmp_path)) as project:
        assert not project.has_users() and project.actor is None
        assert MODEL in set(project.codings()["coder"])
        assert project.analysis.export("qdc", tmp_path / "cb.qdc").exists()


def test_the_first_account_is_the_lead_and_then_only_a_lead_adds_accounts(tmp_path: Path):
    with Project.open(build_project(tmp_path)) as project:
        with pytest.raises(ValidationError, match="first account must be a lead"):
            project.access.add_user("ana", "analyst", "analyst passphrase")
        project.access.add_user("lea", "lead", PASSWORDS["lea"])
        with pytest.raises(AccessDeniedError, match="sign in first"):
            project.access.add_user("ana", "analyst", "analyst passphrase")
        project.as_user("lea").access.add_user("ana", "analyst", "analyst passphrase")
        with pytest.raises(AccessDeniedError, match="may not manage users"):
            project.as_user("ana").access.add_user("bob", "analyst", "bob passphrase")
        coders = {c.name: c.role for c in project.as_user("lea").coders()}
        assert coders["ana"] == "analyst" and coders["lea"] == "lead"


def test_whoever_has_not_signed_in_is_refused_and_told_how(team: Project):
    with pytest.raises(AccessDeniedError, match="--user NAME"):
        team.segments()
    with pytest.raises(AccessDeniedError):
        team.analysis.export("qdpx", "x.qdpx")
    assert sorted(refusals(team)) == [
        ("(not signed in)", "export the project"),
        ("(not signed in)", "read the project"),
    ]


def test_a_wrong_password_is_refused_and_after_five_the_account_waits(team: Project):
    t0 = datetime.now(UTC)
    for _ in range(4):
        with pytest.raises(SignInError, match="Wrong user name or password"):
            team.access.sign_in("ana", "not the password", now=t0)
    with pytest.raises(SignInError, match="waits 30 seconds"):
        team.access.sign_in("ana", "not the password", now=t0)
    with pytest.raises(SignInError, match="wait 30 seconds"):  # even the right password
        team.access.sign_in("ana", PASSWORDS["ana"], now=t0)
    actor = team.access.sign_in("ana", PASSWORDS["ana"], now=t0 + timedelta(seconds=31))
    assert (actor.name, actor.role) == ("ana", "analyst")
    assert team.store.users.get("ana").failed_count == 0
    with pytest.raises(SignInError, match="Wrong user name"):
        team.access.sign_in("nobody", "whatever it is")


def test_an_old_hash_is_replaced_at_sign_in(team: Project):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORDS["ana"])
    team.store.users.set_password_hash("ana", weak, actor="test")
    team.sign_in("ana", PASSWORDS["ana"])
    stored = team.store.users.password_hash("ana")
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)


def test_a_disabled_account_cannot_sign_in_and_loses_its_open_session(team: Project):
    ana = team.sign_in("ana", PASSWORDS["ana"])
    assert not ana.segments().empty
    team.as_user("lea").access.set_enabled("ana", False)
    with pytest.raises(SignInError, match="disabled"):
        team.sign_in("ana", PASSWORDS["ana"])
    with pytest.raises(AccessDeniedError, match="disabled"):
        ana.segments()


def test_the_last_lead_stays_a_lead_and_passwords_change_by_their_owner_or_a_lead(
    team: Project,
):
    lead = team.as_user("lea")
    with pytest.raises(ValidationError, match="only enabled lead"):
        lead.access.set_role("lea", "analyst")
    with pytest.raises(ValidationError, match="only enabled lead"):
        lead.access.set_enabled("lea", False)
    team.as_user("ana").access.set_password("ana", "a brand new phrase")
    team.sign_in("ana", "a brand new phrase")
    with pytest.raises(AccessDeniedError):
        team.as_user("ana").access.set_password("zed", "taken over now")
    lead.access.set_role("ana", "viewer")
    assert team.as_user("ana").actor.role == "viewer"
    assert {c.name: c.role for c in lead.coders()}["ana"] == "viewer"


# ------------------------------------------------------------ patient partner
def test_a_patient_partner_sees_only_assigned_segments_and_own_codings(team: Project):
    pat = team.sign_in("pat", PASSWORDS["pat"])
    assigned = set(team.store.assignments.segment_ids("pat"))
    assert set(pat.segments()["segment_id"]) == assigned
    assert set(pat.segments()["document"]) == {C01}
    assert [d.name for d in pat.documents()] == [C01]
    assert pat.codings().empty  # neither the model's suggestions nor zed's coding
    report = pat.segments_report()
    assert {s["id"] for s in report} == assigned
    assert all(not s["codings"] for s in report)
    assert [c.name for c in pat.coders()] == ["pat"]
    assert pat.access.plain_language()
    assert set(pat.review.next("pat", n=50)) <= assigned


def test_a_patient_partner_gets_no_suggestion_and_no_neighbouring_turns(team: Project):
    pat = team.sign_in("pat", PASSWORDS["pat"])
    sid = seg(team, "physicians did not know")
    item = pat.review.item(sid, "pat")
    assert item.suggestions == () and item.blind
    assert item.previous is None and item.next is None
    assert item.decisions == ()  # zed's decision is not shown


def test_a_patient_partner_codes_assigned_segments_in_their_own_name_only(team: Project):
    pat = team.sign_in("pat", PASSWORDS["pat"])
    sid = seg(team, "physicians did not know")
    pat.review.decide(sid, "pat", accept=["valence/barrier"])
    mine = pat.codings()
    assert list(zip(mine["coder"], mine["code"], strict=True)) == [("pat", "valence/barrier")]
    events = team.store.events()  # (reading pseudonymised codings may log a detection run)
    newest = events[events["action"] == "review"].iloc[0]
    assert (newest["actor"], newest["action"], newest["entity_id"]) == ("pat", "review", str(sid))
    other = seg(team, "calls me every week")  # C02: not assigned
    with pytest.raises(AccessDeniedError, match="only the segments assigned"):
        pat.review.decide(other, "pat", accept=["valence/barrier"])
    with pytest.raises(AccessDeniedError, match="in the name of 'zed'"):
        pat.review.decide(sid, "zed", accept=["valence/barrier"])
    with pytest.raises(AccessDeniedError):
        pat.review.code_span(C01, 0, 10, "valence/barrier", "pat")


@pytest.mark.parametrize(
    "attempt",
    [
        lambda p, tmp: p.agreement.report(),
        lambda p, tmp: p.agreement.disagreements(),
        lambda p, tmp: p.analysis.matrix(),
        lambda p, tmp: p.analysis.workbook(),
        lambda p, tmp: p.analysis.export("csv", tmp / "out.zip"),
        lambda p, tmp: p.analysis.export("qdpx", tmp / "out.qdpx"),
        lambda p, tmp: p.model.history(),
        lambda p, tmp: p.review.bulk_accept("valence/barrier", "pat", preview=True),
        lambda p, tmp: p.document(C01),
        lambda p, tmp: p.add_code(p.codebook().codes[0]),
        lambda p, tmp: p.review.assign("mine", ["pat"]),
        lambda p, tmp: p.access.users(),
    ],
    ids=[
        "agreement",
        "disagreements",
        "matrix",
        "workbook",
        "export-csv",
        "export-qdpx",
        "model-history",
        "bulk-accept",
        "whole-document",
        "codebook-edit",
        "assign",
        "users",
    ],
)
def test_a_patient_partner_is_refused_and_the_refusal_logged(team: Project, tmp_path, attempt):
    pat = team.sign_in("pat", PASSWORDS["pat"])
    with pytest.raises(AccessDeniedError, match="pat"):
        attempt(pat, tmp_path)
    assert [who for who, _ in refusals(team)] == ["pat"]
    assert not (tmp_path / "out.zip").exists() and not (tmp_path / "out.qdpx").exists()


# ------------------------------------------------------- viewer and analysts
def test_a_viewer_reads_matrices_without_the_model_and_cannot_code(team: Project, tmp_path):
    vic = team.sign_in("vic", PASSWORDS["vic"])
    assert not vic.analysis.matrix().empty
    assert MODEL not in set(vic.codings()["coder"]) and "zed" in set(vic.codings()["coder"])
    with pytest.raises(AccessDeniedError, match="may not code"):
        vic.review.decide(seg(team, "calls me every week"), "vic", accept=[])
    with pytest.raises(AccessDeniedError, match="may not export"):
        vic.analysis.export("xlsx", tmp_path / "a.xlsx")


def test_an_analyst_in_a_blind_assignment_sees_nothing_of_others_until_finished(team: Project):
    team.as_user("lea").review.assign("round-2", ["ana"], documents=[C01], blind=True)
    ana = team.sign_in("ana", PASSWORDS["ana"])
    sid = seg(team, "physicians did not know")
    assert ana.codings().empty
    assert ana.review.item(sid, "ana").suggestions == ()
    for refused in (ana.agreement.report, ana.analysis.matrix, ana.model.history):
        with pytest.raises(AccessDeniedError, match="blind assignment open"):
            refused()
    with pytest.raises(AccessDeniedError):
        ana.review.next("ana", code="valence/barrier")
    ana.review.finish_assignment("round-2", "ana")
    assert {MODEL, "zed"} <= set(ana.codings()["coder"])
    assert ana.review.item(sid, "ana").suggestions
    assert not ana.agreement.report().empty  # allowed again
    with pytest.raises(AccessDeniedError, match="may not export"):
        ana.analysis.export("qdc", "x.qdc")


def test_a_lead_sees_and_manages_everything(team: Project, tmp_path: Path):
    lead = team.sign_in("lea", PASSWORDS["lea"])
    assert {MODEL, "zed"} <= set(lead.codings()["coder"])
    assert len(lead.segments()) == len(team.store.segments_frame())
    assert lead.review.item(seg(team, "physicians did not know"), "lea").suggestions
    assert lead.analysis.export("qdpx", tmp_path / "p.qdpx").exists()
    lead.agreement.report()
    lead.agreement.record_consensus(
        seg(team, "physicians did not know"), ["cmo/context"], decided_by="lea"
    )
    with pytest.raises(AccessDeniedError, match="in the name of 'ana'"):
        lead.agreement.record_consensus(1, ["cmo/context"], decided_by="ana")
    assert [u.name for u in lead.access.users()] == ["ana", "lea", "pat", "vic", "zed"]
    events = lead.events()
    assert {"add", "sign in"} <= set(events["action"])


def test_a_patient_partner_who_finished_has_nothing_left_to_code(team: Project):
    pat = team.sign_in("pat", PASSWORDS["pat"])
    assert pat.review.next("pat", n=50)
    pat.review.finish_assignment("round-1", "pat")
    assert pat.review.next("pat", n=50) == []
    assert pat.review.my_segments("pat") == []
    with pytest.raises(AccessDeniedError, match="in the name of 'ana'"):
        pat.review.finish_assignment("round-1", "ana")
