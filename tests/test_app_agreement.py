"""The Agreement page: assignments, statistics, disagreements and consensus."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_support import (
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
    segment_with,
)

from qual_nlp.project import Project

# the page's tests on the study run on SQLite and on PostgreSQL (tests/postgres_server.py)
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.backends]

# what two coders decided on the four participant turns (same segments, some disagreement)
CODED = {
    "physicians did not know": (["valence/barrier"], ["valence/barrier"]),
    "weekly team huddle": (["valence/facilitator", "cmo/mechanism"], ["valence/facilitator"]),
    "felt someone finally listened": (["cmo/outcome"], ["cmo/outcome"]),
    "calls me every week": (["valence/facilitator"], ["cmo/outcome"]),
}


@pytest.fixture
def study(tmp_path: Path, project_location: str) -> Path | str:
    path = build_project(tmp_path, location=project_location)
    with Project.open(path) as project:
        for fragment, (ana, bob) in CODED.items():
            sid = segment_with(project, fragment)
            project.review.decide(sid, "ana", accept=ana)
            project.review.decide(sid, "bob", accept=bob)
    return path


def view(at, name: str):
    at.segmented_control(key="agree_view").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_create_a_blind_assignment(study: Path) -> None:
    at = open_page(app_on(study), "agreement")
    at.text_input(key="agree_new_name").input("round-2")
    at.text_input(key="agree_new_more").input("pp1")
    at.multiselect(key="agree_new_docs").set_value(["C02_interview_P07.txt"])
    at.button(key="agree_new_go").click().run()
    assert not at.exception
    with Project.open(study) as project:
        table = project.review.assignments()
    assert sorted(table["coder"]) == ["ana", "pp1"]
    assert table["segments"].tolist() == [3, 3] and table["blind"].all()


def test_finishing_an_assignment_lifts_blindness(study: Path) -> None:
    with Project.open(study) as project:
        project.review.assign("round-1", ["ana"], documents=["C02_interview_P07.txt"])
        assert project.store.assignments.is_blind("ana")
    at = open_page(app_on(study), "agreement")
    at.button(key="agree_finish_0").click().run()
    with Project.open(study) as project:
        assert not project.store.assignments.is_blind("ana")
    assert "suggestions are visible again" in at.success[0].value


def test_statistics_per_code_for_two_coders(study: Path) -> None:
    at = view(open_page(app_on(study), "agreement"), "Statistics")
    at.selectbox(key="agree_by").set_value("code").run()
    frame = at.dataframe[0].value
    with Project.open(study) as project:
        expected = project.agreement.report(coders=["ana", "bob"], by="code")
    assert len(frame) == len(expected)
    assert "Valence › Barrier" in set(frame["code"])
    assert frame["n_units"].max() == 4


def test_disagreements_list_the_split_segments(study: Path) -> None:
    at = view(open_page(app_on(study), "agreement"), "Disagreements")
    shown = at.dataframe[0].value
    with Project.open(study) as project:
        split = {
            segment_with(project, "weekly team huddle"),
            segment_with(project, "calls me every week"),
        }
    assert set(shown["segment"]) == split
    assert "<script" not in "".join(m.value for m in at.markdown)


def test_recording_a_consensus_writes_the_consensus_coder(study: Path) -> None:
    at = view(open_page(app_on(study), "agreement"), "Disagreements")
    first = int(at.dataframe[0].value["segment"].iloc[0])
    at.session_state["agree_dis_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    key = f"agree_codes_{first}"
    at.multiselect(key=key).set_value(["valence/facilitator"])
    at.text_input(key=f"agree_why_{first}").input("discussed in team meeting")
    at.button(key="agree_record").click().run()
    assert not at.exception
    with Project.open(study) as project:
        consensus = project.codings(coders=["consensus"])
    assert consensus["segment_id"].tolist() == [first]
    assert consensus["code"].tolist() == ["valence/facilitator"]
    assert consensus["memo"].iloc[0] == "decided by ana: discussed in team meeting"


def test_empty_project_explains_what_to_do(tmp_path: Path) -> None:
    at = view(open_page(app_on(build_project(tmp_path)), "agreement"), "Statistics")
    assert any("at least two coders" in i.value for i in at.info)
