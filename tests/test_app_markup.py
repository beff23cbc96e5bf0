"""HTML built by the app: transcript text and codebook content are escaped, colours validated."""

from __future__ import annotations

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
