"""Reading and reviewing in the real app (headless Chromium): coding stripes and
highlights of two coders, coding a passage by selecting it, a memo written and found,
the review queue with number keys only and its progress counter. A screenshot of each
under test-output/screenshots/.

Needs Debian's Chromium at /usr/bin/chromium (``bash scripts/browser.sh``); every wait is
bounded and waits for an element or a value, never for a fixed time.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_browser import (  # noqa: E402
    ARGS,
    CHROMIUM,
    WAIT_MS,
    poll,
    pytestmark,  # noqa: F401  (browser, slow, skip without Chromium)
    serve_app,
    settle,
    shot,
)
from test_app_support import build_project, segment_with  # noqa: E402

from qual_nlp.project import Project  # noqa: E402

C01 = "C01_interview_NCM.txt"


@pytest.fixture
def study(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The fixture project with two coders' overlapping codings on C01, served."""
    project = build_project(tmp_path)
    with Project.open(project) as p:
        huddle = segment_with(p, "weekly team huddle")
        p.review.decide(huddle, "ana", accept=["valence/facilitator"])
        p.review.decide(huddle, "bo", accept=["valence/facilitator", "cmo/mechanism"])
        text = p.document(C01).text
        at = text.index("weekly team huddle")
        p.review.code_span(C01, at, at + 18, "cfir_domain/inner_setting", "bo")
    with serve_app(project, tmp_path / "server.log") as url:
        yield url, project


@pytest.fixture
def web() -> Iterator[object]:
    """A page of headless Chromium (Debian's), as in test_app_browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def enter_as(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_text("Who is coding?").wait_for()
    page.get_by_label("Your name or initials").fill(name)
    page.get_by_role("button", name="Start coding").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    settle(page)


def open_documents(page) -> object:
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Documents", exact=True).click()
    page.get_by_role("heading", name="Documents").wait_for()
    settle(page)
    frame = page.wait_for_selector('iframe[title*="qual_nlp_reader"]').content_frame()
    frame.wait_for_selector(".q-reader [data-s]")
    return frame


def test_stripes_and_highlights_show_two_coders_and_a_click_opens_the_coding(study, web) -> None:
    url, project = study
    page = web
    enter_as(page, url, "ana")
    reader = open_documents(page)
    stripes = reader.eval_on_selector_all(
        ".q-grid > i", "els => els.map(e => [e.title, e.getAttribute('data-k')])"
    )
    titles = sorted(t for t, _ in stripes)
    assert any(t.startswith("Valence › Facilitator — ana · accepted") for t in titles)
    assert any(t.startswith("Valence › Facilitator — bo · accepted") for t in titles)
    assert any(t.startswith("Realist role (CMO) › Mechanism — bo") for t in titles)
    labels = reader.eval_on_selector_all("span.q-h", "els => els.map(e => e.textContent)")
    assert {"Facilitator", "Mechanism", "Inner setting"} <= set(labels)
    # the huddle sentence lies under codings of both coders: overlapping highlights (the
    # first code's colour, the last one's underline), and the table of spans for clicks
    overlap = reader.eval_on_selector_all(
        "mark", "els => els.filter(e => / u\\d+/.test(e.className)).map(e => e.textContent)"
    )
    assert any("weekly team huddle" in t for t in overlap)
    spans = reader.evaluate("() => JSON.parse(document.getElementById('q-spans').textContent)")
    with Project.open(project) as p:
        at = p.document(C01).text.index("weekly team huddle")
    assert len([s for s in spans if s[1] <= at < s[2]]) == 4  # ana's one, bo's three
    # stripes sit in the margin beside their passage, side by side for the two coders
    boxes = reader.eval_on_selector_all(
        ".q-grid > i", "els => els.map(e => e.getBoundingClientRect().left)"
    )
    assert len(set(round(x) for x in boxes)) >= 3
    shot(page, "20_reading_stripes")

    # a click on bo's mechanism stripe opens that coding beside the text
    with Project.open(project) as p:
        frame = p.codings(coders=["bo"])
        mechanism = int(frame.loc[frame["code"] == "cmo/mechanism", "coding_id"].iloc[0])
    reader.locator(f'.q-grid > i[data-k="{mechanism}"]').click()
    panel = page.locator(f".st-key-docs_coding_{mechanism}")
    panel.wait_for()
    assert "bo" in panel.inner_text() and "Mechanism" in panel.inner_text()
    shot(page, "21_reading_opened_coding")


def test_selecting_text_codes_the_passage(study, web) -> None:
    url, project = study
    page = web
    enter_as(page, url, "ana")
    reader = open_documents(page)
    with Project.open(project) as p:
        text = p.document(C01).text
    words = "physicians did not know"
    start = text.index(words)
    # select the words with the mouse: from their first to their last character
    box = reader.evaluate(
        """([start, n]) => {
            const pieces = [...document.querySelectorAll('[data-s]')];
            const piece = pieces.filter(p => +p.dataset.s <= start).pop();
            const node = piece.firstChild, at = start - +piece.dataset.s;
            const range = document.createRange();
            range.setStart(node, at); range.setEnd(node, at + n);
            const r = range.getClientRects();
            const a = r[0], b = r[r.length - 1];
            range.startContainer.parentElement.scrollIntoView({block: 'center'});
            const a2 = range.getClientRects()[0], b2 = [...range.getClientRects()].pop();
            return [a2.left + 1, a2.top + a2.height / 2, b2.right - 1, b2.top + b2.height / 2];
        }""",
        [start, len(words)],
    )
    frame_box = page.locator('iframe[title*="qual_nlp_reader"]').bounding_box()
    x0, y0 = frame_box["x"] + box[0], frame_box["y"] + box[1]
    x1, y1 = frame_box["x"] + box[2], frame_box["y"] + box[3]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    assert reader.evaluate("() => window.getSelection().toString()") == words
    start_box = page.get_by_label("Start")
    poll(lambda: _assert(start_box.input_value() == str(start)), seconds=WAIT_MS / 1000)
    assert page.get_by_label("End").input_value() == str(start + len(words))
    page.get_by_label("Code", exact=True).click()
    page.keyboard.type("Valence › Barrier")
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_role("button", name="Code this passage").click()
    page.get_by_text(re.compile(r"Coded Valence › Barrier at \d+–\d+")).wait_for()

    def coded() -> None:
        with Project.open(project) as p:
            rows = p.codings(coders=["ana"])
        hit = rows[(rows["start"] == start) & (rows["end"] == start + len(words))]
        assert hit["code"].tolist() == ["valence/barrier"]
        assert hit["text"].tolist() == [words]

    poll(coded)
    shot(page, "22_reading_selection_coded")
    # a click on the new highlight opens its coding
    with Project.open(project) as p:
        rows = p.codings(coders=["ana"])
        cid = int(rows.loc[rows["start"] == start, "coding_id"].iloc[0])
    reader = page.wait_for_selector('iframe[title*="qual_nlp_reader"]').content_frame()
    reader.locator("mark", has_text=words).first.click()
    page.locator(f".st-key-docs_coding_{cid}").wait_for()


def test_a_memo_is_written_and_found(study, web) -> None:
    url, project = study
    page = web
    enter_as(page, url, "ana")
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Memos", exact=True).click()
    page.get_by_role("heading", name="Memos").wait_for()
    settle(page)
    page.get_by_text("New memo", exact=True).click()
    page.get_by_label("Title").fill("Huddles and trust")
    page.get_by_label("Text").fill("The weekly huddle is where physicians start to listen.")
    page.get_by_role("button", name="Save memo").click()
    page.get_by_text("Memo 1 saved: Huddles and trust").wait_for()
    settle(page)
    search = page.get_by_label("Search memos")
    search.fill("HUDDLE")
    search.press("Enter")
    settle(page)
    card = page.locator(".st-key-memos_card_1")
    # the card's box can be drawn a moment before its text: expect() retries until it is
    expect(card).to_contain_text("Huddles and trust", timeout=WAIT_MS)
    expect(card).to_contain_text("ana", timeout=WAIT_MS)
    search.fill("nothing like this")
    search.press("Enter")
    page.get_by_text("No memo matches 'nothing like this'.").wait_for()
    search.fill("physicians")
    search.press("Enter")
    card.wait_for()
    with Project.open(project) as p:
        [memo] = p.memos.search("huddle")
    assert (memo.title, memo.author) == ("Huddles and trust", "ana")
    shot(page, "23_memos")


def counter(page) -> tuple[int, int]:
    text = page.get_by_text(re.compile(r"reviewed today · \d+ left")).first.inner_text()
    done, left = re.search(r"(\d+) reviewed today · (\d+) left", text).groups()
    return int(done), int(left)


def test_the_queue_with_number_keys_only_and_the_progress_counter(study, web) -> None:
    url, project = study
    page = web
    with Project.open(project) as p:
        assigned = p.review.assign("round-1", ["cy"], blind=False)
    enter_as(page, url, "cy")
    done, left = counter(page)
    assert done == 0 and left > 2
    bar = page.get_by_text(re.compile(r"Assignment round-1: \d+ of \d+ segments"))
    assert bar.inner_text() == f"Assignment round-1: 0 of {assigned} segments"
    page.get_by_role("heading", name="Review queue").click()  # the keys go to the page
    # ? shows the keys
    page.keyboard.press("?")
    page.locator("#q-keys").wait_for(state="visible")
    assert "tick or untick the suggestion with that number" in page.locator("#q-keys").inner_text()
    shot(page, "24_review_keys")
    page.keyboard.press("?")
    page.locator("#q-keys").wait_for(state="hidden")

    first = page.locator(".q-turn.q-current").inner_text()
    one = page.locator(".st-key-review_num_1 input[type=checkbox]")
    label = page.locator(".st-key-review_num_1").inner_text().split("·", 1)[1].strip()
    assert one.is_checked()
    page.keyboard.press("1")  # untick the top suggestion
    poll(lambda: _assert(not one.is_checked()))
    settle(page)
    page.keyboard.press("s")  # save the selection: the next segment comes
    page.wait_for_function(
        "(gone) => { const e = document.querySelector('.q-turn.q-current');"
        " return e !== null && e.innerText !== gone; }",
        arg=first,
        timeout=WAIT_MS,
    )
    settle(page)
    poll(lambda: _assert(counter(page) == (1, left - 1)))
    with Project.open(project) as p:
        rows = p.codings(coders=["cy"])
        names = {c.path: c.name for c in p.codebook().codes}
    rejected = {names[c] for c in rows.loc[rows["status"] == "rejected", "code"]}
    assert label in rejected  # the number key's suggestion was turned down

    page.keyboard.press("a")  # accept all: one more
    poll(lambda: _assert(counter(page) == (2, left - 2)))
    poll(lambda: _assert(bar.inner_text() == f"Assignment round-1: 2 of {assigned} segments"))
    shot(page, "25_review_progress")


def test_a_reload_and_a_bookmark_keep_the_user_signed_in(tmp_path, web) -> None:
    from test_access_project import PASSWORDS, make_team

    page = web
    with serve_app(make_team(tmp_path), tmp_path / "server.log") as url:
        page.goto(url)
        page.get_by_role("heading", name="Sign in").wait_for()
        page.get_by_label("User name").fill("ana")
        page.get_by_label("Password", exact=True).fill(PASSWORDS["ana"])
        page.get_by_label("Password", exact=True).press("Enter")
        page.get_by_role("heading", name="Review queue").wait_for()
        settle(page)
        poll(
            lambda: _assert(
                any(c["name"].startswith("qual_nlp_session_") for c in page.context.cookies())
            )
        )
        page.reload()  # a new app session: the signed cookie brings ana back
        page.get_by_role("heading", name="Review queue").wait_for()
        settle(page)
        assert "Signed in as ana" in page.locator('[data-testid="stSidebar"]').inner_text()
        page.goto(f"{url}/documents")  # a bookmarked page
        page.get_by_role("heading", name="Documents").wait_for()
        settle(page)
        shot(page, "26_signed_in_after_reload")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for()
        settle(page)
        poll(
            lambda: _assert(
                not any(c["name"].startswith("qual_nlp_session_") for c in page.context.cookies())
            )
        )
        page.reload()  # signed out stays signed out
        page.get_by_role("heading", name="Sign in").wait_for()


def _assert(condition: bool) -> None:
    assert condition
