"""Teams in the real app, served by `qual-nlp app PROJECT --port N --headless`, driven in
headless Chromium: the sign-in page, a wrong password, what a patient partner sees (only
their assigned segments, no suggestion, no other coder, no agreement / codebook editing /
export), what a lead sees, and the wait after 5 failed sign-ins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from test_access_project import PASSWORDS, make_team  # noqa: E402
from test_app_browser import (  # noqa: E402
    ARGS,
    CHROMIUM,
    WAIT_MS,
    free_port,
    go,
    settle,
    shot,
    wait_healthy,
)

from qual_nlp.project import Project  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]
#: words a patient partner's plain-language view never shows
JARGON = ("model", "suggest", "κ", "kappa", "agreement", "macro-f1", "zed", "ZED-NOTE")


@pytest.fixture(scope="module")
def team_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The team project served by the command line, as a team would start it."""
    folder = tmp_path_factory.mktemp("team")
    project = make_team(folder)
    port = free_port()
    log = folder / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("QUAL_NLP_PROJECT", None)
    command = [sys.executable, "-m", "qual_nlp", "app", str(project), "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--headless"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url, project
    finally:
        proc.terminate()  # the command stops its server too
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    with Project.open(project) as p:  # the server's log holds no password and no hash
        hashes = [p.store.users.password_hash(name) for name in PASSWORDS]
    logged = log.read_text(encoding="utf-8", errors="replace")
    for secret in [*PASSWORDS.values(), *hashes, "wrong guess", "not my password"]:
        assert secret not in logged


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (its own cookies, so its own app session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield page
    finally:
        context.close()


def sign_in(page, url: str, name: str, password: str, *, enter: bool = False) -> bool:
    """Open ``url`` in a new app session, signed out (the cookie that keeps a session across
    reloads is cleared first), and sign in."""
    page.context.clear_cookies()
    page.goto(url)
    page.get_by_role("heading", name="Sign in").wait_for()
    refused = close_not_found(page)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    if enter:
        page.get_by_label("Password", exact=True).press("Enter")
    else:
        page.get_by_role("button", name="Sign in").click()
    settle(page)
    return refused


def close_not_found(page) -> bool:
    """Close Streamlit's "Page not found" notice (an address the session may not open);
    True when there was one."""
    settle(page)
    dialog = page.get_by_role("dialog")
    if not dialog.count():
        return False
    assert "not found" in dialog.inner_text().lower()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    return True


def nav_titles(page) -> list[str]:
    nav = page.locator('[data-testid="stSidebarNav"]')
    if not nav.count():
        return []
    return [t.strip().splitlines()[-1].strip() for t in nav.locator("a").all_inner_texts()]


def body(page) -> str:
    return page.locator("body").inner_text()


def test_a_wrong_password_is_refused(team_server, page):
    url, _ = team_server
    sign_in(page, url, "pat", "not my password", enter=True)
    page.get_by_text("Wrong user name or password").wait_for()
    assert page.get_by_role("heading", name="Sign in").is_visible()
    shot(page, "teams_00_wrong_password")


def test_a_patient_partner_sees_only_assigned_segments_in_plain_language(team_server, page):
    url, project = team_server
    with Project.open(project) as p:
        lead = p.as_user("lea")
        assigned = set(p.store.assignments.segment_ids("pat"))
        segments = lead.segments()
        texts = dict(zip(segments["segment_id"], segments["text"], strict=True))
    sign_in(page, url, "pat", PASSWORDS["pat"], enter=True)
    page.get_by_role("heading", name="My segments").wait_for()
    settle(page)
    assert set(nav_titles(page)) <= {"My segments"}  # one page: Streamlit shows no menu
    # the first page a partner opens de-identifies the documents (Presidio, spaCy) first
    page.get_by_text(f"Passage 1 of {len(assigned)}", exact=False).wait_for(timeout=180_000)
    settle(page)  # and the rerun that keeps the signed session in a cookie
    shot(page, "teams_01_partner")
    seen = []
    for i in range(len(assigned)):
        # the page's rerun has replaced the previous passage (no stale copy left)
        expect(page.locator(".q-turn.q-current")).to_have_count(1, timeout=60_000)
        current = page.locator(".q-turn.q-current").inner_text()
        seen.append(current)
        text = body(page)
        for word in JARGON:
            assert word.lower() not in text.lower(), (word, i)
        if i + 1 < len(assigned):
            page.get_by_role("button", name="Next").click()
            page.get_by_text(f"Passage {i + 2} of {len(assigned)}", exact=False).wait_for()
            settle(page)
    for shown in seen:  # each shown passage is one of the assigned segments, none other
        assert any(texts[sid].strip()[:40] in shown for sid in assigned), shown
    assert not any("calls me every week" in shown for shown in seen)  # C02: not assigned

    # coding: tick a code by its name, save; recorded under pat
    page.get_by_role("button", name="Previous").click()
    settle(page)
    page.get_by_text("Barrier", exact=True).first.click()
    settle(page)  # the tick's own rerun ends before Save is pressed
    page.get_by_role("button", name="Save").click()
    settle(page)
    page.get_by_text("Saved (1 code(s))").wait_for()
    with Project.open(project) as p:
        mine = p.as_user("lea").codings(coders=["pat"])
    assert list(mine["code"]) == ["valence/barrier"] and set(mine["segment_id"]) <= assigned

    # pages the role may not open are refused when reached by address
    for path, heading in (
        ("agreement", "Agreement"),
        ("codebook", "Codebook"),
        ("matrices", "Matrices"),
        ("review", "Review queue"),
        ("documents", "Documents"),
    ):
        # the address opens a new session: "not found" before signing in, and after it
        # the partner's own page, never the one asked for
        assert sign_in(page, f"{url}/{path}", "pat", PASSWORDS["pat"]), path
        page.get_by_role("heading", name="My segments").wait_for()
        settle(page)
        assert page.get_by_role("heading", name=heading).count() == 0, path
        assert "Export" not in body(page)
    shot(page, "teams_02_partner_refused_page")


def test_a_lead_sees_everything(team_server, page):
    url, _ = team_server
    sign_in(page, url, "lea", PASSWORDS["lea"])
    page.get_by_role("heading", name="Review queue").wait_for()
    settle(page)
    titles = nav_titles(page)
    for title in ("Review queue", "Documents", "Import", "Matrices", "Agreement", "Codebook"):
        assert title in titles, titles
    assert "My segments" not in titles
    assert "Signed in as" in body(page) and "Switch coder" not in body(page)
    page.locator('[data-testid="stCheckbox"]').first.wait_for()  # the model's suggestions
    assert "%" in page.locator('[data-testid="stMain"]').inner_text()
    shot(page, "teams_03_lead_review")
    go(page, "Agreement")
    page.get_by_text("Statistics").first.wait_for()
    page.get_by_text("Disagreements").first.wait_for()
    go(page, "Matrices")
    page.get_by_text("Export").first.click()
    settle(page)
    page.get_by_role("button", name="REFI-QDA project (.qdpx)").wait_for()
    go(page, "Codebook")
    page.get_by_role("tab", name="Merge").wait_for()
    shot(page, "teams_04_lead_codebook")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def test_after_five_failed_sign_ins_the_account_waits(team_server, page):
    url, project = team_server
    for attempt in range(1, 6):
        sign_in(page, url, "vic", f"wrong guess {attempt}")
    page.get_by_text("waits 30 seconds").wait_for()
    sign_in(page, url, "vic", PASSWORDS["vic"])  # the right one, too early
    page.get_by_text("Too many failed sign-ins").wait_for()
    assert page.get_by_role("heading", name="Sign in").is_visible()
    shot(page, "teams_05_lockout")
    with Project.open(project) as p:
        assert p.store.users.get("vic").failed_count == 5
