"""Below the review queue: bulk accept, the model (suggest, retrain, its quality as a coder)
and its learning curve (``curve_panel``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common, curve_panel, finetune_panel, jobs
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import Codebook


def forget_queue() -> None:
    """Drop the Review page's prefetched queue (after anything that reorders it)."""
    st.session_state.pop("review_buffer", None)
    st.session_state["review_pinned"] = None


def render(proj: Project, me: str, codebook: Codebook) -> None:
    """Bulk accept and model panels, side by side."""
    if not proj.access.may(rules.SEE_SUGGESTIONS):  # blind coding: nothing of the model
        return
    left, right = st.columns(2, gap="large")
    with left:
        bulk_accept(proj, me, codebook)
    with right:
        model_panel(proj)
    curve_panel.render(proj)
    finetune_panel.render(proj)


# --------------------------------------------------------------- bulk accept
def _preview() -> None:
    proj, me = common.project(), common.coder()
    code = str(st.session_state["review_bulk_code"])
    min_score = float(st.session_state["review_bulk_min"])
    try:
        frame = proj.review.bulk_accept(code, me, min_score=min_score, preview=True)
    except Exception as exc:
        st.session_state["review_bulk_error"] = str(exc)
        return
    st.session_state.pop("review_bulk_error", None)
    st.session_state["review_bulk"] = {"code": code, "min_score": min_score, "rows": frame}


def _apply() -> None:
    plan = st.session_state.pop("review_bulk", None)
    if not plan:
        return
    proj, me = common.project(), common.coder()
    try:
        done = proj.review.bulk_accept(plan["code"], me, min_score=plan["min_score"], preview=False)
    except Exception as exc:
        st.session_state["review_bulk_error"] = str(exc)
        return
    forget_queue()
    st.session_state["review_bulk_done"] = (
        f"Accepted {plan['code']} (score ≥ {plan['min_score']:.2f}) on {len(done)} segment(s)."
    )


def bulk_accept(proj: Project, me: str, codebook: Codebook) -> None:
    """Pick a code and a minimum score, preview the segments, then accept them all."""
    labels = common.code_labels(codebook)
    with st.expander("Bulk accept", icon=":material/done_all:"):
        st.caption(
            "Accept one code on every segment you have not reviewed where the model "
            "suggests it with at least this confidence. Preview first."
        )
        code = st.selectbox(
            "Code", list(labels), format_func=labels.__getitem__, key="review_bulk_code"
        )
        min_score = st.slider("Minimum confidence", 0.5, 1.0, 0.9, 0.01, key="review_bulk_min")
        st.button("Preview", key="review_bulk_preview", on_click=_preview)
        if st.session_state.get("review_bulk_error"):
            st.error(st.session_state["review_bulk_error"])
        if st.session_state.get("review_bulk_done"):
            st.success(st.session_state.pop("review_bulk_done"))
        plan = st.session_state.get("review_bulk")
        if not plan:
            return
        rows: pd.DataFrame = plan["rows"]
        if plan["code"] != code or plan["min_score"] != min_score:
            st.caption("The code or threshold changed: preview again.")
            return
        if rows.empty:
            st.caption("No open suggestion of this code reaches that confidence.")
            return
        st.dataframe(
            rows[["segment_id", "document", "speaker", "score", "text"]],
            hide_index=True,
            height=220,
            column_config={"score": st.column_config.NumberColumn(format="%.2f")},
            key="review_bulk_table",
        )
        st.button(
            f"Accept {labels.get(code, code)} on these {len(rows)} segment(s)",
            key="review_bulk_apply",
            type="primary",
            on_click=_apply,
        )


# --------------------------------------------------------------------- model
def model_panel(proj: Project) -> None:
    """Suggest with the current model, retrain it, and show how good a coder it is."""
    with st.expander("Model: suggest, retrain, quality", icon=":material/model_training:"):
        names = common.facet_names(proj.codebook())
        a, b = st.columns(2)
        suggest = a.button("Suggest codes", key="review_suggest")
        retrain = b.button("Retrain on my reviews", key="review_retrain", type="primary")
        if suggest:
            with common.guarded("Suggest"):
                done = jobs.follow(proj, proj.jobs.suggest(), "Suggesting").result
                st.session_state["review_model_msg"] = (
                    f"{done['model']}: {done['suggestions']} suggestions on "
                    f"{done['segments']} segments in {done['seconds']} s."
                )
                st.session_state["review_model_uncovered"] = [
                    proj.model.coverage_warning(u["document"], u["language"])
                    for u in done["uncovered_documents"]
                ]
                forget_queue()
        if retrain:
            with common.guarded("Retrain"):
                done = jobs.follow(proj, proj.jobs.train(), "Training").result
                forget_queue()
                st.session_state["review_model_msg"] = (
                    f"Not trained: {done['message']}"
                    if done["model"] is None
                    else f"{done['model']} trained on {done['n_labels']} reviewed segments "
                    f"in {done['train_seconds']} s."
                    + (
                        f" Not enough labels yet for: {', '.join(done['untrained_facets'])}."
                        if done.get("untrained_facets")
                        else ""
                    )
                )
        if st.session_state.get("review_model_msg"):
            st.success(st.session_state["review_model_msg"])
        for warning in st.session_state.get("review_model_uncovered", []):
            st.warning(warning, icon=":material/translate:")
        history = proj.model.history()
        if history.empty:
            st.caption(
                "No trained model yet. Review some segments, then Retrain: its cross-validated "
                "κ and macro-F1 against your codings show how good a coder it is."
            )
            return
        latest = history[history["version"] == history["version"].max()]
        st.markdown(f"**{latest['model'].iloc[0]}** — quality as a coder (cross-validated)")
        st.dataframe(
            latest.assign(facet=latest["facet"].map(lambda f: names.get(f, f)))[
                ["facet", "n_labels", "macro_f1", "kappa"]
            ].rename(columns={"n_labels": "labels", "macro_f1": "macro-F1", "kappa": "κ"}),
            hide_index=True,
            column_config={
                "macro-F1": st.column_config.ProgressColumn(
                    format="%.2f", min_value=0.0, max_value=1.0
                ),
                "κ": st.column_config.NumberColumn(format="%.2f"),
            },
            key="review_model_table",
        )
        if history["version"].nunique() > 1:
            with st.popover("All versions"):
                st.dataframe(history, hide_index=True, key="review_model_history")
