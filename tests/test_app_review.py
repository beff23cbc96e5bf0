"""The Review queue page, driven headless with AppTest; decisions checked in the store."""

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


@pytest.fixture
def study(tmp_path: Path, project_location: str) -> Path | str:
    return build_project(tmp_path, location=project_location)


def current_text(at) -> str:
    """The passage under review (the highlighted turn of the context block)."""
    blocks = [h.value for h in at.html if 'class="q-turn q-current"' in h.value]
    assert len(blocks) == 1
    return blocks[0].split('class="q-turn q-current"', 1)[1].split("</div></div>", 1)[0]


def picks(at) -> dict[str, bool]:
    return {
        c.key.split("_", 3)[3]: c.value for c in at.checkbox if c.key.startswith("review_pick_")
    }


def decisions(path: Path, coder: str, segment_id: int) -> dict[str, set[str]]:
    with Project.open(path) as project:
        codings = project.codings(coders=[coder])
    mine = codings[codings["segment_id"] == segment_id]
    return {
        status: set(mine.loc[mine["status"] == status, "code"])
        for status in ("accepted", "rejected")
    }


def test_queue_opens_on_the_most_uncertain_segment_with_context(study: Path) -> None:
    at = open_page(app_on(study), "review")
    assert "Transport to the clinic" in current_text(at)
    context = "".join(h.value for h in at.html if 'class="q-turn q-current"' in h.value)
    assert "Anything else?" in context  # the interviewer's question before it
    assert list(picks(at)) == ["valence/barrier"]


def test_accept_all_writes_accepted_codings_and_shows_the_next_segment(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.button(key="review_accept_all").click().run()
    assert not at.exception
    with Project.open(study) as project:
        sid = segment_with(project, "Transport to the clinic")
    assert decisions(study, "ana", sid) == {"accepted": {"valence/barrier"}, "rejected": set()}
    assert "physicians did not know" in current_text(at)


def test_save_selection_accepts_ticked_and_added_codes_and_rejects_the_rest(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.button(key="review_skip").click().run()  # on to "physicians did not know"
    assert set(picks(at)) == {"valence/barrier", "cfir_domain/inner_setting"}
    [box] = [c for c in at.checkbox if c.key.endswith("cfir_domain/inner_setting")]
    box.uncheck()
    [extra] = [m for m in at.multiselect if m.key.startswith("review_extra_")]
    extra.set_value(["cmo/context"])
    at.button(key="review_save").click().run()
    with Project.open(study) as project:
        sid = segment_with(project, "physicians did not know")
    assert decisions(study, "ana", sid) == {
        "accepted": {"valence/barrier", "cmo/context"},
        "rejected": {"cfir_domain/inner_setting"},
    }


def test_reject_all_keeps_every_suggestion_as_a_rejection(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.button(key="review_skip").click().run()
    at.button(key="review_reject_all").click().run()
    with Project.open(study) as project:
        sid = segment_with(project, "physicians did not know")
    assert decisions(study, "ana", sid) == {
        "accepted": set(),
        "rejected": {"valence/barrier", "cfir_domain/inner_setting"},
    }


def test_memo_is_stored_with_the_decision(study: Path) -> None:
    at = open_page(app_on(study), "review")
    [memo] = [t for t in at.text_area if t.key.startswith("review_memo_")]
    memo.input("Barrier for rural patients only")
    at.button(key="review_accept_all").click().run()
    with Project.open(study) as project:
        codings = project.codings(coders=["ana"])
    assert codings["memo"].tolist() == ["Barrier for rural patients only"]


def test_skip_marks_the_segment_reviewed_as_skipped(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.button(key="review_skip").click().run()
    with Project.open(study) as project:
        sid = segment_with(project, "Transport to the clinic")
        skipped = project.store.codings.coverage(include_skipped=True)
        counted = project.store.codings.coverage()
        assert project.codings(coders=["ana"]).empty
    assert (sid, "ana") in set(zip(skipped["segment_id"], skipped["coder"], strict=True))
    assert sid not in set(counted["segment_id"])


def test_back_reopens_the_last_decision_with_its_codes_ticked(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.button(key="review_skip").click().run()
    [box] = [c for c in at.checkbox if c.key.endswith("cfir_domain/inner_setting")]
    box.uncheck()
    at.button(key="review_save").click().run()
    assert "physicians did not know" not in current_text(at)
    at.button(key="review_back").click().run()
    assert "physicians did not know" in current_text(at)
    assert picks(at) == {"valence/barrier": True, "cfir_domain/inner_setting": False}


def test_decisions_survive_a_new_session(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.button(key="review_accept_all").click().run()
    again = open_page(app_on(study), "review")
    assert "physicians did not know" in current_text(again)


def test_case_filter_limits_the_queue(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.sidebar.selectbox(key="review_case").set_value("C02").run()
    assert "Transport to the clinic" in current_text(at)
    at.sidebar.selectbox(key="review_case").set_value("C01").run()
    assert "physicians did not know" in current_text(at)


def test_blind_assignment_hides_suggestions(study: Path) -> None:
    with Project.open(study) as project:
        project.review.assign("round-1", ["ana", "bob"], documents=["C01_interview_NCM.txt"])
    at = open_page(app_on(study), "review")
    assert picks(at) == {}
    assert any("Blind coding" in i.value for i in at.info)


def test_bulk_accept_previews_then_accepts(study: Path) -> None:
    at = open_page(app_on(study), "review")
    at.selectbox(key="review_bulk_code").set_value("valence/barrier")
    at.slider(key="review_bulk_min").set_value(0.6)
    at.button(key="review_bulk_preview").click().run()
    [preview] = [d.value for d in at.dataframe if "score" in d.value.columns]
    assert sorted(preview["score"]) == [0.66, 0.91]
    with Project.open(study) as project:
        assert project.codings(coders=["ana"]).empty  # a preview writes nothing
    at.button(key="review_bulk_apply").click().run()
    with Project.open(study) as project:
        accepted = project.codings(coders=["ana"], statuses=["accepted"])
        expected = {
            segment_with(project, "physicians did not know"),
            segment_with(project, "pharmacy never got the care plan"),
        }
    assert set(accepted.loc[accepted["code"] == "valence/barrier", "segment_id"]) == expected


def test_empty_queue_says_what_to_do_next(tmp_path: Path) -> None:
    path = build_project(tmp_path)
    with Project.open(path) as project:
        for sid in project.review.next("ana", n=100):
            project.review.decide(sid, "ana", skipped=True)
    at = open_page(app_on(path), "review")
    assert any("Nothing left to review" in i.value for i in at.info)


def test_segments_without_suggestions_point_to_suggest(tmp_path: Path) -> None:
    path = build_project(tmp_path, suggestions=False)
    at = open_page(app_on(path), "review")
    assert any("No suggestions for this segment" in c.value for c in at.caption)


def test_model_quality_shows_kappa_and_f1_of_the_latest_version(study: Path) -> None:
    with Project.open(study) as project:
        for f1, kappa in ((0.41, 0.30), (0.72, 0.64)):
            metrics = {"valence": {"macro_f1": f1, "kappa": kappa, "n": 40}}
            project.store.model_versions.add(project.model.MODEL, metrics, None, 40)
    at = open_page(app_on(study), "review")
    [table] = [d.value for d in at.dataframe if "κ" in d.value.columns]
    assert table[["macro-F1", "κ"]].values.tolist() == [[0.72, 0.64]]
    assert list(table["facet"]) == ["Valence"]


@pytest.mark.slow
def test_retrain_from_the_page_says_when_there_is_too_little_to_learn(tmp_path: Path) -> None:
    """The real embedding model: four reviews are too few, so no empty version is stored
    and the page says what to do (training itself is tested in test_engine_real)."""
    path = build_project(tmp_path, suggestions=False)
    reviewed = {
        "physicians did not know": ["valence/barrier"],
        "weekly team huddle": ["valence/facilitator", "cmo/mechanism"],
        "pharmacy never got the care plan": ["valence/barrier", "cmo/context"],
        "Transport to the clinic": ["valence/barrier"],
    }
    with Project.open(path) as project:
        for fragment, codes in reviewed.items():
            project.review.decide(segment_with(project, fragment), "ana", accept=codes)
    at = open_page(app_on(path), "review")
    at.button(key="review_retrain").click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    [message] = [s.value for s in at.success]
    assert message.startswith("Not trained:") and "keep reviewing" in message
    with Project.open(path) as project:
        assert project.store.model_versions.frame().empty


@pytest.mark.slow
def test_suggest_from_the_page_names_documents_the_encoder_does_not_cover(
    tmp_path: Path,
) -> None:
    # an English-only project (the default encoder covers French)
    Project.init(tmp_path / "study.qnlp", encoder="all-MiniLM-L6-v2", backend="torch").close()
    path = build_project(tmp_path, suggestions=False)
    french = tmp_path / "QC_entrevue.txt"
    french.write_text(
        "Intervieweuse : Comment ça se passe avec les médecins depuis le début du projet ?\n"
        "Infirmière : Franchement, c'est difficile. Les médecins ne voulaient pas remplir "
        "les formulaires, ils disaient que c'était trop long, et on n'a jamais le temps "
        "de faire les suivis avec les patients.\n",
        encoding="utf-8",
    )
    with Project.open(path) as project:
        project.import_files([french])
    at = open_page(app_on(path), "review")
    at.button(key="review_suggest").click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    [warning] = [w.value for w in at.warning if "does not cover" in w.value]
    assert warning.startswith("QC_entrevue.txt is in French")
    assert "--encoder multilingual-e5-small" in warning
