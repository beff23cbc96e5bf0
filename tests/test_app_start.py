"""Entry screens: choosing a project and a coder; the command-line / environment project."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_support import (
    APP,
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
)

from app_pages.common import location_from
from qual_nlp.project import Project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_location_comes_from_the_app_arguments_first() -> None:
    argv = [str(APP), "study.qnlp"]
    assert location_from(argv, {"QUAL_NLP_PROJECT": "other.qnlp"}) == "study.qnlp"


def test_location_ignores_arguments_that_are_not_the_apps() -> None:
    argv = ["/usr/bin/pytest", "tests/test_app_start.py"]
    assert location_from(argv, {"QUAL_NLP_PROJECT": " env.qnlp "}) == "env.qnlp"
    assert location_from(argv, {}) is None


def test_without_a_project_the_picker_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("QUAL_NLP_PROJECT", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "qual_nlp"
    assert at.text_input(key="start_location")


def test_create_a_project_from_the_picker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("QUAL_NLP_PROJECT", raising=False)
    target = tmp_path / "new.qnlp"
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.text_input(key="start_location").input(str(target))
    at.button(key="start_create").click().run()
    assert not at.exception
    assert target.exists()
    assert at.title[0].value == "Who is coding?"
    with Project.open(target) as project:
        assert project.codebook().name


def test_a_missing_project_file_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("QUAL_NLP_PROJECT", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.text_input(key="start_location").input(str(tmp_path / "nope.qnlp"))
    at.button(key="start_open").click().run()
    assert "nope.qnlp" in at.error[0].value
    assert at.title[0].value == "qual_nlp"


def test_environment_variable_opens_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    path = build_project(tmp_path)
    monkeypatch.setenv("QUAL_NLP_PROJECT", str(path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert at.title[0].value == "Who is coding?"


def test_a_new_coder_starts_on_the_review_queue(tmp_path: Path) -> None:
    at = app_on(build_project(tmp_path), coder=None).run()
    at.text_input(key="start_coder_name").input("pp1")
    at.radio(key="start_coder_role").set_value("patient partner")
    at.button(key="start_coder_go").click().run()
    assert not at.exception
    assert at.session_state["app_coder"] == "pp1"
    assert at.session_state["app_coder_role"] == "patient partner"
    assert at.header[0].value == "Review queue"


def test_existing_coders_are_offered(tmp_path: Path) -> None:
    path = build_project(tmp_path)
    with Project.open(path) as project:
        sid = project.review.next("bob")[0]
        project.review.decide(sid, "bob", accept=["valence/barrier"])
    at = app_on(path, coder=None).run()
    labels = [b.label for b in at.button if b.key and b.key[len("start_coder_") :].isdigit()]
    assert labels == ["bob · analyst"]
    at.button(key="start_coder_0").click().run()
    assert at.session_state["app_coder"] == "bob"


def test_switch_coder_returns_to_the_coder_screen(tmp_path: Path) -> None:
    at = app_on(build_project(tmp_path)).run()
    at.sidebar.button(key="app_switch_coder").click().run()
    assert at.title[0].value == "Who is coding?"
