"""The De-identify page in headless Chromium: detect, then accept, reject and skip with
the keyboard; the decisions land in the store and the preview shows the pseudonyms.

Needs Debian's Chromium at /usr/bin/chromium; nothing is downloaded. Every wait is bounded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_browser import (  # noqa: E402
    WAIT_MS,
    _assert,
    browser_page,  # noqa: F401  (fixture)
    go,
    poll,
    serve_app,
    settle,
    shot,
)
from test_app_browser import pytestmark as _browser_marks  # noqa: E402

from qual_nlp.project import Project  # noqa: E402

pytestmark = _browser_marks
TEXT = (
    "Interviewer: Who helps you at home?\n"
    "P07: Nurse Kowalczyk calls me from Sherbrooke every Tuesday, at 819-555-0143.\n"
)


@pytest.fixture
def deid_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app on a project of one interview with identifiers, detection already run."""
    source = tmp_path / "C03_interview_P07.txt"
    source.write_text(TEXT, encoding="utf-8")
    project = tmp_path / "deid.qnlp"
    with Project.init(project) as p:
        p.import_files([source], case="C03")
        p.deid.run(language="en")
    with serve_app(project, tmp_path / "server.log") as url:
        yield url, project


def statuses(project: Path) -> dict[str, str]:
    with Project.open(project) as p:
        frame = p.deid.frame()
    return dict(zip(frame["text"], frame["status"], strict=True))


def under_review(page) -> str:
    return page.locator("#deid-current mark").inner_text()


def wait_for_next(page, leaving: str) -> None:
    page.wait_for_function(
        "(gone) => { const e = document.querySelector('#deid-current mark');"
        " return e === null || e.innerText !== gone; }",
        arg=leaving,
        timeout=WAIT_MS,
    )
    settle(page)


def test_review_detections_with_the_keyboard(deid_server, browser_page) -> None:  # noqa: F811
    url, project = deid_server
    page = browser_page
    page.goto(url)
    page.get_by_text("Who is coding?").wait_for()
    page.get_by_label("Your name or initials").fill("lea")
    page.get_by_role("button", name="Start coding").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    settle(page)
    go(page, "De-identify")
    assert under_review(page) == "Kowalczyk"
    shot(page, "10_deid_queue")

    page.get_by_role("heading", name="De-identify").click()
    page.keyboard.press("a")
    wait_for_next(page, "Kowalczyk")
    assert under_review(page) == "Sherbrooke"
    page.keyboard.press("x")
    wait_for_next(page, "Sherbrooke")
    assert under_review(page) == "819-555-0143"
    page.keyboard.press("n")
    wait_for_next(page, "819-555-0143")
    poll(
        lambda: _assert(
            statuses(project)
            == {"Kowalczyk": "accepted", "Sherbrooke": "rejected", "819-555-0143": "suggested"}
        )
    )
    preview = page.locator("#deid-preview").inner_text()
    assert "Nurse [NURSE-1] calls me from Sherbrooke" in preview
    assert "819-555-0143" not in preview
    shot(page, "11_deid_preview")
