"""Long actions in the real app show a progress bar with counts (headless Chromium):
importing 100 files, suggesting, retraining and building an export.

Every text a progress bar shows is recorded in the page (a MutationObserver), so the
test sees the counts move, not only the finished state.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

import test_app_browser as app  # noqa: E402

# the same markers (browser, slow; skipped without Chromium) and fixtures as the walk-through
pytestmark = app.pytestmark
server = app.server
browser_page = app.browser_page
go, settle = app.go, app.settle

RECORD = """() => {
  window.__bars = [];
  const seen = () => document.querySelectorAll('[data-testid="stProgress"]').forEach(
    (e) => { const t = e.innerText.trim(); if (t && window.__bars.at(-1) !== t) window.__bars.push(t); });
  new MutationObserver(seen).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def counts(texts: list[str], what: str) -> list[tuple[int, int]]:
    pattern = re.compile(rf"{what}: ([\d,]+) of ([\d,]+)")
    found = (pattern.search(t) for t in texts)
    return [(int(m[1].replace(",", "")), int(m[2].replace(",", ""))) for m in found if m]


def test_long_actions_show_progress_with_counts(server, browser_page, tmp_path: Path) -> None:
    url, _project = server
    page = browser_page
    folder = tmp_path / "hundred"
    folder.mkdir()
    for i in range(100):
        (folder / f"C{i % 5:02d}_P{i:03d}.txt").write_text(
            f"Interviewer: What changed?\nP{i:03d}: The nurse calls back, visit {i}.\n",
            encoding="utf-8",
        )

    page.goto(url)
    page.get_by_label("Your name or initials").fill("ana")
    page.get_by_role("button", name="Start coding").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    settle(page)
    page.evaluate(RECORD)

    # --- import 100 files from a folder
    go(page, "Import")
    page.get_by_text("A folder on this computer").click()
    settle(page)
    page.get_by_label("Folder (or file) path").fill(str(folder))
    page.get_by_label("Folder (or file) path").press("Enter")
    settle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("New segments").wait_for(timeout=180_000)
    settle(page)
    imported = counts(page.evaluate("window.__bars"), "Importing")
    assert imported, "no import progress bar was shown"
    assert {total for _, total in imported} == {100}
    assert (100, 100) in imported
    # the bar was drawn while the job ran (how many steps a poll catches depends on speed)
    assert any(done < 100 for done, _ in imported), imported

    # --- suggest, then retrain (the real encoder)
    go(page, "Review queue")
    page.evaluate(RECORD)
    page.get_by_text("Model: suggest, retrain, quality").click()
    page.get_by_role("button", name="Suggest codes").click()
    page.get_by_text(re.compile(r"suggestions on \d+ segments")).wait_for(timeout=300_000)
    settle(page)
    suggested = counts(page.evaluate("window.__bars"), "Suggesting")
    assert suggested and suggested[-1][0] == suggested[-1][1] > 0, suggested
    page.evaluate(RECORD)
    page.get_by_role("button", name="Retrain on my reviews").click()
    page.get_by_text(re.compile(r"trained on \d+ reviewed segments|Not trained")).wait_for(
        timeout=300_000
    )
    settle(page)
    trained = counts(page.evaluate("window.__bars"), "Training")
    assert trained and trained[-1][0] == trained[-1][1] > 0, trained

    # --- build an export
    go(page, "Matrices")
    page.evaluate(RECORD)
    page.locator('[data-testid="stMain"]').get_by_text("Export", exact=True).click()
    settle(page)
    page.get_by_role("button", name="Build REFI-QDA project (.qdpx)").click()
    page.get_by_role("button", name="REFI-QDA project (.qdpx)", exact=True).wait_for(
        timeout=120_000
    )
    built = counts(page.evaluate("window.__bars"), r"Building project\.qdpx")
    assert built and built[-1] == (1, 1), built
