"""A Quebec-French interview, made the way the README says (``qual-nlp init``, ``import``,
``suggest`` with the default encoder), gets suggestions in the real app's review queue
in headless Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_app_browser import (  # noqa: E402
    ARGS,
    CHROMIUM,
    WAIT_MS,
    current,
    serve_app,
    settle,
    shot,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]

INTERVIEW = """\
Intervieweuse : Bonjour, merci d'avoir accepté. Pouvez-vous me parler de votre rôle à la clinique ?
Infirmière : Je suis infirmière gestionnaire de cas au CLSC depuis deux ans. Je suis une trentaine de patients qui ont plusieurs maladies chroniques et qui viennent souvent à l'urgence.
I : Qu'est-ce qui a été le plus difficile au début ?
Infirmière : Honnêtement, les médecins ne voulaient pas remplir le plan de services individualisé, ils disaient que c'était trop long, qu'ils n'avaient pas le temps. On perdait des semaines à attendre leur signature.
I : Et qu'est-ce qui a aidé ?
Infirmière : La gestionnaire nous a libéré du temps le mardi pour les rencontres d'équipe. Depuis, le pharmacien et la travailleuse sociale se parlent enfin, et les patients savent qui appeler quand ça ne va pas.
I : Les patients, qu'est-ce qu'ils en disent ?
Infirmière : Une patiente m'a dit qu'elle se sentait plus en sécurité, qu'elle n'était pas retournée à l'urgence depuis que je l'appelle chaque semaine.
"""


def _cli(*args: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "qual_nlp", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture
def french_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    project = tmp_path / "etude.qnlp"
    source = tmp_path / "C02_entrevue_infirmiere.txt"
    source.write_text(INTERVIEW, encoding="utf-8")
    created = _cli("init", str(project))
    assert created["encoder"] == "multilingual-e5-small"
    imported = _cli("import", str(project), str(source), "--case", "C02")
    assert imported["summary"]["imported"] == 1
    suggested = _cli("suggest", str(project))
    assert suggested["suggestions"] > 0
    assert not suggested.get("uncovered_documents")
    with serve_app(project, tmp_path / "server.log") as url:
        yield url, project


def test_a_french_interview_gets_suggestions_in_the_review_queue(french_server) -> None:
    from playwright.sync_api import sync_playwright

    url, _project = french_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            page.get_by_label("Your name or initials").fill("amelie")
            page.get_by_role("button", name="Start coding").click()
            page.get_by_role("heading", name="Review queue").wait_for()
            settle(page)
            text = current(page)
            # the passage under review is one of the French answers, accents intact …
            assert any(
                fragment in text
                for fragment in ("médecins ne voulaient pas", "gestionnaire nous a libéré",
                                 "plus en sécurité", "infirmière gestionnaire de cas")
            ), text  # fmt: skip
            # … with the model's suggestions (confidence bars), not "No suggestions"
            assert page.locator(".q-bar").count() > 0
            assert page.get_by_text("No suggestions for this segment").count() == 0
            shot(page, "fr_01_review")
        finally:
            browser.close()
