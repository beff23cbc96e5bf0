"""De-identify: detect identifiers, review them one at a time, keep the project dictionary,
and read a document as it will be shared.

Everything goes through ``project.deid``; this page only renders what it returns. The
queue shows one suggested detection in its context with the pseudonym it will take.

Shortcuts: A accept · X reject · N next (leave it suggested); R is the app's rerun key.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages import common, markup
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import DEID_KINDS

LANGUAGES = {"auto": "Each document's own language", "en": "English", "fr": "French"}
#: Coder roles that never see original identifiers on this page.
DEIDENTIFIED_ROLES = ("patient partner", "patient_partner")


def _detect(proj: Project) -> None:
    with st.sidebar:
        st.markdown("**Detection**")
        language = st.selectbox(
            "Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="deid_language"
        )
        if st.button("Detect identifiers", key="deid_run", type="primary"):
            with (
                st.spinner("Detecting (new or changed documents only)…"),
                common.guarded("Detection"),
            ):
                result = proj.deid.run(language=language)
                st.session_state["deid_flash"] = (
                    "ok",
                    f"{result['documents']} documents processed, {result['skipped']} unchanged; "
                    f"{result['detections']} new detections.",
                )
                st.session_state.pop("deid_skipped", None)
        required = st.toggle(
            "Non-lead roles see de-identified text only",
            value=proj.deid.required,
            key="deid_required",
        )
        if required != proj.deid.required:
            proj.deid.set_required(required, actor=common.coder())


def _current(proj: Project) -> dict[str, Any] | None:
    """The first suggested detection not skipped in this session."""
    skipped = st.session_state.setdefault("deid_skipped", [])
    frame = proj.deid.frame(statuses=["suggested"])
    frame = frame[~frame["id"].isin(skipped)]
    return None if frame.empty else dict(frame.iloc[0])


def _decide(detection_id: int, action: str) -> None:
    proj, me = common.project(), common.coder()
    if action == "accept":
        proj.deid.accept([detection_id], actor=me)
    elif action == "reject":
        proj.deid.reject([detection_id], actor=me)
    else:
        st.session_state.setdefault("deid_skipped", []).append(detection_id)
    st.session_state["deid_last"] = f"{action} #{detection_id}"


def _queue(proj: Project) -> None:
    item = _current(proj)
    counts = proj.deid.frame()
    if not counts.empty:
        st.caption(
            " · ".join(f"{status} {n}" for status, n in counts["status"].value_counts().items())
        )
    if item is None:
        common.empty_state(
            "No suggested detection left: run *Detect identifiers* in the sidebar after an "
            "import, or read the de-identified documents below."
        )
        return
    if st.session_state.get("deid_last"):
        st.caption(f"Done: {st.session_state['deid_last']}")
    st.markdown(
        f"**{markup.esc(item['kind'])}** in `{item['document']}` "
        f"(characters {item['start']}–{item['end']}, found by {item['source']})"
    )
    st.html(
        '<div class="q-doc" id="deid-current">'
        f"{markup.esc(item['before'])}<mark>{markup.esc(item['text'])}</mark>"
        f"{markup.esc(item['after'])}</div>"
    )
    row = st.container(horizontal=True, gap="small")
    for action, label, key, kind in (
        ("accept", "Accept", "A", "primary"),
        ("reject", "Reject", "X", "secondary"),
        ("next", "Next", "N", "secondary"),
    ):
        row.button(
            label,
            key=f"deid_{action}",
            type=kind,  # type: ignore[arg-type]
            shortcut=key,
            on_click=_decide,
            args=(int(item["id"]), action),
        )
    st.caption("Keys: A accept · X reject · N next (leave it suggested)")


def _add_and_dictionary(proj: Project) -> None:
    left, right = st.columns(2, gap="large")
    docs = common.documents()["document"].tolist()
    with left, st.form("deid_add_form", clear_on_submit=True):
        st.markdown("**Mark a missed identifier**")
        document = st.selectbox("Document", docs, key="deid_add_document")
        text = st.text_input("Text, exactly as written", key="deid_add_text")
        kind = st.selectbox("Kind", DEID_KINDS, key="deid_add_kind")
        if st.form_submit_button("Add") and text.strip():
            with common.guarded("Adding"):
                ids = proj.deid.add_text(document, text.strip(), kind, actor=common.coder())
                st.session_state["deid_flash"] = ("ok", f"{len(ids)} occurrences marked.")
    with right, st.form("deid_term_form", clear_on_submit=True):
        st.markdown("**Project dictionary**")
        term = st.text_input("Term", key="deid_term")
        mode = st.radio(
            "Mode",
            ["always", "never"],
            format_func={"always": "Always catch", "never": "Never catch"}.__getitem__,
            horizontal=True,
            key="deid_term_mode",
        )
        kind = st.selectbox("Kind (always)", DEID_KINDS, key="deid_term_kind")
        if st.form_submit_button("Save term") and term.strip():
            with common.guarded("The dictionary"):
                proj.deid.add_term(term.strip(), mode, kind, actor=common.coder())
                st.session_state["deid_flash"] = (
                    "ok",
                    f"{term.strip()!r} saved; run Detect identifiers to apply it everywhere.",
                )
        terms = proj.deid.dictionary()
        if terms:
            st.dataframe(
                [{"term": t.term, "mode": t.mode, "kind": t.kind} for t in terms],
                hide_index=True,
                key="deid_terms_table",
            )


def _preview(proj: Project) -> None:
    docs = common.documents()["document"].tolist()
    if not docs:
        return
    name = st.selectbox("Read a document de-identified", docs, key="deid_preview_document")
    with common.guarded("The de-identified text"):
        st.html(f'<div class="q-doc" id="deid-preview">{markup.esc(proj.deid.text(name))}</div>')


def render() -> None:
    """The De-identify page."""
    st.header("De-identify", anchor=False)
    proj = common.project()
    if common.documents().empty:
        common.empty_state("No documents yet: import transcripts on the Import page.")
        return
    common.flash("deid_flash")
    role = str(st.session_state.get(common.ROLE_KEY, ""))
    if role in DEIDENTIFIED_ROLES or not proj.access.may(rules.DEIDENTIFY):
        st.info("Documents as they are shared: identifiers are replaced by pseudonyms.")
        _preview(proj)
        return
    _detect(proj)
    _queue(proj)
    st.divider()
    _add_and_dictionary(proj)
    st.divider()
    _preview(proj)
