"""The Documents page: escaped transcript text, highlighted codings, manual coding."""

from __future__ import annotations

from pathlib import Path

import pytest
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
    return build_project(tmp_path)


def document_html(at) -> str:
    [doc] = [h.value for h in at.html if 'class="q-doc"' in h.value]
    return doc


def on_document(path: Path, name: str):
    at = open_page(app_on(path), "documents")
    at.selectbox(key="docs_name").set_value(name).run()
    assert not at.exception
    return at


def test_transcript_markup_is_shown_as_text(study: Path) -> None:
    doc = document_html(on_document(study, "C02_interview_P07.txt"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "<script" not in doc


def test_accepted_codings_are_highlighted_in_their_code_colour(study: Path) -> None:
    with Project.open(study) as project:
        sid = segment_with(project, "weekly team huddle")
        project.review.decide(sid, "ana", accept=["valence/facilitator"])
        color = next(c.color for c in project.codebook().codes if c.path == "valence/facilitator")
    doc = document_html(on_document(study, "C01_interview_NCM.txt"))
    assert f"background:{color}33" in doc
    marked = doc.split("<mark", 1)[1].split("</mark>", 1)[0]
    assert "The weekly team huddle changed everything" in marked
    assert 'title="Valence › Facilitator"' in marked


def test_suggestions_show_only_when_asked(study: Path) -> None:
    at = on_document(study, "C01_interview_NCM.txt")
    assert "<mark" not in document_html(at)
    at.multiselect(key="docs_coders").set_value(["model:test@1"])
    at.multiselect(key="docs_statuses").set_value(["suggested"]).run()
    assert document_html(at).count("<mark") >= 3


def test_coding_a_quote_writes_a_span_coding(study: Path) -> None:
    at = on_document(study, "C02_interview_P07.txt")
    at.segmented_control(key="docs_how").set_value("Quote").run()
    at.text_input(key="docs_quote").input("the bus only comes twice a day")
    at.selectbox(key="docs_code").set_value("valence/barrier").run()
    at.button(key="docs_apply").click().run()
    assert not at.exception
    with Project.open(study) as project:
        codings = project.codings(coders=["ana"])
    assert codings["text"].tolist() == ["the bus only comes twice a day"]
    assert codings["code"].tolist() == ["valence/barrier"]


def test_coding_a_segment_codes_the_whole_turn(study: Path) -> None:
    with Project.open(study) as project:
        sid = segment_with(project, "calls me every week")
    at = on_document(study, "C02_interview_P07.txt")
    at.selectbox(key="docs_segment_C02_interview_P07.txt").set_value(sid)
    at.selectbox(key="docs_code").set_value("cm_component/coordination").run()
    at.button(key="docs_apply").click().run()
    with Project.open(study) as project:
        codings = project.codings(coders=["ana"])
    assert codings["segment_id"].tolist() == [sid]


def test_a_quote_not_in_the_document_cannot_be_coded(study: Path) -> None:
    at = on_document(study, "C02_interview_P07.txt")
    at.segmented_control(key="docs_how").set_value("Quote").run()
    at.text_input(key="docs_quote").input("words nobody said")
    at.selectbox(key="docs_code").set_value("valence/barrier").run()
    assert at.button(key="docs_apply").disabled
    assert any("not in this document" in c.value for c in at.caption)
