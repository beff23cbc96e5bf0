"""Below the review queue: fine-tuning the encoder on a facet's reviews.

Starts ``project.jobs.fine_tune`` (a background job with progress and a time cap) and
shows, per facet, what the last fine-tuning measured (:meth:`ModelService.tuned_encoders`):
the tuned encoder's cross-validated κ next to the frozen one's, and whether the facet's
suggestions now read the tuned vectors (only where it coded better).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, jobs
from qual_nlp import access as rules
from qual_nlp.project import Project


def render(proj: Project) -> None:
    """Pick a facet and a time cap, fine-tune (a job), and show every facet's outcome."""
    with st.expander("Fine-tune the encoder on your reviews", icon=":material/model_training:"):
        st.caption(
            "Pairs of reviewed passages with the same answer are pulled together and pairs "
            "with different answers pushed apart. In each of three folds the encoder is "
            "tuned on the other folds and scored on the held-out one next to the frozen "
            "encoder; the tuned one is used for this facet only if its κ is higher."
        )
        names = common.facet_names(proj.codebook())
        if proj.access.may(rules.RUN_MODEL):
            left, mid, right = st.columns([3, 2, 2], vertical_alignment="bottom")
            facet = left.selectbox(
                "Facet", list(names), format_func=lambda f: names.get(f, f), key="review_ft_facet"
            )
            minutes = mid.number_input(
                "Time cap (minutes)", min_value=1, max_value=240, value=10, key="review_ft_minutes"
            )
            if right.button("Fine-tune", key="review_ft_run"):
                with common.guarded("Fine-tuning"):
                    job = jobs.follow(
                        proj,
                        proj.jobs.fine_tune(facet, minutes=float(minutes)),
                        "Fine-tuning the encoder",
                        "steps",
                    )
                    if isinstance(job.result, dict) and job.result.get("message"):
                        st.success(str(job.result["message"]))
        table = outcomes(proj.model.tuned_encoders(), names)
        if table.empty:
            st.caption("No facet has been fine-tuned on this project yet.")
        else:
            st.dataframe(table, hide_index=True, key="review_ft_table")


def outcomes(records: dict[str, dict[str, Any]], names: dict[str, str]) -> pd.DataFrame:
    """One row per fine-tuned facet: its κ tuned vs frozen and whether it is used.

    >>> outcomes({"valence": {"kappa": 0.5, "frozen_kappa": 0.4, "used": True, "n": 90}},
    ...          {"valence": "Valence"})["used for suggestions"].tolist()
    ['yes']
    """
    rows = [
        {
            "facet": names.get(facet, facet),
            "reviewed segments": r.get("n"),
            "κ tuned": r.get("kappa"),
            "κ frozen": r.get("frozen_kappa"),
            "used for suggestions": "yes" if r.get("used") else "no",
            "when": str(r.get("created_at") or "")[:16].replace("T", " "),
        }
        for facet, r in sorted(records.items())
    ]
    columns = ["facet", "reviewed segments", "κ tuned", "κ frozen", "used for suggestions", "when"]
    return pd.DataFrame(rows, columns=columns)
