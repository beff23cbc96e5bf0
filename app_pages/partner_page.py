"""My segments: the plain-language coding view of a patient partner.

Only the segments assigned to them, one at a time; the codes by name with their
definitions; nothing about the model, other coders or statistics. Each "Save" is
written at once with ``project.review.decide`` under the signed-in user.
"""

from __future__ import annotations

import streamlit as st

from app_pages import common, markup
from qual_nlp.records import Codebook


def _save(segment_id: int, paths: list[str]) -> None:
    chosen = [p for p in paths if st.session_state.get(f"partner_pick_{segment_id}_{p}")]
    note = str(st.session_state.get(f"partner_note_{segment_id}", "") or "").strip()
    try:
        common.project().review.decide(segment_id, common.coder(), accept=chosen, memo=note)
    except Exception as exc:
        st.session_state["partner_msg"] = ("error", f"Not saved: {exc}")
        return
    st.session_state["partner_msg"] = ("ok", f"Saved ({len(chosen)} code(s)).")
    st.session_state["partner_pos"] = int(st.session_state.get("partner_pos", 0)) + 1


def _move(step: int) -> None:
    st.session_state["partner_pos"] = int(st.session_state.get("partner_pos", 0)) + step
    st.session_state.pop("partner_msg", None)


def _finish(name: str) -> None:
    try:
        common.project().review.finish_assignment(name, common.coder())
    except Exception as exc:
        st.session_state["partner_msg"] = ("error", str(exc))
        return
    st.session_state["partner_msg"] = ("ok", f"Thank you: {name} is finished.")


def _codes(codebook: Codebook, segment_id: int, chosen: set[str]) -> list[str]:
    """A tick box per code, by name, with its definition underneath."""
    paths: list[str] = []
    facets = {f.id: f.name for f in codebook.facets}
    for facet in codebook.facets:
        codes = [c for c in codebook.codes if c.facet == facet.id]
        if not codes:
            continue
        st.markdown(f"**{markup.esc(facets[facet.id])}**")
        for code in codes:
            key = f"partner_pick_{segment_id}_{code.path}"
            if key not in st.session_state:
                st.session_state[key] = code.path in chosen
            st.checkbox(code.name, key=key)
            if code.definition:
                st.caption(code.definition)
            paths.append(code.path)
    return paths


def render() -> None:
    """The My segments page."""
    st.header("My segments", anchor=False)
    proj, codebook = common.project_codebook()
    if codebook is None:
        return
    me = common.coder()
    common.flash("partner_msg")
    ids = proj.review.my_segments(me)
    if not ids:
        common.empty_state(
            "Nothing to code right now: nothing is assigned to you, or you finished it. "
            "The study lead will assign more."
        )
        return
    pos = min(max(int(st.session_state.get("partner_pos", 0)), 0), len(ids) - 1)
    st.session_state["partner_pos"] = pos
    sid = ids[pos]
    item = proj.review.item(sid, me)
    done = set(proj.review.coverage()["segment_id"].astype(int)) & set(ids)
    st.progress(len(done) / len(ids), text=f"Passage {pos + 1} of {len(ids)} · {len(done)} done")
    left, right = st.columns([3, 2], gap="large")
    with left:
        speaker = item.segment.get("speaker") or ""
        st.caption(
            f"{markup.md(item.segment.get('document'))}"
            + (f" · {markup.md(speaker)}" if speaker else "")
        )
        st.html(markup.context_html(None, item.segment, None))
    with right:
        chosen = {d["code"] for d in item.decisions if d["status"] == "accepted"}
        st.markdown("Which of these does the passage speak about? Tick all that apply.")
        paths = _codes(codebook, sid, chosen)
        note_key = f"partner_note_{sid}"
        if note_key not in st.session_state:
            notes = [d["memo"] for d in item.decisions if d.get("memo")]
            st.session_state[note_key] = notes[0] if notes else ""
        st.text_area("A note (optional)", key=note_key, height=68)
        row = st.container(horizontal=True, gap="small")
        row.button("Save", key="partner_save", type="primary", on_click=_save, args=(sid, paths))
        row.button("Previous", key="partner_prev", on_click=_move, args=(-1,), disabled=pos == 0)
        row.button(
            "Next", key="partner_next", on_click=_move, args=(1,), disabled=pos + 1 >= len(ids)
        )
    mine = proj.review.assignments()
    open_work = mine[(mine["coder"] == me) & mine["finished_at"].isna()]
    if len(done) == len(ids) and not open_work.empty:
        st.divider()
        for i, name in enumerate(open_work["name"]):
            st.button(
                f"I have finished {name}", key=f"partner_finish_{i}", on_click=_finish, args=(name,)
            )
