"""Documents: read a transcript with its coded passages highlighted, and code passages by hand."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, markup, memos_page, reader
from qual_nlp.project import Project
from qual_nlp.records import MemoLink

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
        return f"{name} · {common.case_label(r.case)} · {r.source_type}"

    return str(st.selectbox("Document", names, format_func=label, key="docs_name"))


def _code_form(proj: Project, name: str, text: str, labels: dict[str, str]) -> None:
    """Choose a passage (a segment, a quote, or offsets) and a code; write it at once."""
    st.markdown("**Code a passage**")
    state = st.session_state
    if state.get("docs_how") is None:
        state["docs_how"] = "Segment"
    how = st.segmented_control("Passage", ["Segment", "Quote", "Offsets"], key="docs_how")
    span: tuple[int, int] | None = None
    if how == "Quote":
        quote = st.text_input("Quote (as written)", key="docs_quote")
        span = find_quote(text, quote)
        if quote.strip() and span is None:
            st.caption("That quote is not in this document.")
    elif how == "Offsets":
        a, b = st.columns(2)
        state["docs_start"] = min(int(state.get("docs_start", 0)), len(text))
        state["docs_end"] = min(int(state.get("docs_end", min(len(text), 80))), len(text))
        start = int(a.number_input("Start", 0, len(text), key="docs_start"))
        end = int(b.number_input("End", 0, len(text), key="docs_end"))
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


#: the coder filter's groups besides colleagues' names
ME, CONSENSUS, MODEL = "me", "consensus", "model"


def coder_groups(codings: pd.DataFrame, me: str) -> list[str]:
    """The coder filter's choices: me, each colleague, the consensus, the model.

    >>> frame = pd.DataFrame({"coder": ["ana", "bo", "model:x@1", "consensus"],
    ...                       "coder_role": ["analyst", "analyst", "model", "consensus"]})
    >>> coder_groups(frame, "ana")
    ['me', 'bo', 'consensus', 'model']
    """
    humans = codings.loc[~codings["coder_role"].isin(common.NOT_HUMAN), "coder"]
    colleagues = sorted({str(c) for c in humans} - {me})
    return [ME, *colleagues, CONSENSUS, MODEL]


def keep_coders(codings: pd.DataFrame, chosen: list[str], me: str) -> pd.Series:
    """Which rows the coder filter keeps (``chosen`` from :func:`coder_groups`)."""
    keep = codings["coder"].isin([c for c in chosen if c not in (ME, CONSENSUS, MODEL)])
    if ME in chosen:
        keep |= codings["coder"] == me
    if CONSENSUS in chosen:
        keep |= codings["coder_role"] == "consensus"
    if MODEL in chosen:
        keep |= codings["coder_role"] == "model"
    return keep


def _filters(codings: pd.DataFrame, facets: dict[str, str]) -> pd.DataFrame:
    """Coder (me / colleagues / consensus / model), facet and status filters."""
    me = common.coder()
    groups = coder_groups(codings, me)
    state = st.session_state
    known = state.get("docs_coders_known")
    if "docs_coders" not in state:
        state["docs_coders"] = [g for g in groups if g != MODEL]
    elif known != groups:  # keep the choice; a colleague new here is shown too
        state["docs_coders"] = [
            *[g for g in state["docs_coders"] if g in groups],
            *[g for g in groups if g not in (known or ()) and g != MODEL],
        ]
    state["docs_coders_known"] = groups
    a, b, c = st.columns(3)
    chosen = a.multiselect("Coders", groups, key="docs_coders")
    picked = b.multiselect(
        "Facets",
        list(facets),
        format_func=facets.__getitem__,
        key="docs_facets",
        placeholder="All facets",
    )
    statuses = c.multiselect("Status", STATUSES, default=["accepted"], key="docs_statuses")
    keep = keep_coders(codings, chosen, me) & codings["status"].isin(statuses)
    if picked:
        keep &= codings["facet"].isin(picked)
    return codings[keep]


def _reader_event(name: str, event: Any) -> None:
    """A click on a coding opens it; a selection becomes the passage to code."""
    state = st.session_state
    if not event or event.get("n") == state.get("docs_event"):
        return
    state["docs_event"] = event.get("n")
    if event.get("kind") == "open":
        state["docs_open"] = [int(i) for i in event.get("ids", [])]
    elif event.get("kind") == "select":
        start, end = int(event["start"]), int(event["end"])
        state.update(docs_how="Offsets", docs_start=start, docs_end=end, docs_open=[])
        state["docs_selected"] = (name, start, end)


def _opened(
    proj: Project, labels: dict[str, str], text: str, name: str, codings: pd.DataFrame
) -> None:
    """The codings clicked in the reader: edit the code or the memo, remove, write a memo."""
    ids = st.session_state.get("docs_open") or []
    for cid in ids:
        hit = codings[codings["coding_id"] == cid]
        if hit.empty:  # removed meanwhile, or not on this document
            continue
        row = {k: (None if pd.isna(v) else v) for k, v in hit.iloc[0].to_dict().items()}
        with st.container(border=True, key=f"docs_coding_{cid}"):
            score = "" if row.get("score") is None else f" · score {row['score']:.2f}"
            st.markdown(
                f"**{markup.md(labels.get(row['code'], row['code']))}** · "
                f"{markup.md(row['coder'])} · {row['status']}{score} · "
                f"chars {row['start']}–{row['end']}"
            )
            st.caption(text[int(row["start"]) : int(row["end"])][:400])
            code = st.selectbox(
                "Code",
                list(labels),
                index=list(labels).index(row["code"]) if row["code"] in labels else None,
                format_func=labels.__getitem__,
                key=f"docs_edit_code_{cid}",
            )
            memo = st.text_area(
                "Memo", value=row.get("memo") or "", key=f"docs_edit_memo_{cid}", height=68
            )
            left, mid, right = st.columns(3)
            if left.button("Save", key=f"docs_edit_save_{cid}", type="primary"):
                with common.guarded("Saving the coding"):
                    proj.review.update_coding(cid, code=code, memo=memo)
                    st.session_state["docs_done"] = f"Coding {cid} saved."
                    st.rerun()
            if mid.button("Remove", key=f"docs_edit_remove_{cid}"):
                with common.guarded("Removing the coding"):
                    proj.review.remove_coding(cid)
                    st.session_state["docs_open"] = [i for i in ids if i != cid]
                    st.session_state["docs_done"] = f"Coding {cid} removed."
                    st.rerun()
            if right.button("Close", key=f"docs_edit_close_{cid}"):
                st.session_state["docs_open"] = [i for i in ids if i != cid]
                st.rerun()
            memos_page.memo_form(
                proj,
                key=f"docs_memo_{cid}",
                links=[
                    MemoLink("passage", name, int(row["start"]), int(row["end"])),
                    MemoLink("code", str(row["code"])),
                ],
                label="Write a memo on this passage",
            )


def _read(proj: Project, name: str) -> tuple[Any, pd.DataFrame]:
    """The document and its codings, read again only when the project changed since this
    session last read them (every click on the page reruns it)."""
    actor = proj.actor.name if proj.actor else ""
    key = (name, actor, proj.version())
    kept = st.session_state.get("docs_read")
    if kept is None or kept[0] != key:
        kept = (key, proj.document(name), proj.codings(document=name))
        st.session_state["docs_read"] = kept
    return kept[1], kept[2]


def _reading_view(
    text: str, shown: pd.DataFrame, colors: dict[str, str], labels: dict[str, str]
) -> str:
    """The reader's HTML, drawn again only when the codings shown changed."""
    read = st.session_state.get("docs_read")  # the project's version when last read
    key = (hash(text), read[0] if read else None, tuple(shown["coding_id"].tolist()))
    kept = st.session_state.get("docs_view")
    if kept is None or kept[0] != key:
        html = markup.document_html(
            text, markup.stripes_from(shown), colors, labels, order=list(labels)
        )
        kept = (key, html)
        st.session_state["docs_view"] = kept
    return str(kept[1])


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
    document, codings = _read(proj, name)
    shown = _filters(codings, common.facet_names(codebook))
    text_col, side = st.columns([3, 2], gap="large")
    with text_col:
        html = _reading_view(document.text, shown, colors, labels)
        event = reader.reader(
            html, key=f"docs_reader_{name}", selected=st.session_state.get("docs_open")
        )
        _reader_event(name, event)
        st.caption(
            "Select words to code them (the passage goes to the form on the right); click a "
            "highlight or a stripe to open its coding."
        )
    with side:
        if st.session_state.get("docs_done"):
            st.success(st.session_state.pop("docs_done"))
        _opened(proj, labels, document.text, name, codings)
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
            if st.toggle(f"List the {len(shown)} codings shown", key="docs_list"):
                st.dataframe(
                    pd.DataFrame(table),
                    hide_index=True,
                    column_config={"score": st.column_config.NumberColumn(format="%.2f")},
                    key="docs_table",
                )
        st.divider()
        _code_form(proj, name, document.text, labels)
        st.divider()
        memos_page.document_memos(proj, name)


def _legend(shown: pd.DataFrame, colors: dict[str, str], labels: dict[str, str]) -> None:
    counts = shown["code"].value_counts()
    items = [
        f'<span style="margin-right:.8rem;white-space:nowrap"><span class="q-swatch" '
        f'style="background:{markup.safe_color(colors.get(code))}"></span>'
        f"{markup.esc(labels.get(code, code))} ({n})</span>"
        for code, n in counts.items()
    ]
    st.html("<div>" + "".join(items) + "</div>")
