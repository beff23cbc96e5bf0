"""Documents: read a transcript with its coded passages highlighted, and code passages by hand."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, markup
from qual_nlp.project import Project

STATUSES = ("accepted", "suggested", "rejected")


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text`` (exact first, then ignoring case).

    >>> find_quote("The Waiting list was long", "waiting list")
    (4, 16)
    """
    quote = quote.strip()
    if not quote:
        return None
    at = text.find(quote)
    if at < 0:
        at = text.lower().find(quote.lower())
    return None if at < 0 else (at, at + len(quote))


def _picker(docs: pd.DataFrame) -> str:
    names = docs["document"].tolist()
    info = {r.document: r for r in docs.itertuples()}

    def label(name: str) -> str:
        r = info[name]
        return f"{name} · {r.case or 'no case'} · {r.source_type}"

    return str(st.selectbox("Document", names, format_func=label, key="docs_name"))


def _code_form(proj: Project, name: str, text: str, labels: dict[str, str]) -> None:
    """Choose a passage (a segment, a quote, or offsets) and a code; write it at once."""
    st.markdown("**Code a passage**")
    how = st.segmented_control(
        "Passage", ["Segment", "Quote", "Offsets"], default="Segment", key="docs_how"
    )
    span: tuple[int, int] | None = None
    if how == "Quote":
        quote = st.text_input("Quote (as written)", key="docs_quote")
        span = find_quote(text, quote)
        if quote.strip() and span is None:
            st.caption("That quote is not in this document.")
    elif how == "Offsets":
        a, b = st.columns(2)
        start = int(a.number_input("Start", 0, len(text), 0, key="docs_start"))
        end = int(b.number_input("End", 0, len(text), min(len(text), 80), key="docs_end"))
        span = (start, end) if end > start else None
    else:
        segments = proj.segments(document=name)
        rows = {int(r.segment_id): r for r in segments.itertuples()}
        if rows:
            sid = st.selectbox(
                "Segment",
                list(rows),
                format_func=lambda i: (
                    f"{rows[i].speaker or '¶'}: {str(rows[i].text)[:90]}"
                    f" ({rows[i].start}–{rows[i].end})"
                ),
                key=f"docs_segment_{name}",
            )
            span = (int(rows[sid].start), int(rows[sid].end))
    if span:
        st.text(text[span[0] : span[1]][:1200])
    code = st.selectbox(
        "Code",
        list(labels),
        format_func=labels.__getitem__,
        key="docs_code",
        index=None,
        placeholder="Search the codebook…",
    )
    memo = st.text_input("Memo (optional)", key="docs_memo")
    if st.button(
        "Code this passage", key="docs_apply", type="primary", disabled=not (span and code)
    ):
        assert span is not None and code is not None
        with common.guarded("Coding"):
            proj.review.code_span(name, span[0], span[1], code, common.coder(), memo.strip())
            st.session_state["docs_done"] = f"Coded {labels[code]} at {span[0]}–{span[1]}."
            st.rerun()
    if st.session_state.get("docs_done"):
        st.success(st.session_state.pop("docs_done"))


def _filters(codings: pd.DataFrame) -> pd.DataFrame:
    coders = sorted(set(codings["coder"]))
    humans = [c for c in coders if not str(c).startswith("model:")]
    a, b = st.columns(2)
    chosen = a.multiselect("Coders", coders, default=humans, key="docs_coders")
    statuses = b.multiselect("Status", STATUSES, default=["accepted"], key="docs_statuses")
    return codings[codings["coder"].isin(chosen) & codings["status"].isin(statuses)]


def render() -> None:
    """The Documents page."""
    st.header("Documents", anchor=False)
    docs = common.documents()
    if docs.empty:
        common.empty_state("No documents yet: import transcripts on the Import page.")
        return
    proj, codebook = common.project_codebook()
    if codebook is None:
        return
    name = _picker(docs)
    labels = common.code_labels(codebook)
    colors = common.code_colors(codebook)
    document = proj.document(name)
    codings = proj.codings(document=name)
    shown = _filters(codings)
    text_col, side = st.columns([3, 2], gap="large")
    with text_col:
        st.html(
            markup.highlight_html(
                document.text,
                markup.spans_from(shown.itertuples()),
                colors,
                labels,
                order=list(labels),
            )
        )
    with side:
        if shown.empty:
            st.caption(
                "No codings with these filters. Review this document's segments on the "
                "Review queue page, or code a passage below."
            )
        else:
            _legend(shown, colors, labels)
            table: dict[str, Any] = {
                "code": shown["code"].map(lambda c: labels.get(c, c)),
                "coder": shown["coder"],
                "status": shown["status"],
                "score": shown["score"],
                "start": shown["start"],
                "end": shown["end"],
                "passage": shown["text"],
                "memo": shown["memo"],
            }
            st.dataframe(
                pd.DataFrame(table),
                hide_index=True,
                column_config={"score": st.column_config.NumberColumn(format="%.2f")},
                key="docs_table",
            )
        st.divider()
        _code_form(proj, name, document.text, labels)


def _legend(shown: pd.DataFrame, colors: dict[str, str], labels: dict[str, str]) -> None:
    counts = shown["code"].value_counts()
    items = [
        f'<span style="margin-right:.8rem;white-space:nowrap"><span class="q-swatch" '
        f'style="background:{markup.safe_color(colors.get(code))}"></span>'
        f"{markup.esc(labels.get(code, code))} ({n})</span>"
        for code, n in counts.items()
    ]
    st.html("<div>" + "".join(items) + "</div>")
