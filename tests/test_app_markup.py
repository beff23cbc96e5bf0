"""HTML built by the app: transcript text and codebook content are escaped, colours validated."""

from __future__ import annotations

import re

import test_app_support  # noqa: F401  (puts the repository root, and so app_pages, on sys.path)

from app_pages.common import code_labels
from app_pages.markup import (
    Span,
    bar_html,
    codebook_html,
    context_html,
    highlight_html,
    md,
    pieces,
    safe_color,
)
from qual_nlp.records import Code, Codebook, Facet

ATTACK = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_review_context_escapes_speaker_and_text() -> None:
    html = context_html(
        {"speaker": "<b>INT</b>", "text": "Question?"},
        {"speaker": "P07", "role": "patient", "timestamp": "00:01:02", "text": ATTACK},
        None,
    )
    assert "<script" not in html and "<img" not in html and "<b>INT" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "00:01:02" in html and "P07 · patient" in html


def test_highlight_escapes_text_inside_and_outside_marks() -> None:
    text = f"Before {ATTACK} after"
    span = Span(7, 7 + len(ATTACK), "valence/barrier")
    html = highlight_html(text, [span], {"valence/barrier": "#C0392B"}, {})
    assert "<script" not in html and "<img" not in html
    assert html.count("<mark") == 1
    assert "&lt;script&gt;" in html.split("<mark", 1)[1]


def test_highlight_uses_codebook_order_for_overlaps() -> None:
    text = "abcdef"
    spans = [Span(0, 4, "b/two"), Span(2, 6, "a/one")]
    colors = {"a/one": "#111111", "b/two": "#222222"}
    html = highlight_html(text, spans, colors, {}, order=["b/two", "a/one"])
    overlap = html.split("<mark")[2]
    assert "background:#22222233" in overlap and "solid #111111" in overlap


def test_pieces_cover_the_text_exactly_once() -> None:
    text = "x" * 30
    spans = [Span(0, 10, "a"), Span(5, 20, "b"), Span(5, 20, "c"), Span(25, 40, "a")]
    cut = pieces(text, spans)
    assert [(a, b) for a, b, _ in cut] == [(0, 5), (5, 10), (10, 20), (20, 25), (25, 30)]
    assert [codes for *_, codes in cut] == [("a",), ("a", "b", "c"), ("b", "c"), (), ("a",)]


def test_empty_and_out_of_range_spans_are_ignored() -> None:
    assert pieces("abc", [Span(2, 2, "a"), Span(5, 9, "b")]) == [(0, 3, ())]


def test_colours_that_are_not_hex_fall_back_to_grey() -> None:
    assert safe_color("#12ab9F") == "#12ab9F"
    assert safe_color('red" onmouseover="x') == "#8E8E8E"
    assert "onmouseover" not in bar_html(0.5, 'red" onmouseover="x')


def test_bar_clamps_scores() -> None:
    assert "width:100.0%" in bar_html(1.7)
    assert "width:0.0%" in bar_html(None)


def test_codebook_tree_escapes_names_definitions_and_examples() -> None:
    codebook = Codebook(
        "x",
        (Facet("cmo", "<i>CMO</i>", False),),
        (
            Code("context", "cmo", "Context <b>", definition=ATTACK, examples=(ATTACK,)),
            Code("rules", "cmo", "Rules", parent="context", color="url(javascript:x)"),
        ),
    )
    html = codebook_html(codebook)
    assert "<script" not in html and "<i>CMO" not in html and "javascript" not in html
    assert "Context &lt;b&gt;" in html


def test_codebook_search_keeps_ancestors_of_matches() -> None:
    codebook = Codebook(
        "x",
        (Facet("cmo", "CMO", False), Facet("valence", "Valence", True)),
        (
            Code("context", "cmo", "Context"),
            Code("rules", "cmo", "Rules", parent="context", definition="Formal regulations"),
            Code("barrier", "valence", "Barrier"),
        ),
    )
    html = codebook_html(codebook, match="regulations")
    assert "cmo/context" in html and "cmo/rules" in html
    assert "valence/barrier" not in html and "Valence" not in html


def test_code_labels_walk_the_hierarchy() -> None:
    codebook = Codebook(
        "x",
        (Facet("cfir", "CFIR", False),),
        (
            Code("inner", "cfir", "Inner setting"),
            Code("culture", "cfir", "Culture", parent="inner"),
            Code("trust", "cfir", "Trust", parent="culture"),
        ),
    )
    assert code_labels(codebook)["cfir/trust"] == "CFIR › Inner setting › Culture › Trust"


def test_markdown_escape_keeps_names_literal() -> None:
    assert md("C01_interview_*draft*.txt") == r"C01\_interview\_\*draft\*\.txt"
    assert md(None) == ""


# ------------------------------------------------------------- reading view
def _pieces_of(doc: str) -> list[tuple[int, str]]:
    """(data-s offset, unescaped text) of every piece of text in the reading view."""
    import html
    import re

    found = re.findall(r'<(?:span|mark)[^>]*?data-s="(\d+)"[^>]*>(.*?)</(?:span|mark)>', doc, re.S)
    return [(int(at), html.unescape(chunk)) for at, chunk in found]


def test_reading_view_pieces_carry_their_offsets_into_the_text() -> None:
    from app_pages.markup import Stripe, document_html

    text = f"Intro line\nÉlise: {ATTACK} waited 😀 long\n\nEnd of the 🚌 story."
    codings = [
        Stripe(1, 3, 25, "v/b", "ana"),
        Stripe(2, 20, 60, "c/x", "bo", "suggested", 0.4),
        Stripe(3, 58, len(text), "v/b", "bo"),
    ]
    doc = document_html(text, codings, {"v/b": "#c0392b"}, {"v/b": "Valence › Barrier"})
    code = re.sub(r'<script type="application/json" id="q-spans">[\d,\[\]]*</script>', "", doc)
    assert "<script" not in code and "<img" not in code  # only the inert table of spans
    pieces_found = _pieces_of(doc)
    for at, chunk in pieces_found:  # every piece is the text at its offset (code points)
        assert text[at : at + len(chunk)] == chunk
    assert "".join(c for _, c in pieces_found) == text.replace("\n", "")


def test_reading_view_has_a_labelled_stripe_column_per_code_with_hover_details() -> None:
    from app_pages.markup import Stripe, document_html

    text = "line one\nline two\nline three"
    codings = [
        Stripe(7, 0, 13, "v/b", "ana", "accepted"),
        Stripe(8, 0, 8, "v/b", "bo", "suggested", 0.81),
        Stripe(9, 9, 17, "c/x", "model:m@1", "suggested", 0.5),
    ]
    labels = {"v/b": "Valence › Barrier", "c/x": "CMO › Context"}
    doc = document_html(
        text, codings, {"v/b": "#c0392b", "c/x": "#2980b9"}, labels, order=["v/b", "c/x"]
    )
    head = doc.split('class="q-t"', 1)[0]
    assert head.index(">Barrier</span>") < head.index(">Context</span>")
    stripes = [x.split(">", 1)[0] for x in doc.split("<i ")[1:]]
    assert len(stripes) == 3  # one per coding
    by_id = {x.split('data-k="', 1)[1].split('"', 1)[0]: x for x in stripes}
    assert "grid-row:2/4" in by_id["7"]  # lines 1–2 (row 1 is the header)
    assert "grid-row:2/3" in by_id["8"] and "q-l1" in by_id["8"]  # bo's lane
    assert "grid-row:3/4" in by_id["9"] and "grid-column:3" in by_id["9"]
    assert 'title="Valence › Barrier — ana · accepted"' in by_id["7"]
    assert 'title="Valence › Barrier — bo · suggested · 0.81"' in by_id["8"]
    assert "q-suggested" in by_id["9"]
    # the highlight is cut where the codes change, not where a second coder's coding of
    # the same code starts or ends; a click finds its codings in the q-spans table
    first_line = rows_of(doc)[0]
    assert first_line.count("<mark") == 1 and "<span" not in first_line
    import json

    spans = json.loads(doc.split('id="q-spans">', 1)[1].split("</script>", 1)[0])
    assert sorted(map(tuple, spans)) == [(7, 0, 13), (8, 0, 8), (9, 9, 17)]


def rows_of(doc: str) -> list[str]:
    """The text lines of a reading view's HTML."""
    return [r.split("</div>", 1)[0] for r in doc.split('class="q-t" style=')[1:]]
