"""The learning curve on a project's own reviews: the facade, its job, its access rules,
and the section of the Review page that shows it (real SQLite files, the real encoder)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_access_project import C01, make_team  # noqa: E402
from test_app_support import (  # noqa: E402
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
    segment_with,
)

from qual_nlp.commands.demo import build_demo  # noqa: E402
from qual_nlp.errors import AccessDeniedError, ValidationError  # noqa: E402
from qual_nlp.project import Project  # noqa: E402
from qual_nlp.project.jobs import LEARNING_CURVE  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REVIEWED = {
    "physicians did not know": ["valence/barrier"],
    "weekly team huddle": ["valence/facilitator", "cmo/mechanism"],
    "pharmacy never got the care plan": ["valence/barrier", "cmo/context"],
    "Transport to the clinic": ["valence/barrier"],
}


@pytest.fixture
def few_reviews(tmp_path: Path) -> Path | str:
    """The two fixture interviews with four reviewed segments."""
    path = build_project(tmp_path, suggestions=False)
    with Project.open(path) as project:
        for fragment, codes in REVIEWED.items():
            project.review.decide(segment_with(project, fragment), "ana", accept=codes)
    return path


def test_too_few_reviews_are_refused_with_how_many_and_what_to_do(few_reviews) -> None:
    with Project.open(few_reviews) as project, pytest.raises(ValidationError) as caught:
        project.model.learning_curve("valence")
    message = str(caught.value)
    assert "facet 'valence' has 4 reviewed segment(s)" in message
    assert "valence/barrier 3" in message  # the answers given so far
    assert "needs at least 50" in message and "Review more segments" in message


def test_an_unknown_facet_is_refused_with_the_facets_to_pick_from(few_reviews) -> None:
    with Project.open(few_reviews) as project, pytest.raises(ValidationError) as caught:
        project.model.learning_curve("valance")
    assert "'valance' is not in this project's codebook" in str(caught.value)
    assert "cmo" in str(caught.value) and "valence" in str(caught.value)


def test_the_job_fails_with_the_same_message(few_reviews) -> None:
    with Project.open(few_reviews) as project:
        job = project.jobs.wait(project.jobs.learning_curve("valence"), timeout=120)
        assert job.state == "failed"
        assert "needs at least 50" in (job.error or "")
        assert project.jobs.latest(LEARNING_CURVE, facet="valence") is None


# a viewer; a patient partner; an analyst while a blind assignment of theirs is open
@pytest.mark.parametrize("who", ["vic", "pat", "ana"])
def test_who_may_not_see_the_model_may_not_measure_its_curve(tmp_path: Path, who: str) -> None:
    with Project.open(make_team(tmp_path)) as project:
        lead = project.as_user("lea")
        if who == "ana":
            lead.review.assign("round-2", ["ana"], documents=[C01], blind=True)
        person = lead.as_user(who)
        with pytest.raises(AccessDeniedError):
            person.model.learning_curve("valence")
        with pytest.raises(AccessDeniedError):
            person.jobs.learning_curve("valence")
        assert person.store.jobs.all() == []  # refused at once: no job was started


def test_an_analyst_may_measure_once_the_blind_assignment_is_finished(tmp_path: Path) -> None:
    with Project.open(make_team(tmp_path)) as project:
        lead = project.as_user("lea")
        lead.review.assign("round-2", ["ana"], documents=[C01], blind=True)
        ana = lead.as_user("ana")
        ana.review.finish_assignment("round-2", "ana")
        with pytest.raises(ValidationError, match="needs at least 50"):  # allowed, too few
            ana.model.learning_curve("valence")


def test_the_page_says_when_there_are_too_few_reviews(few_reviews) -> None:
    at = open_page(app_on(few_reviews), "review")
    assert any("Not measured on this project yet" in c.value for c in at.caption)
    at.button(key="review_curve_run").click().run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    [error] = [e.value for e in at.error]
    assert error.startswith("Learning curve: facet 'valence' has 4 reviewed segment(s)")


# ------------------------------------------------------------- the sample study
@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.qnlp"
    summary = build_demo(path, suggest=False, train=False)
    assert summary["failed"] == []
    return path


@pytest.fixture(scope="module")
def measured(sample: Path) -> dict[str, Any]:
    """The valence curve of the sample study, measured as the app measures it: a job."""
    with Project.open(sample) as project:
        job = project.jobs.wait(project.jobs.learning_curve("valence"), timeout=1800)
        assert job.state == "done", job.error
        assert job.total and job.done == job.total
        assert project.jobs.latest(LEARNING_CURVE, facet="valence").id == job.id
        assert project.jobs.latest(LEARNING_CURVE, facet="cmo") is None
        return job.result


@pytest.mark.slow
def test_the_sample_studys_valence_curve_compares_both_orders(measured) -> None:
    assert measured["facet"] == "valence"
    assert measured["segments"] > 700  # the coded passages of the five clinics
    assert measured["held_out"] == "30% of the documents, whole"
    assert (measured["seeds"], measured["start"], measured["batch"]) == (3, 40, 40)
    by_order = {
        order: [p for p in measured["points"] if p["order"] == order]
        for order in ("uncertainty", "random")
    }
    for points in by_order.values():
        labels = [p["labels"] for p in points]
        assert labels[0] == 40 and labels == sorted(set(labels)) and len(labels) >= 10
        assert all(-1 <= p["kappa"] <= 1 for p in points)
    assert by_order["uncertainty"][0]["kappa"] == by_order["random"][0]["kappa"]
    # the model learns: the κ of the whole pool is well above the first batch's
    assert measured["pool_kappa"] > 0.3
    assert measured["pool_kappa"] > by_order["random"][0]["kappa"]
    assert measured["target_kappa"] == pytest.approx(0.95 * measured["pool_kappa"], abs=0.002)
    assert set(measured["labels_to_target"]) == {"uncertainty", "random"}
    assert measured["reading"].startswith("On this project")


@pytest.mark.slow
def test_the_review_page_shows_the_curve_its_figures_and_the_external_ones(
    sample: Path, measured: dict[str, Any]
) -> None:
    at = open_page(app_on(sample), "review")
    [section] = [e for e in at.expander if e.label.startswith("Learning curve")]
    assert measured["reading"] in [m.value for m in section.markdown]
    metrics = {m.label: m.value for m in section.metric}
    assert metrics["Target κ"] == f"{measured['target_kappa']:.2f}"
    queue = measured["labels_to_target"]["uncertainty"]
    assert metrics["Labels to reach it, queue's order (least certain first)"] == (
        "not reached" if queue is None else str(queue)
    )
    [chart] = section.get("vega_lite_chart")
    assert "on held-out segments" in chart.proto.spec and "segments labelled" in chart.proto.spec
    [external] = [d.value for d in section.dataframe if "data set" in d.value.columns]
    assert external["data set"].str.startswith("AnnoMI").any()
    assert any("Measured on external data" in m.value for m in section.markdown)


def test_the_command_line_says_when_there_are_too_few_reviews(few_reviews, capsys) -> None:
    from qual_nlp.cli import main

    assert main(["curve", str(few_reviews), "--facet", "valence"]) == 2
    assert "facet 'valence' has 4 reviewed segment(s)" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_line_prints_the_curve_as_json(sample: Path, capsys) -> None:
    import json

    from qual_nlp.cli import main

    assert main(["curve", str(sample), "--facet", "cmo", "--json"]) == 0
    curve = json.loads(capsys.readouterr().out)
    assert curve["facet"] == "cmo" and curve["segments"] > 700
    assert {p["order"] for p in curve["points"]} == {"uncertainty", "random"}
    assert set(curve["labels_to_target"]) == {"uncertainty", "random"}
    assert curve["reading"].startswith("On this project")
