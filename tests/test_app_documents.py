"""The Documents page: escaped transcript text, highlighted codings, manual coding."""

from __future__ import annotations

import json
import re
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
    """The reading view's HTML, as the page hands it to the reader component."""
    [doc] = [
        json.loads(e.proto.json_args)["html"]
        for e in at.get("component_instance")
        if e.proto.component_name.endswith("qual_nlp_reader")
    ]
    return doc


def on_document(path: Path, name: str):
    at = open_page(app_on(path), "documents")
    at.selectbox(key="docs_name").set_value(name).run()
    assert not at.exception
    return at


def test_transcript_markup_is_shown_as_text(study: Path) -> None:
    doc = document_html(on_document(study, "C02_interview_P07.txt"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    code = re.sub(r'<script type="application/json" id="q-spans">[\d,\[\]]*</script>', "", doc)
    assert "<script" not in code  # only the inert table of spans


def test_accepted_codings_are_highlighted_in_their_code_colour(study: Path) -> None:
    with Project.open(study) as project:
        sid = segment_with(project, "weekly team huddle")
        project.review.decide(sid, "ana", accept=["valence/facilitator"])
        color = next(c.color for c in project.codebook().codes if c.path == "valence/facilitator")
    doc = document_html(on_document(study, "C01_interview_NCM.txt"))
    klass = doc.split(f"{{--c:{color}}}", 1)[0].rsplit(".", 1)[1]  # the code's colour class
    marked = doc.split("<mark", 1)[1].split("</mark>", 1)[0]
    assert f'class="{klass}"' in marked
    assert "The weekly team huddle changed everything" in marked
    assert 'title="Valence › Facilitator — ana · accepted"' in doc  # its stripe


def test_suggestions_show_only_when_asked(study: Path) -> None:
    at = on_document(study, "C01_interview_NCM.txt")
    assert "<mark" not in document_html(at)
    at.multiselect(key="docs_coders").set_value(["model"])
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


def test_stripes_show_each_code_and_coder_and_filters_narrow_them(study: Path) -> None:
    with Project.open(study) as project:
        sid = segment_with(project, "weekly team huddle")
        project.review.decide(sid, "ana", accept=["valence/facilitator"])
        project.review.decide(sid, "bo", accept=["valence/facilitator", "cmo/mechanism"])
    at = on_document(study, "C01_interview_NCM.txt")
    doc = document_html(at)
    stripes = [s.split(">", 1)[0] for s in doc.split("<i ")[1:]]
    assert len(stripes) == 3  # a stripe per coding: two coders' facilitator, one mechanism
    tips = sorted(s.split('title="', 1)[1].split('"', 1)[0] for s in stripes)
    assert tips == [
        "Realist role (CMO) › Mechanism — bo · accepted",
        "Valence › Facilitator — ana · accepted",
        "Valence › Facilitator — bo · accepted",
    ]
    # the two coders' stripes of one code sit side by side (lanes), on the same rows
    facilitator = [s for s in stripes if "Facilitator" in s]
    assert len({s.split("grid-row:", 1)[1] for s in facilitator}) == 1
    assert sum("q-l1" in s for s in facilitator) == 1
    assert ">Facilitator</span>" in doc and ">Mechanism</span>" in doc  # column labels
    at.multiselect(key="docs_coders").set_value(["me"]).run()  # ana
    assert "— bo" not in document_html(at)
    at.multiselect(key="docs_coders").set_value(["me", "bo"])
    at.multiselect(key="docs_facets").set_value(["cmo"]).run()
    doc = document_html(at)
    assert ">Mechanism</span>" in doc and ">Facilitator</span>" not in doc


def test_a_selection_in_the_reader_becomes_the_passage_to_code(study: Path) -> None:
    at = on_document(study, "C02_interview_P07.txt")
    with Project.open(study) as project:
        text = project.document("C02_interview_P07.txt").text
    at = at.run()
    start = text.index("the bus only comes")
    # what the component sends on mouse-up: the page turns it into the Offsets form
    at.session_state["docs_how"] = "Offsets"
    at.session_state["docs_start"], at.session_state["docs_end"] = start, start + 18
    at.run()
    assert at.number_input(key="docs_start").value == start
    at.selectbox(key="docs_code").set_value("valence/barrier").run()
    at.button(key="docs_apply").click().run()
    with Project.open(study) as project:
        assert project.codings(coders=["ana"])["text"].tolist() == ["the bus only comes"]


def test_an_opened_coding_is_edited_and_removed(study: Path) -> None:
    with Project.open(study) as project:
        text = project.document("C02_interview_P07.txt").text
        at0 = text.index("the bus only comes")
        cid = project.review.code_span(
            "C02_interview_P07.txt", at0, at0 + 18, "valence/barrier", "ana"
        )
    at = on_document(study, "C02_interview_P07.txt")
    at.session_state["docs_open"] = [cid]  # what a click on its highlight or stripe sets
    at.run()
    at.text_area(key=f"docs_edit_memo_{cid}").input("buses: twice a day")
    at.selectbox(key=f"docs_edit_code_{cid}").set_value("cmo/context")
    at.button(key=f"docs_edit_save_{cid}").click().run()
    assert not at.exception
    with Project.open(study) as project:
        row = project.review.coding(cid)
    assert (row["code"], row["memo"]) == ("cmo/context", "buses: twice a day")
    at.button(key=f"docs_edit_remove_{cid}").click().run()
    with Project.open(study) as project:
        assert project.codings(coders=["ana"]).empty


def test_a_coding_written_elsewhere_shows_at_the_next_rerun(study: Path) -> None:
    at = on_document(study, "C02_interview_P07.txt")
    assert "<i " not in document_html(at)
    with Project.open(study) as project:  # another session, or the command line
        text = project.document("C02_interview_P07.txt").text
        start = text.index("the bus only comes")
        project.review.code_span(
            "C02_interview_P07.txt", start, start + 18, "valence/barrier", "ana"
        )
    at.run()  # the page keeps what it read only until the project changes
    assert "Valence › Barrier — ana · accepted" in document_html(at)


def test_a_colleague_who_codes_later_is_shown_without_asking(study: Path) -> None:
    at = on_document(study, "C02_interview_P07.txt")
    with Project.open(study) as project:
        text = project.document("C02_interview_P07.txt").text
        start = text.index("the bus only comes")
        project.review.code_span(
            "C02_interview_P07.txt", start, start + 18, "valence/barrier", "newcomer"
        )
    at.run()
    assert "newcomer" in at.multiselect(key="docs_coders").value
    assert "Valence › Barrier — newcomer · accepted" in document_html(at)
