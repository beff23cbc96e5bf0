"""The De-identify page in headless Chromium: detect, then accept, reject and skip with
the keyboard; the decisions land in the store and the preview shows the pseudonyms.

Needs Debian's Chromium at /usr/bin/chromium; nothing is downloaded. Every wait is bounded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_browser import (  # noqa: E402
    ROOT,
    WAIT_MS,
    _assert,
    browser_page,  # noqa: F401  (fixture)
    free_port,
    go,
    poll,
    settle,
    shot,
    wait_healthy,
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
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("QUAL_NLP_PROJECT", None)
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--", str(project),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url, project
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


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
