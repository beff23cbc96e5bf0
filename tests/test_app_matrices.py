"""The Matrices page: theme × case heatmap and table, drill-down, sheets, joint display, exports."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from test_app_support import (
    app_on,
    build_project,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
    segment_with,
)

from qual_nlp.project import Project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ACCEPTED = {
    "physicians did not know": ["valence/barrier"],
    "pharmacy never got the care plan": ["valence/barrier", "cmo/context"],
    "Transport to the clinic": ["valence/barrier"],
    "weekly team huddle": ["valence/facilitator", "cmo/mechanism"],
}


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = build_project(tmp_path)
    with Project.open(path) as project:
        for fragment, codes in ACCEPTED.items():
            project.review.decide(segment_with(project, fragment), "ana", accept=codes)
    return path


def needs(module: str) -> None:
    pytest.importorskip(module, reason=f"{module} is not in this version of qual_nlp yet")


def test_page_renders_without_errors(study: Path) -> None:
    at = open_page(app_on(study), "matrices")
    assert at.header[0].value == "Matrices"


def test_theme_by_case_table_counts_codings(study: Path) -> None:
    needs("qual_nlp.analysis")
    at = open_page(app_on(study), "matrices")
    with Project.open(study) as project:
        expected = project.analysis.matrix(
            rows="code", cols="case", value="count", statuses=["accepted"]
        )
    table = at.dataframe(key="matrix_table").value
    assert table.shape == expected.shape
    assert table.to_numpy().sum() == expected.to_numpy().sum()


def test_selecting_a_cell_lists_its_passages(study: Path) -> None:
    needs("qual_nlp.analysis")
    at = open_page(app_on(study), "matrices")
    table = at.dataframe(key="matrix_table").value
    row = next(i for i, label in enumerate(table.index) if str(label).endswith("Barrier"))
    at.session_state["matrix_table"] = {"selection": {"cells": [[row, "C02"]]}}
    at.run()
    # a table without selection is no widget: its key is not in the element tree
    quotes = next(d.value for d in at.dataframe if "speaker" in d.value.columns)
    assert len(quotes) == 2
    assert set(quotes["case"]) == {"C02"}


def test_columns_can_be_a_case_attribute(study: Path) -> None:
    needs("qual_nlp.analysis")
    at = open_page(app_on(study), "matrices")
    at.selectbox(key="matrix_cols").set_value("rurality").run()
    assert not at.exception
    assert set(at.dataframe(key="matrix_table").value.columns) == {"rural", "urban"}


def test_joint_display_upload_adds_case_numbers(study: Path) -> None:
    at = open_page(app_on(study), "matrices")
    at.segmented_control(key="matrix_view").set_value("Joint display").run()
    extra = b"case,satisfaction\nC01,4.2\nC02,3.1\n"
    at.file_uploader(key="matrix_cases_csv").set_value(("numbers.csv", extra, "text/csv"))
    at.run()
    at.button(key="matrix_cases_go").click().run()
    assert not at.exception
    with Project.open(study) as project:
        cases = project.cases().set_index("case")
    assert float(cases.loc["C02", "satisfaction"]) == pytest.approx(3.1)


def test_exports_offer_xlsx_csv_and_qdpx(study: Path) -> None:
    at = open_page(app_on(study), "matrices")
    at.segmented_control(key="matrix_view").set_value("Export").run()
    assert {b.key for b in at.button} >= {
        "matrix_build_xlsx",
        "matrix_build_csv",
        "matrix_build_qdpx",
    }
    assert not at.download_button, "an export is built (with its progress bar) before download"
    for fmt in ("xlsx", "csv", "qdpx"):
        at.button(key=f"matrix_build_{fmt}").click().run()
        assert not at.exception
    keys = {b.key for b in at.download_button}
    assert keys == {"matrix_download_xlsx", "matrix_download_csv", "matrix_download_qdpx"}


def test_qdpx_export_is_a_refi_project(study: Path) -> None:
    from app_pages.matrices_page import export_bytes

    with Project.open(study) as project:
        data = export_bytes(project, "qdpx", "project.qdpx")()
    assert "project.qde" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_xlsx_export_opens_in_openpyxl(study: Path) -> None:
    needs("qual_nlp.analysis.workbook")
    import openpyxl

    from app_pages.matrices_page import export_bytes

    with Project.open(study) as project:
        data = export_bytes(project, "xlsx", "analysis.xlsx")()
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames


def test_barrier_and_facilitator_cells_are_shaded_in_two_colours() -> None:
    import pandas as pd

    from app_pages.matrices_page import valence_styled

    frame = pd.DataFrame(
        {
            "code": ["cfir_domain/inner_setting", "cfir_domain/innovation"],
            "name": ["Inner setting", "Innovation"],
            "level": [0, 0],
            "C01 −": [4, 0],
            "C01 +": [1, 2],
            "C01 net": [-3, 2],
        }
    )
    styles = valence_styled(frame)._compute().ctx  # (row, column) -> [(property, value)]
    css = {(r, frame.columns[c]): dict(v).get("background-color") for (r, c), v in styles.items()}
    assert css[(0, "C01 −")] == "rgba(192,57,43,0.80)"  # the most barriers: deepest red
    assert css.get((1, "C01 −")) is None  # no barrier: no shade
    assert css[(1, "C01 +")] == "rgba(39,174,96,0.80)"  # facilitators green
    assert css[(0, "C01 +")].startswith("rgba(39,174,96,0.4")
    assert css[(0, "C01 net")].startswith("rgba(192,57,43,")  # net below zero: red
    assert css[(1, "C01 net")].startswith("rgba(39,174,96,")  # above: green
    assert (0, "name") not in css
