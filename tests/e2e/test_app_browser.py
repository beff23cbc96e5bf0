"""The real app in headless Chromium: import, review with the keyboard and the mouse,
read a document, open the matrix, download the workbook; a screenshot of each page.

Needs Debian's Chromium at /usr/bin/chromium (``bash scripts/browser.sh`` installs it);
Playwright drives it directly, nothing is downloaded. Every wait is bounded.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from test_app_support import FIXTURES, build_project, segment_with  # noqa: E402

from qual_nlp.project import Project  # noqa: E402

#: Debian's Chromium; QUAL_NLP_CHROMIUM names another build of it (e.g. one unpacked for a
#: user without root)
CHROMIUM = Path(os.environ.get("QUAL_NLP_CHROMIUM") or "/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: run `bash scripts/browser.sh` (apt-get install "
        "chromium chromium-driver) to run the browser tests",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, server: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the app server exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the app did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


@contextmanager
def serve_app(project: Path | str, log: Path) -> Iterator[str]:
    """The app served on a free localhost port for ``project``; stopped afterwards."""
    port = free_port()
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
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app served on a free localhost port for a fresh project; stopped afterwards."""
    project = build_project(tmp_path)
    with serve_app(project, tmp_path / "server.log") as url:
        yield url, project


@pytest.fixture
def browser_page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def settle(page) -> None:
    """Wait until the script run ends (the running indicator is gone)."""
    page.wait_for_timeout(250)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).wait_for()
    settle(page)


def current(page) -> str:
    return page.locator(".q-turn.q-current").inner_text()


def wait_for_next(page, leaving: str) -> None:
    """Wait until the segment under review no longer contains ``leaving``."""
    page.wait_for_function(
        "(gone) => { const e = document.querySelector('.q-turn.q-current');"
        " return e !== null && !e.innerText.includes(gone); }",
        arg=leaving,
        timeout=WAIT_MS,
    )
    settle(page)


def reader_frame(page, check: str):
    """The document reader's frame once ``check`` holds in it. A rerun that lands after the
    document was chosen draws the reader again, detaching the frame found before it."""
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(5):
        frame = page.wait_for_selector('iframe[title*="qual_nlp_reader"]').content_frame()
        try:
            frame.wait_for_function(check)
            return frame
        except PlaywrightError as exc:
            if "detached" not in str(exc):
                raise
    raise AssertionError("the reader was drawn again five times while it was read")


def codings(project: Path, coder: str) -> dict[int, dict[str, set[str]]]:
    with Project.open(project) as p:
        frame = p.codings(coders=[coder])
    out: dict[int, dict[str, set[str]]] = {}
    for row in frame.itertuples():
        out.setdefault(int(row.segment_id), {}).setdefault(row.status, set()).add(row.code)
    return out


def poll(check, seconds: float = 15.0):
    """Retry ``check`` (it raises AssertionError) until it passes or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_app_end_to_end(server: tuple[str, Path], browser_page) -> None:
    url, project = server
    page = browser_page
    with Project.open(project) as p:
        transport = segment_with(p, "Transport to the clinic")
        physicians = segment_with(p, "physicians did not know")

    # --- coder
    page.goto(url)
    page.get_by_text("Who is coding?").wait_for()
    shot(page, "00_coder")
    page.get_by_label("Your name or initials").fill("ana")
    page.get_by_role("button", name="Start coding").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    settle(page)
    assert "Transport to the clinic" in current(page)
    shot(page, "01_review")

    # --- accept with the keyboard shortcut
    page.get_by_role("heading", name="Review queue").click()
    # a key pressed before its button is drawn is lost: in a fresh browser at the start of
    # a whole run the page's widgets can still be placeholders when the script run ends
    page.get_by_role("button", name=re.compile(r"^Accept all")).wait_for()
    page.keyboard.press("a")
    wait_for_next(page, "Transport")
    poll(lambda: _assert(codings(project, "ana")[transport] == {"accepted": {"valence/barrier"}}))
    assert "physicians did not know" in current(page)

    # --- correct: untick one suggestion, add another code, save
    page.get_by_text(re.compile(r"^\d · Inner setting$")).click()  # numbered for its key
    settle(page)
    combo = page.get_by_label("Add or correct codes")
    combo.click()
    page.keyboard.type("Realist role (CMO) › Context")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    settle(page)
    page.get_by_role("button", name="Save selection").click()
    wait_for_next(page, "physicians")
    expected = {
        "accepted": {"valence/barrier", "cmo/context"},
        "rejected": {"cfir_domain/inner_setting"},
    }
    poll(lambda: _assert(codings(project, "ana")[physicians] == expected))
    shot(page, "02_review_after_corrections")

    # --- import a file
    go(page, "Import")
    upload = FIXTURES / "upload" / "C03_field_notes.txt"
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(upload))
    page.get_by_text("C03_field_notes.txt").first.wait_for()
    page.get_by_label("Case (for every file)").fill("C03")
    page.get_by_label("Case (for every file)").press("Enter")
    settle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("New segments").wait_for()
    settle(page)
    with Project.open(project) as p:
        assert {d.name: d.case for d in p.documents()}["C03_field_notes.txt"] == "C03"
    shot(page, "03_import")

    # --- a document, with transcript markup shown as text
    go(page, "Documents")
    page.get_by_label("Document").click()
    page.get_by_role("option", name="C02_interview_P07.txt", exact=False).click()
    settle(page)
    reader = reader_frame(
        page,
        "() => (document.querySelector('.q-reader') || {innerText: ''}).innerText"
        ".includes('<script>alert(1)</script>')",
    )
    assert reader.evaluate("() => document.querySelectorAll('.q-reader script').length") == 0
    shot(page, "04_documents")

    # --- codebook and agreement
    go(page, "Codebook")
    page.locator(".q-tree").get_by_text("Barrier", exact=True).first.wait_for()
    shot(page, "05_codebook")
    go(page, "Agreement")
    shot(page, "06_agreement")

    # --- matrix, then the workbook download
    go(page, "Matrices")
    shot(page, "07_matrices")
    if importlib.util.find_spec("qual_nlp.analysis") is not None:
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.locator('[data-testid="stMain"]').get_by_text("Export", exact=True).click()
    settle(page)
    shot(page, "08_export")
    if importlib.util.find_spec("qual_nlp.analysis.workbook") is None:
        pytest.skip("qual_nlp.analysis.workbook is not in this version yet: no XLSX to download")
    import openpyxl

    page.get_by_role("button", name="Build Excel workbook (.xlsx)").click()
    page.get_by_text(re.compile(r"Building analysis\.xlsx: (\d+) of \1$")).wait_for(timeout=60_000)
    settle(page)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Excel workbook (.xlsx)", exact=True).click()
    path = info.value.path()
    assert openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes())).sheetnames


def _assert(condition: bool) -> None:
    assert condition
