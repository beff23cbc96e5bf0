"""Below the review queue: the learning curve — does reviewing in the queue's order pay off?

Renders what the facade measured (``project.jobs.learning_curve``, the simulation of
:mod:`qual_nlp.suggest.curves` on the project's own reviews): κ against labels for the
queue's order and a random one, the labels each needed, and the curve in a sentence;
beside it the figures measured on other data sets.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common, jobs
from qual_nlp.project import Project
from qual_nlp.project.jobs import LEARNING_CURVE
from qual_nlp.suggest.curves import MEASURED_ELSEWHERE

#: how each order is named on the page
ORDER_NAMES = {"uncertainty": "queue's order (least certain first)", "random": "random order"}


def render(proj: Project) -> None:
    """Pick a facet, measure (a background job), and show the newest curve of that facet."""
    with st.expander(
        "Learning curve: does reviewing in the queue's order pay off?",
        icon=":material/show_chart:",
    ):
        st.caption(
            "Replays your reviews: part of the documents is held out; the rest is labelled "
            "again in batches, either in the review queue's order or at random, from the same "
            "first batch, and after each batch a model on the sentence vectors is scored "
            "against your held-out codings (Cohen's κ). Three seeds are averaged. A facet "
            "with many codes (CFIR constructs) takes minutes."
        )
        names = common.facet_names(proj.codebook())
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        facet = left.selectbox(
            "Facet", list(names), format_func=lambda f: names.get(f, f), key="review_curve_facet"
        )
        if right.button("Measure on this project's reviews", key="review_curve_run"):
            with common.guarded("Learning curve"):
                jobs.follow(proj, proj.jobs.learning_curve(facet), "Measuring the learning curve")
        job = proj.jobs.latest(LEARNING_CURVE, facet=facet)
        if job is None:
            st.caption(
                f"Not measured on this project yet for {names.get(facet, facet)}: press "
                "Measure (it needs at least 50 reviewed segments of the facet)."
            )
        else:
            draw(job.result, when=job.updated_at)
        measured_elsewhere()


def curve_frame(result: dict[str, Any]) -> pd.DataFrame:
    """The curve's points as rows: order (named for people), labels, κ, macro-F1.

    >>> point = {"order": "random", "labels": 20, "kappa": 0.3, "f1": 0.5}
    >>> curve_frame({"points": [point]})["order"].tolist()
    ['random order']
    """
    frame = pd.DataFrame(result.get("points") or [], columns=["order", "labels", "kappa", "f1"])
    return frame.assign(order=frame["order"].map(lambda o: ORDER_NAMES.get(o, o)))


def draw(result: dict[str, Any], when: str = "") -> None:
    """The chart, the labels each order needed, and the sentence that reads them."""
    frame = curve_frame(result)
    target = float(result["target_kappa"])
    lines = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("labels:Q", title="segments labelled"),
            y=alt.Y("kappa:Q", title="κ on held-out segments"),
            color=alt.Color("order:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["order", "labels", alt.Tooltip("kappa:Q", title="κ", format=".3f")],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"kappa": [target]}))
        .mark_rule(strokeDash=[4, 4], color="#7a8594")
        .encode(y="kappa:Q", tooltip=[alt.Tooltip("kappa:Q", title="target κ", format=".3f")])
    )
    st.altair_chart((lines + rule).properties(height=260), width="stretch")
    reached = result.get("labels_to_target") or {}
    a, b, c = st.columns(3)
    a.metric("Target κ", f"{target:.2f}", help="95% of the κ of a model trained on the whole pool")
    for column, order in ((b, "uncertainty"), (c, "random")):
        n = reached.get(order)
        column.metric(
            f"Labels to reach it, {ORDER_NAMES[order]}", "not reached" if n is None else str(n)
        )
    st.markdown(result.get("reading", ""))
    st.caption(
        f"{result['segments']} reviewed segments; held out: {result.get('held_out') or '30%'}; "
        f"first batch {result['start']}, then {result['batch']} per step; {result['seeds']} "
        "seeds." + (f" Measured {when[:16].replace('T', ' ')}." if when else "")
    )


def measured_elsewhere() -> None:
    """The benchmark figures, as measured on other data sets (not this project)."""
    st.markdown("**Measured on external data** (`benchmarks/active_learning.py`)")
    st.dataframe(
        pd.DataFrame(MEASURED_ELSEWHERE).rename(
            columns={
                "data": "data set",
                "pool_kappa": "pool's κ",
                "uncertainty": "labels, queue's order",
                "random": "labels, random order",
            }
        )[["data set", "pool's κ", "labels, queue's order", "labels, random order"]],
        hide_index=True,
        key="review_curve_elsewhere",
    )
    st.caption(
        "Labels needed to reach 95% of the whole pool's κ, batches of 40 "
        "(multilingual-e5-small). On the small sample study the queue's order gained "
        "nothing over a random one: there, review by document or by relevance."
    )
