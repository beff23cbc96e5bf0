"""Where a coder stands in the review queue: reviewed today, left, time left, assignments."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_support import (  # noqa: E402
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
)

from qual_nlp.project import Project  # noqa: E402
from qual_nlp.project.review import decision_pace  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_pace_is_the_median_gap_without_pauses():
    day = "2026-03-02T09:"
    times = [f"{day}00:00+00:00", f"{day}00:12+00:00", f"{day}00:20+00:00", f"{day}45:00+00:00"]
    assert decision_pace(times) == 10.0  # 12 s and 8 s; the 44-minute pause is left out
    assert decision_pace(times[:1]) is None


def test_pace_counts_today_the_queue_left_and_each_assignment(tmp_path):
    with Project.open(build_project(tmp_path, suggestions=True)) as project:
        total = project.review.pace("ana")["left"]
        assert total > 3
        ids = project.review.next("ana", n=3)
        project.review.assign("round-1", ["ana"], documents=["C01_interview_NCM.txt"])
        for sid in ids:
            project.review.decide(sid, "ana", skipped=True)
        pace = project.review.pace("ana")
        assert pace["reviewed_today"] == 3
        assert pace["left"] == total - 3
        assert pace["seconds_per_decision"] is not None  # three decisions a moment apart
        assert pace["seconds_left"] == pace["seconds_per_decision"] * pace["left"]
        [assignment] = pace["assignments"]
        assert assignment["name"] == "round-1" and assignment["segments"] > 0
        assert assignment["reviewed"] == len(
            set(ids) & set(project.store.assignments.segments("round-1", "ana"))
        )
        tomorrow = datetime(2099, 1, 1, tzinfo=UTC)
        assert project.review.pace("ana", now=tomorrow)["reviewed_today"] == 0
        only_c02 = project.review.pace("ana", document="C02_interview_P07.txt")["left"]
        assert 0 < only_c02 < pace["left"]


def test_the_review_page_shows_the_counter_and_numbers_the_suggestions(tmp_path):
    path = build_project(tmp_path)
    at = open_page(app_on(path), "review")
    assert not at.exception
    counter = next(m.value for m in at.markdown if "reviewed today" in m.value)
    assert counter.startswith("**0** reviewed today · **")
    left = int(counter.split("· **", 1)[1].split("**", 1)[0])
    labels = [c.label for c in at.checkbox]
    assert labels and labels[0].startswith("1 · ")
    at.button(key="review_skip").click().run()
    counter = next(m.value for m in at.markdown if "reviewed today" in m.value)
    assert counter.startswith("**1** reviewed today")
    assert f"**{left - 1}** left in this queue" in counter


def test_the_coder_page_says_how_much_a_new_coder_finds_to_review(tmp_path):
    path = build_project(tmp_path)
    with Project.open(path) as project:
        waiting = project.review.waiting_for_a_new_coder()
        assert waiting == project.review.pace("newcomer")["left"] > 0
        project.review.decide(project.review.next("ana")[0], "ana", skipped=True)
        assert project.review.waiting_for_a_new_coder() == waiting  # ana's work is hers
    at = app_on(path, coder=None).run()
    assert not at.exception
    assert any(f"{waiting} segments are waiting for review" in i.value for i in at.info)
