"""Shared builders for the app tests: a small real project and an AppTest opened on it.

The project is built with the facade from ``tests/fixtures/app/`` (two interviews,
case attributes and case-level numbers); model suggestions are written through
the store, as a suggestion run would write them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from qual_nlp.project import Project

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "app"
APP = ROOT / "streamlit_app.py"
MODEL = "model:test@1"

# the app's pages live beside the package, not in it: make them importable under any runner
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (text fragment, code, score) — what the "model" suggests where the fragment occurs
SUGGESTIONS = (
    ("physicians did not know", "valence/barrier", 0.91),
    ("physicians did not know", "cfir_domain/inner_setting", 0.55),
    ("weekly team huddle", "valence/facilitator", 0.84),
    ("weekly team huddle", "cmo/mechanism", 0.62),
    ("felt someone finally listened", "cmo/outcome", 0.71),
    ("calls me every week", "valence/facilitator", 0.58),
    ("pharmacy never got the care plan", "valence/barrier", 0.66),
    ("pharmacy never got the care plan", "cmo/context", 0.40),
    ("Transport to the clinic", "valence/barrier", 0.52),
)


def build_project(
    folder: Path, *, suggestions: bool = True, location: str | None = None
) -> Path | str:
    """A project with the two fixture interviews, case numbers and model suggestions
    (in ``folder``, or at ``location``: a database URL)."""
    path = location or folder / "study.qnlp"
    with Project.init(path) as project:
        outcomes = project.import_files(
            [FIXTURES / "C01_interview_NCM.txt", FIXTURES / "C02_interview_P07.txt"],
            meta=FIXTURES / "meta.csv",
        )
        assert [o.status for o in outcomes] == ["imported", "imported"], outcomes
        project.import_cases(FIXTURES / "cases.csv")
        if suggestions:
            add_suggestions(project)
    return path


def segment_with(project: Project, fragment: str) -> int:
    segments = project.segments()
    hit = segments[segments["text"].str.contains(fragment, regex=False)]
    assert len(hit) == 1, fragment
    return int(hit["segment_id"].iloc[0])


def add_suggestions(project: Project) -> None:
    rows = [
        {
            "segment_id": segment_with(project, fragment),
            "code": code,
            "score": score,
            "model_version": MODEL,
        }
        for fragment, code, score in SUGGESTIONS
    ]
    frame = pd.DataFrame(rows)
    project.store.codings.replace_suggestions(MODEL, frame)
    # most uncertain first: the score closest to 0.5 of each segment
    scores = (
        frame.assign(uncertainty=1 - 2 * (frame["score"] - 0.5).abs(), relevance=frame["score"])
        .groupby("segment_id", as_index=False)[["uncertainty", "relevance"]]
        .max()
    )
    project.store.queue.write_scores(scores, MODEL)


def app_on(path: Path, coder: str | None = "ana", role: str = "analyst"):
    """An AppTest of the real entrypoint with the project (and coder) in session state."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["app_project"] = str(path)
    if coder:
        at.session_state["app_coder"] = coder
        at.session_state["app_coder_role"] = role
    return at


def open_page(at, url_path: str):
    """Run the app on the page registered under ``url_path`` (st.Page with a function)."""
    from streamlit.util import calc_hash

    if not at._tree.children:  # the first run registers the pages
        at.run()
    at._page_hash = calc_hash(url_path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test opens its own project file: forget projects and listings of earlier tests."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
