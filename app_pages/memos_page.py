"""Memos: the project's memos listed and searched, and the forms that write them (here,
and on the Documents page for a document or a passage).

What a user may read or write is the library's rule (``project.memos``); this page shows
what the facade returns and its refusals.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_pages import common, markup
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import Memo, MemoLink


def memo_form(
    proj: Project,
    *,
    key: str,
    links: Sequence[MemoLink] = (),
    label: str = "New memo",
    choose_links: bool = False,
) -> None:
    """A form that writes a memo linked to ``links`` (and, with ``choose_links``, to the
    codes, documents and cases picked in it)."""
    if not proj.access.may(rules.WRITE_MEMOS):
        return
    with (
        st.expander(label, icon=":material/sticky_note_2:", expanded=False),
        st.form(key, clear_on_submit=True, border=False),
    ):
        title = st.text_input("Title", key=f"{key}_title")
        text = st.text_area("Text", key=f"{key}_text", height=120)
        picked: list[MemoLink] = []
        if choose_links:
            codebook = proj.codebook()
            labels = common.code_labels(codebook)
            codes = st.multiselect(
                "About codes",
                list(labels),
                format_func=labels.__getitem__,
                key=f"{key}_codes",
            )
            docs = common.documents()
            names = st.multiselect("About documents", docs["document"].tolist(), key=f"{key}_docs")
            cases = sorted({str(c) for c in docs["case"].dropna()})
            chosen_cases = st.multiselect("About cases", cases, key=f"{key}_cases")
            picked = [
                *(MemoLink("code", c) for c in codes),
                *(MemoLink("document", d) for d in names),
                *(MemoLink("case", c) for c in chosen_cases),
            ]
        elif links:
            st.caption("About: " + "; ".join(link.label() for link in links))
        if st.form_submit_button("Save memo", type="primary"):
            with common.guarded("The memo"):
                memo_id = proj.memos.add(
                    title, text, links=[*links, *picked], author=common.coder()
                )
                st.session_state["memos_done"] = f"Memo {memo_id} saved: {title.strip()}"
                st.rerun()


def memo_card(memo: Memo, *, key: str) -> None:
    """One memo: title, author and time, what it is about, its text."""
    with st.container(border=True, key=key):
        st.markdown(
            f"**{markup.md(memo.title)}** · {markup.md(memo.author)} · "
            f"{markup.md(memo.updated_at[:16].replace('T', ' '))}"
        )
        if memo.links:
            st.caption("About: " + markup.md("; ".join(link.label() for link in memo.links)))
        if memo.text:
            st.text(memo.text)


def document_memos(proj: Project, name: str) -> None:
    """The memos on a document (or its passages), and a form for a new one."""
    with common.guarded("Memos"):
        found = proj.memos.find(document=name)
        st.markdown(f"**Memos on this document** ({len(found)})")
        for memo in found:
            memo_card(memo, key=f"docs_memo_card_{memo.id}")
        memo_form(
            proj,
            key="docs_memo_doc",
            links=[MemoLink("document", name)],
            label="Write a memo on this document",
        )


def render() -> None:
    """The Memos page: search, list, write."""
    st.header("Memos", anchor=False)
    proj = common.project()
    common.flash("memos_flash")
    if st.session_state.get("memos_done"):
        st.success(st.session_state.pop("memos_done"))
    memo_form(proj, key="memos_new", label="New memo", choose_links=True)
    search = st.text_input(
        "Search memos", key="memos_search", placeholder="Words in the title, text, author or links"
    )
    with common.guarded("Memos"):
        found = proj.memos.find(search)
        if not found:
            common.empty_state(
                f"No memo matches {search.strip()!r}."
                if search.strip()
                else "No memos yet. Write one above, or on the Documents page for a passage or a "
                "document."
            )
            return
        st.caption(f"{len(found)} memo(s), newest first")
        for memo in found:
            memo_card(memo, key=f"memos_card_{memo.id}")
