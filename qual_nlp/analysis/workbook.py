"""Cross-case tables to Excel (.xlsx) and CSV: the analysis workbook and its writers.

Cells whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return)
would run as formulas in a spreadsheet; the writers keep them as text: XLSX cells are
typed as strings, CSV cells get a leading ``'``.

>>> sheets = analysis_workbook(codings, segments, codebook, cases)  # doctest: +SKIP
>>> write_xlsx("analysis.xlsx", sheets)  # doctest: +SKIP

Matrix sheets read at a glance: :func:`labelled_matrix` marks their number columns
(``frame.attrs["heatmap"]``) and :func:`write_xlsx` gives them colour scales (Excel
conditional formatting): counts and percentages from white to blue; on the
barrier/facilitator sheet barriers (``−``) in red, facilitators (``+``) in green and the
net from red through white to green.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from qual_nlp.errors import ValidationError
from qual_nlp.records import Codebook

#: colour-scale ends (RRGGBB) of the XLSX heatmaps (and the app's legend)
HEAT_LOW = "FFFFFF"
HEAT_COUNT = "3B6FD8"
HEAT_BARRIER = "C0392B"
HEAT_FACILITATOR = "27AE60"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32767
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def sheet_name(name: str, taken: set[str] | None = None) -> str:
    """An Excel-safe sheet name: no ``[]:*?/\\``, at most 31 characters, unique in ``taken``.

    >>> sheet_name("Theme x case: C01/C02")
    'Theme x case_ C01_C02'
    """
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'").strip() or "Sheet"
    base = base[:31]
    taken = taken if taken is not None else set()
    out, n = base, 2
    while out.lower() in {t.lower() for t in taken}:
        suffix = f" ({n})"
        out, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(out)
    return out


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep a meaningful index as columns; flatten multi-level column labels."""
    if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.set_axis([" ".join(map(str, c)).strip() for c in frame.columns], axis=1)
    return frame


def _is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """The one guard against spreadsheet formulas: text that a spreadsheet would run
    (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
    ``'``; anything else is returned as it is.

    Every CSV the product writes passes its cells through here (:func:`guard_csv`);
    XLSX cells that it flags are typed as text instead.

    >>> neutralise('=HYPERLINK("x")'), neutralise("-1+1"), neutralise("fine"), neutralise(3)
    ('\'=HYPERLINK("x")', "'-1+1", 'fine', 3)
    """
    return "'" + value if _is_formula_like(value) else value


def _plain(value: Any) -> Any:
    """A value openpyxl can write: None for missing, Python scalars, clean text."""
    if value is None:
        return None
    if isinstance(value, str):
        if _ILLEGAL.search(value):
            value = _ILLEGAL.sub("", value)
        return value[:XLSX_CELL_LIMIT]
    if isinstance(value, (list, tuple, set, dict)):
        return _ILLEGAL.sub("", str(value))[:XLSX_CELL_LIMIT]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def _column_values(column: pd.Series) -> list[Any]:
    """A column as plain Python values (None for missing), fast for numeric columns."""
    if pd.api.types.is_bool_dtype(column) and not column.isna().any():
        return [bool(v) for v in column.to_numpy()]
    if pd.api.types.is_integer_dtype(column) and not column.isna().any():
        return column.astype("int64").tolist()
    if pd.api.types.is_float_dtype(column):
        values = column.astype("float64")
        return values.astype(object).where(values.notna(), None).tolist()
    return [_plain(v) for v in column.tolist()]


def _width(header: str, values: list[Any]) -> float:
    """A column width fitted to the header and the first 200 values (8 to 60)."""
    longest = max((len(str(v)) for v in values[:200] if v is not None), default=0)
    return min(max(max(len(header), longest) + 2, 8), 60)


def _rows(frame: pd.DataFrame, ws: Any) -> tuple[list[str], list[list[Any]], Any]:
    """Headers, columns of plain values, and an iterator of rows ready to append."""
    from openpyxl.cell import WriteOnlyCell

    headers = [str(c) for c in frame.columns]
    columns = [_column_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    guarded = [any(_is_formula_like(v) for v in col) for col in columns]

    def text(value: Any) -> Any:
        if not _is_formula_like(value):
            return value
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell

    def rows() -> Any:
        if not any(guarded):
            yield from (list(r) for r in zip(*columns, strict=True))
            return
        for values in zip(*columns, strict=True):
            yield [text(v) if g else v for v, g in zip(values, guarded, strict=True)]

    return headers, columns, rows()


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------


def write_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write DataFrames to one workbook, streamed (openpyxl write-only mode).

    Each sheet gets a bold, frozen header row and column widths fitted to its content;
    sheet names are made Excel-safe; text that looks like a formula stays text.

    >>> write_xlsx("out.xlsx", {"Theme x case": matrix.reset_index()})  # doctest: +SKIP
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if not sheets:
        raise ValidationError(f"{path}: no sheets to write. Fix: pass at least one DataFrame.")
    path = Path(path)
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    for name, raw in sheets.items():
        ws = wb.create_sheet(sheet_name(name, taken))
        ws.freeze_panes = "A2"
        heat = raw.attrs.get("heatmap")
        headers, columns, rows = _rows(_flat(raw), ws)
        if heat and len(raw):
            _colour_scales(ws, headers, heat, len(raw))
        for i, (header, values) in enumerate(zip(headers, columns, strict=True), start=1):
            ws.column_dimensions[get_column_letter(i)].width = _width(header, values)
        head = []
        for header in headers:
            cell = WriteOnlyCell(ws, value=_plain(header))
            cell.font = bold
            if _is_formula_like(cell.value):
                cell.data_type = "s"
            head.append(cell)
        ws.append(head)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def heat_kind(column: str) -> str:
    """Which colour scale a matrix column takes: ``barrier``, ``facilitator``, ``net``
    (the barrier/facilitator sheet's ``C01 −``, ``C01 +``, ``C01 net``) or ``count``.

    >>> [heat_kind(c) for c in ("C01 −", "C01 +", "Total net", "C02")]
    ['barrier', 'facilitator', 'net', 'count']
    """
    if column.endswith(" −"):
        return "barrier"
    if column.endswith(" +"):
        return "facilitator"
    if column.endswith(" net"):
        return "net"
    return "count"


def _colour_scales(ws: Any, headers: list[str], columns: list[str], n_rows: int) -> None:
    """Conditional-formatting colour scales on the heatmap ``columns`` (rows 2…n+1); one
    rule per kind of column, so each kind is shaded over its own range of values."""
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.utils import get_column_letter

    ranges: dict[str, list[str]] = {}
    for column in columns:
        if column not in headers:
            continue
        letter = get_column_letter(headers.index(column) + 1)
        ranges.setdefault(heat_kind(column), []).append(f"{letter}2:{letter}{n_rows + 1}")
    for kind, cells in ranges.items():
        if kind == "net":
            rule = ColorScaleRule(
                start_type="min",
                start_color=HEAT_BARRIER,
                mid_type="num",
                mid_value=0,
                mid_color=HEAT_LOW,
                end_type="max",
                end_color=HEAT_FACILITATOR,
            )
        else:
            end = {"barrier": HEAT_BARRIER, "facilitator": HEAT_FACILITATOR}.get(kind, HEAT_COUNT)
            rule = ColorScaleRule(
                start_type="num", start_value=0, start_color=HEAT_LOW, end_type="max", end_color=end
            )
        ws.conditional_formatting.add(" ".join(cells), rule)


def guard_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and headers) that look like formulas start with ``'``."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    # CRLF rows: a cell holding a bare CR is then quoted too (the csv module quotes only
    # the line terminator's characters), so no spreadsheet reads it as a new row
    guard_csv(_flat(frame)).to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue()


def write_csv(path: str | Path, df: pd.DataFrame) -> Path:
    """Write one table as UTF-8 CSV (with BOM, so Excel reads accents), formulas guarded.

    >>> write_csv("quotes.csv", sheets["Quotes"])  # doctest: +SKIP
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_csv_text(df), encoding="utf-8-sig", newline="")
    return path


def write_csv_bundle(path: str | Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """One CSV per sheet: in a ``.zip`` when ``path`` ends with .zip, else in a folder.

    >>> write_csv_bundle("analysis.zip", sheets)  # doctest: +SKIP
    """
    path = Path(path)
    taken: set[str] = set()
    names = {sheet_name(n, taken): frame for n, frame in sheets.items()}
    if path.suffix.lower() == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, frame in names.items():
                zf.writestr(f"{name}.csv", "\ufeff" + _csv_text(frame))
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in names.items():
            write_csv(path / f"{name}.csv", frame)
    return path


# --------------------------------------------------------------------------
# The analysis workbook
# --------------------------------------------------------------------------

QUOTE_COLUMNS = ("document", "case", "speaker", "role", "start", "end", "text")
CODING_TAIL = ("code", "code_name", "facet", "coder", "coder_role", "status", "score", "memo")
CODEBOOK_COLUMNS = (
    "path",
    "facet",
    "name",
    "parent",
    "level",
    "definition",
    "inclusion",
    "exclusion",
    "examples",
    "color",
)


def labelled_matrix(matrix: pd.DataFrame, codebook: Codebook | None) -> pd.DataFrame:
    """Matrix rows as ``code``, indented ``name`` and ``level`` columns, then the cells."""
    names = {c.path: c.name for c in codebook.codes} if codebook is not None else {}
    levels: dict[str, int] = matrix.attrs.get("level", {})
    paths = [str(p) for p in matrix.index]
    front = pd.DataFrame(
        {
            "code": paths,
            "name": ["  " * levels.get(p, 0) + names.get(p, p) for p in paths],
            "level": [levels.get(p, 0) for p in paths],
        }
    )
    cells = matrix.reset_index(drop=True)
    cells.columns = [str(c) for c in cells.columns]
    out = pd.concat([front, cells], axis=1)
    numbers = [c for c in cells.columns if pd.api.types.is_numeric_dtype(cells[c])]
    if numbers:  # shaded as a heatmap in the XLSX (see write_xlsx)
        out.attrs["heatmap"] = numbers
    return out


def codebook_table(codebook: Codebook) -> pd.DataFrame:
    """One row per code: path, facet, name, parent path, level, texts, examples, color."""
    from qual_nlp.analysis._select import code_levels

    levels = code_levels(codebook, [c.path for c in codebook.codes])
    rows = [
        {
            "path": c.path,
            "facet": c.facet,
            "name": c.name,
            "parent": f"{c.facet}/{c.parent}" if c.parent else "",
            "level": levels[c.path],
            "definition": c.definition,
            "inclusion": c.inclusion,
            "exclusion": c.exclusion,
            "examples": "\n".join(c.examples),
            "color": c.color or "",
        }
        for c in codebook.codes
    ]
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))


def quotes_table(
    codings: pd.DataFrame,
    segments: pd.DataFrame | None,
    codebook: Codebook | None,
    cases: pd.DataFrame,
    **filters: Any,
) -> pd.DataFrame:
    """One row per coding the filters keep (accepted by default): document, case, the
    case's attributes, speaker, role, offsets, text, code path and name, facet, coder,
    status, score and memo, in document order."""
    from qual_nlp.analysis import numeric_columns, select_codings

    sel = select_codings(codings, segments, **filters)
    numbers = set(numeric_columns(cases)) if not cases.empty else set()
    attributes = [c for c in cases.columns if c != "case" and c not in numbers]
    if attributes:
        have = [c for c in attributes if c in sel.columns]
        extra = [c for c in attributes if c not in sel.columns]
        if extra:
            sel = sel.merge(cases[["case", *extra]], on="case", how="left")
        attributes = have + extra
    names = {c.path: c.name for c in codebook.codes} if codebook is not None else {}
    sel = sel.assign(
        code_name=sel["code"].map(names).fillna(""),
        facet=sel["facet"] if "facet" in sel.columns else sel["code"].str.split("/").str[0],
    )
    for column in ("coder_role", "score", "memo"):
        if column not in sel.columns:
            sel[column] = None
    columns = ["document", "case", *attributes, *QUOTE_COLUMNS[2:], *CODING_TAIL]
    return sel.sort_values(["document", "start", "code"], kind="stable")[columns].reset_index(
        drop=True
    )


def analysis_workbook(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    codebook: Codebook,
    cases: pd.DataFrame,
    memos: pd.DataFrame | None = None,
    **filters: Any,
) -> dict[str, pd.DataFrame]:
    """Every cross-case sheet, ready for :func:`write_xlsx` or :func:`write_csv_bundle`.

    Sheets: "Theme x case" (distinct coded segments, rolled up to parents),
    "Participants %", "Exemplar quotes" (top-k per cell), "Barriers-facilitators" (CFIR
    constructs × case, − / + / net), "CMO chains", "CMO summary", "Joint display" (only
    when the cases table has numbers), "Quotes" (one row per kept coding) and
    "Codebook", then "Memos" when ``memos`` (the facade's memo table) is given. Filters as in :func:`qual_nlp.analysis.theme_matrix`, plus the options
    ``top_k``, ``rank``, ``rollup`` (matrices) and ``window``, ``within`` (CMO chains).

    >>> sheets = analysis_workbook(codings, segments, cb, cases, coders=["consensus"])  # doctest: +SKIP
    """
    from qual_nlp.analysis import (
        cmo_configurations,
        cmo_summary,
        joint_display,
        numeric_columns,
        theme_matrix,
        valence_matrix,
    )

    chain_options = {k: filters.pop(k) for k in ("window", "within") if k in filters}
    options = {k: filters.pop(k) for k in ("top_k", "rank", "rollup") if k in filters}
    facets = {f.id for f in codebook.facets}

    def matrix(value: str) -> pd.DataFrame:
        return theme_matrix(
            codings, codebook=codebook, segments=segments, value=value, **options, **filters
        )

    counts = matrix("count")
    sheets: dict[str, pd.DataFrame] = {
        "Theme x case": labelled_matrix(counts, codebook),
        "Participants %": labelled_matrix(matrix("participants_pct"), codebook),
        "Exemplar quotes": labelled_matrix(matrix("quotes"), codebook),
    }
    no_facet = {k: v for k, v in filters.items() if k != "facet"}
    if {"valence", "cfir_domain"} <= facets:
        rollup = bool(options.get("rollup", True))
        valence = valence_matrix(
            codings, codebook=codebook, segments=segments, rollup=rollup, **no_facet
        )
        sheets["Barriers-facilitators"] = labelled_matrix(valence, codebook)
    if "cmo" in facets:
        chains = cmo_configurations(
            codings, segments, codebook=codebook, **chain_options, **no_facet
        )
        sheets["CMO chains"] = chains
        sheets["CMO summary"] = cmo_summary(chains)
    if not cases.empty and numeric_columns(cases):
        sheets["Joint display"] = joint_display(counts, cases)
    sheets["Quotes"] = quotes_table(codings, segments, codebook, cases, **filters)
    sheets["Codebook"] = codebook_table(codebook)
    if memos is not None:
        sheets["Memos"] = memos.reset_index(drop=True)
    return sheets
