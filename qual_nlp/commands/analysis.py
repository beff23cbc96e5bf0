"""``qual-nlp matrix``, ``agreement`` and ``export``: what the coded project says across
cases (theme and valence matrices), how far its coders agree, and the project written out
for other programs (CSV, XLSX, REFI-QDA, Taguette)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from qual_nlp.commands.common import emit, open_project, progress_bar

__all__ = [
    "agreement_arguments",
    "cmd_agreement",
    "cmd_export",
    "cmd_matrix",
    "export_arguments",
    "matrix_arguments",
]


def _filter_options(p: argparse.ArgumentParser) -> None:
    """The cross-case filters shared by matrix and export."""
    p.add_argument("--facet", help="only this facet")
    p.add_argument(
        "--coder", help="only these coders, comma-separated (a person, consensus, or model)"
    )
    p.add_argument("--status", help="statuses kept, comma-separated, or 'all' (default: accepted)")
    p.add_argument("--source-type", help="only these source types, e.g. interview,focus_group")
    p.add_argument("--role", help="only these participant roles, e.g. patient")


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _analysis_filters(args: argparse.Namespace) -> dict[str, Any]:
    """The cross-case filters given on the command line (matrix and export)."""
    filters: dict[str, Any] = {}
    if getattr(args, "facet", None):
        filters["facet"] = args.facet
    if coders := _split(getattr(args, "coder", None)):
        filters["coders"] = coders
    status = getattr(args, "status", None)
    if status:
        filters["statuses"] = None if status == "all" else _split(status)
    if types := _split(getattr(args, "source_type", None)):
        filters["source_types"] = types
    if roles := _split(getattr(args, "role", None)):
        filters["roles"] = roles
    return filters


def matrix_arguments(p: argparse.ArgumentParser) -> None:
    """The ``matrix`` command's arguments (after PROJECT)."""
    p.add_argument("--rows", default="code", help="rows (default: code)")
    p.add_argument(
        "--cols", default="case", help="case or any attribute: province, role, source_type"
    )
    p.add_argument(
        "--value",
        default="count",
        choices=[
            "count",
            "participants",
            "participants_pct",
            "documents",
            "documents_pct",
            "quotes",
        ],
        help="cell value (default: count of coded segments)",
    )
    p.add_argument(
        "--valence",
        action="store_true",
        help="barrier (-) / facilitator (+) split per construct of --facet (cfir_domain)",
    )
    p.add_argument("--top-k", type=int, default=3, help="quotes per cell (--value quotes)")
    p.add_argument(
        "--rank",
        default="score",
        choices=["score", "chosen"],
        help="quotes by model score, or those a coder marked 'exemplar' in the memo",
    )
    p.add_argument(
        "--no-rollup",
        dest="rollup",
        action="store_false",
        help="count parent codes only where coded themselves",
    )
    _filter_options(p)
    p.add_argument("--out", required=True, help="output .csv or .xlsx")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_matrix(args: argparse.Namespace) -> int:
    from qual_nlp.analysis.workbook import labelled_matrix, write_csv, write_xlsx

    filters = _analysis_filters(args)
    with open_project(args) as project:
        if args.valence:
            filters.pop("facet", None)
            construct = args.facet or "cfir_domain"
            frame = project.analysis.valence_matrix(
                cols=args.cols, construct_facet=construct, rollup=args.rollup, **filters
            )
        else:
            frame = project.analysis.matrix(
                rows=args.rows,
                cols=args.cols,
                value=args.value,
                top_k=args.top_k,
                rank=args.rank,
                rollup=args.rollup,
                **filters,
            )
        codebook = project.codebook()
    out = args.out
    sheet = labelled_matrix(frame, codebook) if args.rows == "code" else frame.reset_index()
    if str(out).lower().endswith(".xlsx"):
        write_xlsx(out, {"Barriers-facilitators" if args.valence else "Matrix": sheet})
    else:
        write_csv(out, sheet)
    emit(
        args,
        {"out": str(out), "rows": len(frame), "cols": len(frame.columns)},
        f"{len(frame)} x {len(frame.columns)} matrix written to {out}",
    )
    if frame.empty and not args.json:
        print(
            "warning: the matrix is empty: no coding matches (codings count once accepted; "
            "review suggestions first, or use --status all)",
            file=sys.stderr,
        )
    return 0


def agreement_arguments(p: argparse.ArgumentParser) -> None:
    """The ``agreement`` command's arguments (after PROJECT)."""
    p.add_argument("--coders", help="comma-separated coders (default: every human coder)")
    p.add_argument(
        "--by",
        default="code",
        choices=[
            "code",
            "facet",
            "case",
            "pair",
            "overall",
            "case+code",
            "pair+code",
            "pair+facet",
        ],
    )
    p.add_argument("--model", action="store_true", help="score the newest model as one more coder")
    p.add_argument("--out", help="also write the report to .csv or .xlsx")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_agreement(args: argparse.Namespace) -> int:
    coders = args.coders.split(",") if args.coders else None
    with open_project(args) as project:
        if args.model:
            frame = project.agreement.model_report(against=coders, by=args.by)
        else:
            frame = project.agreement.report(coders=coders, by=args.by)
    if args.out:
        if str(args.out).lower().endswith(".xlsx"):
            from qual_nlp.analysis.workbook import write_xlsx

            write_xlsx(args.out, {f"Agreement by {args.by}": frame})
        else:
            from qual_nlp.analysis.workbook import write_csv

            write_csv(args.out, frame)
    records = json.loads(frame.to_json(orient="records"))
    compared = "n_units" in frame.columns and bool((frame["n_units"] > 0).any())
    if not compared and "note" in frame.columns and len(frame):
        emit(args, {"by": args.by, "rows": records}, str(frame["note"].iloc[0]))
        return 0
    emit(args, {"by": args.by, "rows": records}, frame.to_string(index=False))
    return 0


def export_arguments(p: argparse.ArgumentParser) -> None:
    """The ``export`` command's arguments (after PROJECT)."""
    p.add_argument("--format", required=True, choices=["csv", "xlsx", "qdpx", "qdc", "taguette"])
    p.add_argument("--out", required=True, help="output file (csv: .zip, or a folder)")
    _filter_options(p)
    p.add_argument("--top-k", type=int, default=3, help="exemplar quotes per cell")
    p.add_argument("--window", type=int, default=1, help="CMO chains: segments either side")
    p.add_argument(
        "--within",
        default="window",
        choices=["window", "turn", "segment"],
        help="CMO chains: look for context and outcome in a window, the turn or the segment",
    )
    p.add_argument(
        "--deidentified",
        action="store_true",
        help="pseudonymised text; each coding on the pseudonymised passage (not for qdc)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_export(args: argparse.Namespace) -> int:
    filters = _analysis_filters(args)
    if args.format in ("csv", "xlsx"):
        filters.update(top_k=args.top_k, window=args.window, within=args.within)
    elif filters:
        print("warning: filters apply to csv and xlsx exports only", file=sys.stderr)
        filters = {}
    if args.deidentified:
        filters["deidentified"] = True
    with open_project(args) as project, progress_bar(args, "export") as bar:
        out = project.analysis.export(args.format, args.out, progress=bar, **filters)
    emit(args, {"out": str(out), "format": args.format}, f"{args.format} written to {out}")
    return 0
