"""The Codebook page: the tree, edits (add, rename, merge, move) and import / export."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_app_support import (
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
    segment_with,
)

from qual_nlp.project import Project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def study(tmp_path: Path) -> Path:
    return build_project(tmp_path, suggestions=False)


def codes(path: Path) -> dict[str, object]:
    with Project.open(path) as project:
        return {c.path: c for c in project.codebook().codes}


def tree(at) -> str:
    [html] = [h.value for h in at.html if 'class="q-tree"' in h.value]
    return html


def test_tree_lists_facets_codes_and_definitions(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    html = tree(at)
    for text in ("Valence", "Barrier", "Realist role (CMO)", "valence/barrier"):
        assert text in html
    barrier = codes(study)["valence/barrier"]
    assert barrier.definition[:40] in html.replace("&#x27;", "'")


def test_find_keeps_matching_codes_and_their_facets(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    at.text_input(key="codebook_find").input("facilitator").run()
    html = tree(at)
    assert "valence/facilitator" in html
    assert "cm_component/needs_assessment" not in html


def test_add_a_code_under_a_parent(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    at.selectbox(key="codebook_add_facet").set_value("valence")
    at.selectbox(key="codebook_add_parent").set_value("valence/barrier")
    at.text_input(key="codebook_add_id").input("waiting_times")
    at.text_input(key="codebook_add_name").input("Waiting times")
    at.text_area(key="codebook_add_definition").input("Delays before care.")
    at.button(key="codebook_add_go").click().run()
    assert not at.exception, at.exception
    added = codes(study)["valence/waiting_times"]
    assert (added.parent, added.name, added.definition) == (
        "barrier",
        "Waiting times",
        "Delays before care.",
    )
    assert any("Added valence/waiting_times" in s.value for s in at.success)


def test_rename_a_code(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    at.selectbox(key="codebook_rename_code").set_value("cmo/context")
    at.text_input(key="codebook_rename_name").input("Setting")
    at.button(key="codebook_rename_go").click().run()
    assert codes(study)["cmo/context"].name == "Setting"


def test_merge_moves_codings_to_the_target(study: Path) -> None:
    with Project.open(study) as project:
        sid = segment_with(project, "weekly team huddle")
        project.review.decide(sid, "ana", accept=["cmo/mechanism"])
    at = open_page(app_on(study), "codebook")
    at.multiselect(key="codebook_merge_sources").set_value(["cmo/mechanism"])
    at.selectbox(key="codebook_merge_target").set_value("cmo/context")
    at.button(key="codebook_merge_go").click().run()
    assert "cmo/mechanism" not in codes(study)
    with Project.open(study) as project:
        assert project.codings(coders=["ana"])["code"].tolist() == ["cmo/context"]
    assert any("1 codings moved" in s.value for s in at.success)


def test_move_a_code_to_the_top_level(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    child = next(p for p, c in codes(study).items() if c.parent == "inner_setting")
    at.selectbox(key="codebook_move_code").set_value(child)
    at.selectbox(key="codebook_move_parent").set_value("(top level)")
    at.button(key="codebook_move_go").click().run()
    assert codes(study)[child].parent is None


def test_a_failed_edit_shows_the_library_message(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    at.selectbox(key="codebook_add_facet").set_value("valence")
    at.text_input(key="codebook_add_id").input("barrier")  # already taken
    at.button(key="codebook_add_go").click().run()
    assert not at.exception
    assert "barrier" in at.error[0].value


def test_export_yaml_round_trips_and_replaces_the_codebook(study: Path, tmp_path: Path) -> None:
    at = open_page(app_on(study), "codebook")
    assert at.download_button(key="codebook_yaml")
    assert at.download_button(key="codebook_qdc")
    with Project.open(study) as project:
        data = yaml.safe_load(project.codebook_yaml())
    data["name"] = "renamed-study"
    text = yaml.safe_dump(data, allow_unicode=True).encode()
    at.file_uploader(key="codebook_upload").set_value(("mine.yaml", text, "application/x-yaml"))
    at.run()
    at.button(key="codebook_use").click().run()
    assert not at.exception
    with Project.open(study) as project:
        assert project.codebook().name == "renamed-study"


def test_a_taguette_codebook_csv_replaces_the_codebook_and_one_downloads(study: Path) -> None:
    at = open_page(app_on(study), "codebook")
    assert at.download_button(key="codebook_taguette")
    csv_text = b"tag,description\r\nAccess,Getting care when needed\r\nTrust,\r\n"
    at.file_uploader(key="codebook_upload").set_value(("codebook.csv", csv_text, "text/csv"))
    at.run()
    at.button(key="codebook_use").click().run()
    assert not at.exception
    with Project.open(study) as project:
        active = {c.path: c.definition for c in project.codebook().codes}
    assert active["taguette/access"] == "Getting care when needed"
    assert "taguette/trust" in active
