"""Agreement: blind assignments, agreement statistics, and disagreements settled by consensus."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, markup
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import Codebook

VIEWS = ("Assignments", "Statistics", "Disagreements")
BY = {
    "overall": "Overall",
    "code": "Per code",
    "facet": "Per facet",
    "case": "Per case",
    "pair": "Per coder pair",
}
STAT_FORMAT = {
    c: st.column_config.NumberColumn(format="%.2f")
    for c in ("percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "entropy")
}


# -------------------------------------------------------------- assignments
def _finish(name: str) -> None:
    try:
        common.project().review.finish_assignment(name, common.coder())
    except Exception as exc:
        st.session_state["agree_msg"] = ("error", str(exc))
        return
    st.session_state["agree_msg"] = ("success", f"Finished {name}; suggestions are visible again.")


def assignments(proj: Project) -> None:
    me = common.coder()
    table = proj.review.assignments()
    mine = table[(table["coder"] == me) & table["finished_at"].isna()]
    if not mine.empty:
        st.markdown(
            "**Your open assignments** — review them in the Review queue (sidebar: Assignment)"
        )
        for i, row in enumerate(mine.itertuples()):
            left, mid, right = st.columns([3, 2, 1], vertical_alignment="center")
            left.markdown(f"{markup.md(row.name)} · {'blind' if row.blind else 'open'}")
            mid.progress(
                min(1.0, row.reviewed / row.segments) if row.segments else 1.0,
                text=f"{row.reviewed} of {row.segments} segments",
            )
            right.button("Finish", key=f"agree_finish_{i}", on_click=_finish, args=(row.name,))
    if not proj.access.may(rules.ASSIGN):  # only a lead puts work in front of coders
        if mine.empty:
            common.empty_state("No open assignment for you.")
        return
    with st.expander("New assignment", expanded=table.empty, icon=":material/assignment_add:"):
        docs = common.documents()["document"].tolist()
        with st.form("agree_new", border=False):
            name = st.text_input("Name", placeholder="round-1", key="agree_new_name")
            known = list(dict.fromkeys([me, *common.human_coders(proj)]))
            people = st.multiselect("Coders", known, default=[me], key="agree_new_coders")
            others = st.text_input(
                "More coders (names, comma-separated)",
                placeholder="pp1, inv2",
                key="agree_new_more",
            )
            documents = st.multiselect("Documents (none = all)", docs, key="agree_new_docs")
            a, b = st.columns(2)
            sample = a.number_input(
                "Random sample of segments (0 = all)", 0, None, 0, step=10, key="agree_new_sample"
            )
            blind = b.checkbox(
                "Blind (hide suggestions until finished)", value=True, key="agree_new_blind"
            )
            if st.form_submit_button("Assign", type="primary", key="agree_new_go"):
                coders = list(
                    dict.fromkeys([*people, *(o.strip() for o in others.split(",") if o.strip())])
                )
                if not name.strip() or not coders:
                    st.error("Give the assignment a name and at least one coder.")
                else:
                    with common.guarded("Assignment"):
                        n = proj.review.assign(
                            name.strip(),
                            coders,
                            documents=documents or None,
                            sample=int(sample) or None,
                            blind=blind,
                        )
                        st.session_state["agree_msg"] = (
                            "success",
                            f"{name.strip()}: {n} segments for {', '.join(coders)}.",
                        )
                        st.rerun()
    if table.empty:
        common.empty_state(
            "No assignments yet. Give the same documents (or a random sample) to two or more "
            "coders, blind, then compare them under Statistics."
        )
    else:
        st.dataframe(
            table,
            hide_index=True,
            key="agree_assignments",
            column_config={"blind": st.column_config.CheckboxColumn()},
        )


# --------------------------------------------------------------- statistics
def statistics(proj: Project, codebook: Codebook) -> None:
    people = [c.name for c in proj.coders() if c.role != "model"]
    a, b, c = st.columns([3, 1, 1], vertical_alignment="bottom")
    coders = a.multiselect(
        "Coders", people, default=[p for p in people if p != "consensus"], key="agree_coders"
    )
    by = b.selectbox("Show", list(BY), format_func=BY.__getitem__, key="agree_by")
    with_model = c.toggle("Score the model too", key="agree_model")
    if len(coders) < (1 if with_model else 2):
        common.empty_state("Choose at least two coders (or one, with the model).")
        return
    frame: pd.DataFrame | None = None
    with common.guarded("Agreement"):
        if with_model:
            frame = proj.agreement.model_report(against=coders, by=by)
        else:
            frame = proj.agreement.report(coders=coders, by=by)
    if frame is None:
        return
    if frame.empty:
        common.empty_state(
            "Nothing to compare yet: these coders have not reviewed the same segments."
        )
        return
    labels = common.code_labels(codebook)
    if "code" in frame.columns:
        frame = frame.assign(code=frame["code"].map(lambda c: labels.get(c, c)))
    st.dataframe(frame, hide_index=True, key="agree_stats", column_config=STAT_FORMAT)
    st.caption(
        "Cohen's κ per pair; Fleiss' κ and Krippendorff's α for all coders; n_units counts "
        "segments reviewed by at least two of them."
    )


# ------------------------------------------------------------ disagreements
def _by_coder(value: Any, labels: dict[str, str]) -> str:
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return " | ".join(
        f"{who}: " + (", ".join(labels.get(c, c).split(" › ")[-1] for c in codes) or "—")
        for who, codes in value.items()
    )


def _record(segment_id: int, key: str, why_key: str) -> None:
    codes = list(st.session_state.get(key, []))
    why = str(st.session_state.get(why_key, "")).strip()
    try:
        common.project().agreement.record_consensus(segment_id, codes, decided_by=common.coder(), why=why)
    except Exception as exc:
        st.session_state["agree_msg"] = ("error", str(exc))
        return
    st.session_state["agree_msg"] = ("success", f"Consensus recorded on segment {segment_id}.")


def _consensus(proj: Project, row: Any, coders: list[str], labels: dict[str, str]) -> None:
    sid = int(row["segment_id"])
    case = common.case_label(row["case"])
    st.markdown(f"**Segment {sid}** · {markup.md(row['document'])} · {markup.md(case)}")
    st.text(str(row["text"]))
    st.caption(_by_coder(row["codes_by_coder"], labels))
    memos = row.get("memos_by_coder") or {}
    for who, memo in memos.items() if isinstance(memos, dict) else []:
        st.caption(f"{who}: {memo}")
    proposal = proj.agreement.consensus_proposal(sid, coders)
    key = f"agree_codes_{sid}"
    if key not in st.session_state:
        st.session_state[key] = [str(c) for c in proposal.loc[proposal["proposed"], "code"]]
    st.multiselect(
        "Agreed codes (pre-filled with the majority)",
        list(labels),
        format_func=labels.__getitem__,
        key=key,
    )
    why_key = f"agree_why_{sid}"
    st.text_input("Why (optional)", key=why_key)
    st.button(
        "Record consensus",
        key="agree_record",
        type="primary",
        on_click=_record,
        args=(sid, key, why_key),
    )


def disagreements(proj: Project, codebook: Codebook) -> None:
    people = common.human_coders(proj)
    facets = common.facet_names(codebook)
    a, b = st.columns([3, 1])
    coders = a.multiselect("Coders", people, default=people, key="agree_dis_coders")
    facet = b.selectbox(
        "Facet", ["(all)", *facets], format_func=lambda f: facets.get(f, f), key="agree_dis_facet"
    )
    if len(coders) < 2:
        common.empty_state("Choose at least two coders.")
        return
    frame: pd.DataFrame | None = None
    with common.guarded("Disagreements"):
        frame = proj.agreement.disagreements(coders=coders, facet=None if facet == "(all)" else facet)
    if frame is None:
        return
    if frame.empty:
        common.empty_state("No disagreements: these coders agree on every segment they share.")
        return
    labels = common.code_labels(codebook)
    shown = pd.DataFrame(
        {
            "segment": frame["segment_id"],
            "document": frame["document"],
            "case": frame["case"],
            "split codes": frame["split_codes"].map(
                lambda codes: ", ".join(labels.get(c, c).split(" › ")[-1] for c in codes)
            ),
            "who coded what": frame["codes_by_coder"].map(lambda v: _by_coder(v, labels)),
            "passage": frame["text"],
        }
    )
    st.caption(f"{len(frame)} segment(s), most divided first. Select one to record a consensus.")
    event = st.dataframe(
        shown,
        hide_index=True,
        key="agree_dis_table",
        on_select="rerun",
        selection_mode="single-row",
        height=260,
    )
    rows = list(event.selection.rows) if event and event.selection else []
    if rows and 0 <= rows[0] < len(frame):
        st.divider()
        _consensus(proj, frame.iloc[rows[0]], coders, labels)


def render() -> None:
    """The Agreement page."""
    st.header("Agreement", anchor=False)
    proj, codebook = common.project_codebook()
    if codebook is None:
        return
    common.flash("agree_msg")
    views = VIEWS if proj.access.may(rules.SEE_AGREEMENT) else VIEWS[:1]
    view = st.segmented_control("View", views, default=views[0], key="agree_view")
    if view == "Statistics":
        statistics(proj, codebook)
    elif view == "Disagreements":
        disagreements(proj, codebook)
    else:
        assignments(proj)
