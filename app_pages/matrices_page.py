"""Matrices: theme × case heatmap and table with drill-down to quotes, barriers and
facilitators, CMO configurations, joint displays, and exports (XLSX, CSV, REFI-QDA)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common, markup
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import Codebook

VALUES = {
    "count": "Codings",
    "participants": "Participants",
    "participants_pct": "% of participants",
    "documents": "Documents",
    "documents_pct": "% of documents",
    "quotes": "Exemplar quotes",
}
BASE_COLUMNS = ("case", "province", "rurality", "role", "source_type")
VIEWS = ("Theme × case", "Barriers / facilitators", "CMO", "Joint display", "Export")
ALL = "(all)"
EXPORTS = {
    "xlsx": ("Excel workbook (.xlsx)", "analysis.xlsx", "application/vnd.ms-excel"),
    "csv": ("CSV sheets (.zip)", "analysis.zip", "application/zip"),
    "qdpx": ("REFI-QDA project (.qdpx)", "project.qdpx", "application/zip"),
}


def export_bytes(
    proj: Project, fmt: str, name: str, progress: Callable[[int, int], None] | None = None
) -> Callable[[], bytes]:
    """A callable that builds the export (reporting to ``progress``) and returns its bytes."""

    def build() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / name
            proj.analysis.export(fmt, out, progress=progress)
            return out.read_bytes()

    return build


# ------------------------------------------------------------- theme × case
def _controls(proj: Project, codebook: Codebook) -> tuple[str, str, dict[str, Any]]:
    attributes = [c for c in proj.cases().columns if c != "case"]
    columns = list(dict.fromkeys([*BASE_COLUMNS, *attributes]))
    coders = [c.name for c in proj.coders()]
    people = [c.name for c in proj.coders() if c.role != "model"]
    facets = common.facet_names(codebook)
    a, b, c = st.columns(3)
    cols = a.selectbox("Columns", columns, key="matrix_cols")
    value = b.selectbox("Cell", list(VALUES), format_func=VALUES.__getitem__, key="matrix_value")
    facet = c.selectbox(
        "Facet", [ALL, *facets], format_func=lambda f: facets.get(f, f), key="matrix_facet"
    )
    a, b = st.columns([3, 1])
    chosen = a.multiselect("Coders", coders, default=people, key="matrix_coders")
    statuses = b.multiselect(
        "Status", ["accepted", "suggested"], default=["accepted"], key="matrix_statuses"
    )
    filters: dict[str, Any] = {"statuses": statuses or ["accepted"]}
    if chosen:
        filters["coders"] = chosen
    if facet != ALL:
        filters["facet"] = facet
    return cols, value, filters


def _row_paths(index: pd.Index, codebook: Codebook) -> dict[Any, str]:
    """Matrix row label → code path (rows may be paths or names)."""
    by_name = {c.name: c.path for c in codebook.codes}
    paths = {c.path for c in codebook.codes}
    out: dict[Any, str] = {}
    for label in index:
        text = str(label)
        if text in paths:
            out[label] = text
        elif text in by_name:
            out[label] = by_name[text]
    return out


def _heatmap(matrix: pd.DataFrame, cols: str, value: str, labels: dict[str, str]) -> None:
    long = matrix.copy()
    long.index = [labels.get(str(i), str(i)) for i in long.index]
    long = (
        long.rename_axis("code")
        .reset_index()
        .melt(id_vars="code", var_name=cols, value_name="value")
    )
    long[cols] = long[cols].astype(str)
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    height = max(160, 22 * matrix.shape[0] + 60)
    base = alt.Chart(long).encode(
        x=alt.X(f"{cols}:N", title=cols, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("code:N", title=None, sort=None, axis=alt.Axis(labelLimit=360)),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "value:Q",
            title=VALUES[value],
            scale=alt.Scale(scheme="blues"),
            # a legend no taller than the rows, so short matrices do not cut it off
            legend=alt.Legend(gradientLength=min(200, max(40, 22 * matrix.shape[0]))),
        ),
        tooltip=["code", cols, alt.Tooltip("value:Q", title=VALUES[value])],
    )
    top = long["value"].max()
    dark = 0.6 * float(top) if pd.notna(top) else 0.0  # white figures on the darkest cells
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("value:Q", format=".0f"),
        color=alt.when(f"datum.value > {dark}")
        .then(alt.value("#ffffff"))
        .when("datum.value > 0")
        .then(alt.value("#1d2733"))
        .otherwise(alt.value("#b7bec8")),
    )
    st.altair_chart((cells + text).properties(height=height), width="stretch")


def _quotes(proj: Project, path: str, cols: str, column: Any, filters: dict[str, Any]) -> None:
    """The passages behind one cell: codings of ``path`` in column value ``column``."""
    codings = proj.codings(**filters)
    codings = codings[codings["code"] == path]
    if cols in codings.columns:
        codings = codings[codings[cols].astype(str) == str(column)]
    else:
        cases = proj.cases()
        if cols in cases.columns:
            names = cases.loc[cases[cols].astype(str) == str(column), "case"]
            codings = codings[codings["case"].isin(set(names))]
    st.markdown(
        f"**{len(codings)} passage(s)** coded *{markup.md(path)}* in {markup.md(cols)} "
        f"**{markup.md(column)}**"
    )
    st.dataframe(
        codings[["document", "case", "speaker", "coder", "text"]],
        hide_index=True,
        key="matrix_quotes",
        column_config={"text": st.column_config.TextColumn("passage", width="large")},
    )


def _selected_cell(matrix: pd.DataFrame, event: Any) -> tuple[Any, Any] | None:
    cells = list(getattr(getattr(event, "selection", None), "cells", None) or [])
    if not cells:
        return None
    row, column = cells[0]
    if not 0 <= int(row) < len(matrix) or column not in matrix.columns:
        return None
    return matrix.index[int(row)], column


def theme_by_case(proj: Project, codebook: Codebook) -> None:
    cols, value, filters = _controls(proj, codebook)
    matrix: pd.DataFrame | None = None
    with common.guarded("The matrix"):
        matrix = proj.analysis.matrix(rows="code", cols=cols, value=value, **filters)
    if matrix is None:
        return
    if matrix.empty:
        common.empty_state(
            "No codings with these filters yet. Review segments (Review queue) or include "
            "suggested codings with the Status filter."
        )
        return
    labels = common.code_labels(codebook)
    paths = _row_paths(matrix.index, codebook)
    if value != "quotes":
        _heatmap(matrix, cols, value, labels)
    shown = matrix.copy()
    shown.index = [labels.get(paths.get(i, ""), str(i)) for i in matrix.index]
    shown.columns = [str(c) for c in shown.columns]
    st.caption("Select a cell to read its passages.")
    event = st.dataframe(
        shown,
        key="matrix_table",
        on_select="rerun",
        selection_mode="single-cell",
    )
    cell = _selected_cell(shown, event)
    if cell is not None:
        row = matrix.index[list(shown.index).index(cell[0])]
        column = matrix.columns[list(shown.columns).index(cell[1])]
        if row in paths:
            _quotes(proj, paths[row], cols, column, filters)
        else:
            st.caption(f"{cell[0]} is not a code; pick a code row.")


# ---------------------------------------------------------- workbook sheets
def _sheets(proj: Project) -> dict[str, pd.DataFrame] | None:
    found: dict[str, pd.DataFrame] | None = None
    with common.guarded("The cross-case workbook"):
        found = proj.analysis.workbook()
    return found


def _sheet(sheets: dict[str, pd.DataFrame], names: tuple[str, ...], empty: str) -> None:
    shown = False
    for name in names:
        frame = sheets.get(name)
        if frame is None:
            continue
        shown = True
        st.subheader(name, anchor=False)
        if frame.empty:
            st.caption(empty)
        elif name == "Barriers-facilitators":
            st.html(markup.heat_legend_html("valence"))
            st.dataframe(valence_styled(frame), hide_index=True, key=f"matrix_sheet_{name}")
        else:
            st.dataframe(frame, hide_index=True, key=f"matrix_sheet_{name}")
    if not shown:
        st.caption(f"This version of qual_nlp has no {' / '.join(names)} sheet.")


def valence_styled(frame: pd.DataFrame) -> Any:
    """The barrier/facilitator sheet shaded: barriers red, facilitators green, the net red
    below zero and green above, each kind scaled to its own largest value."""
    numbers = [
        c
        for c in frame.columns
        if str(c).endswith((" −", " +", " net")) and pd.api.types.is_numeric_dtype(frame[c])
    ]
    styled = frame.style
    for suffix in (" −", " +", " net"):
        cols = [c for c in numbers if str(c).endswith(suffix)]
        if not cols:
            continue
        top = float(frame[cols].abs().max().max() or 0)
        for col in cols:
            styled = styled.map(
                lambda v, c=col, t=top: markup.heat_css(v, t, markup.valence_column_color(c, v)),
                subset=[col],
            )
    return styled


def joint_display(proj: Project) -> None:
    st.caption(
        "A joint display puts case-level numbers (e.g. from questionnaires) beside the "
        "qualitative themes. Upload a CSV with a `case` column and one column per measure."
    )
    upload = (
        st.file_uploader("Case-level CSV", type=["csv"], key="matrix_cases_csv")
        if proj.access.may(rules.IMPORT)
        else None
    )
    if upload is not None and st.button("Add to the cases", key="matrix_cases_go"):
        with common.guarded("Case numbers"):
            n = proj.import_cases(common.save_upload(upload), actor=common.coder())
            common.data_changed()
            st.success(f"{n} case row(s) read from {upload.name}.")
    sheets = _sheets(proj)
    if sheets is not None:
        _sheet(sheets, ("Joint display",), "No case-level numbers yet: upload a CSV above.")


def exports(proj: Project) -> None:
    """Build an export with a progress bar, then offer it for download."""
    st.caption("Build an export, then download it; large projects take a few seconds.")
    cols = st.columns(len(EXPORTS))
    for col, (fmt, (label, name, mime)) in zip(cols, EXPORTS.items(), strict=True):
        if col.button(f"Build {label}", key=f"matrix_build_{fmt}"):
            with common.guarded("Export"):
                bar = common.ProgressBar(f"Building {name}")
                st.session_state[f"matrix_built_{fmt}"] = export_bytes(proj, fmt, name, bar)()
        data = st.session_state.get(f"matrix_built_{fmt}")
        if data is not None:
            col.download_button(
                label,
                data=data,
                file_name=name,
                mime=mime,
                key=f"matrix_download_{fmt}",
                on_click="ignore",
                icon=":material/download:",
            )


def render() -> None:
    """The Matrices page."""
    st.header("Matrices", anchor=False)
    proj, codebook = common.project_codebook()
    if codebook is None:
        return
    if common.documents().empty:
        common.empty_state("No documents yet: import transcripts on the Import page.")
        return
    views = VIEWS if proj.access.may(rules.EXPORT) else VIEWS[:-1]
    view = st.segmented_control("View", views, default=views[0], key="matrix_view")
    if view == "Barriers / facilitators":
        sheets = _sheets(proj)
        if sheets is not None:
            _sheet(sheets, ("Barriers-facilitators",), "No barrier or facilitator codings yet.")
    elif view == "CMO":
        sheets = _sheets(proj)
        if sheets is not None:
            _sheet(
                sheets, ("CMO chains", "CMO summary"), "No context/mechanism/outcome codings yet."
            )
    elif view == "Joint display":
        joint_display(proj)
    elif view == "Export":
        exports(proj)
    else:
        theme_by_case(proj, codebook)
