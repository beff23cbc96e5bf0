"""``qual-nlp init``, ``import``, ``segments`` and ``import-taguette``: making a project and
bringing transcripts, field notes and another tool's codings into it, and listing the
segments they were cut into."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from qual_nlp.commands import accounts
from qual_nlp.commands.common import (
    batch_arguments,
    batch_options,
    emit,
    encoder_options,
    open_project,
    progress_bar,
)

__all__ = [
    "cmd_import",
    "cmd_import_taguette",
    "cmd_init",
    "cmd_segments",
    "import_arguments",
    "import_counts",
    "init_arguments",
    "segments_arguments",
    "taguette_arguments",
]


def init_arguments(p: argparse.ArgumentParser) -> None:
    """The ``init`` command's arguments (after PROJECT)."""
    p.add_argument(
        "--codebook",
        default="cm-implementation",
        help="built-in codebook name, or a codebook file: YAML (.yaml), REFI-QDA (.qdc) or "
        "Taguette's codebook CSV (.csv) (default: cm-implementation)",
    )
    encoder_options(p, "; recorded in the project")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_init(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    with accounts.signed_in(
        args,
        Project.init(
            args.project, codebook=args.codebook, encoder=args.encoder, backend=args.backend
        ),
    ) as project:
        cb = project.codebook()
        encoder, backend = project.model.encoder()
        emit(
            args,
            {
                "project": project.location,
                "codebook": cb.name,
                "codes": len(cb.codes),
                "encoder": encoder,
                "backend": backend,
            },
            f"Project ready at {_shown(args.project, project)} (codebook {cb.name}, {len(cb.codes)} codes; "
            f"encoder {encoder} through {backend})",
        )
    return 0


def _shown(given: str, project: Any) -> str:
    """The project as the user named it; a database URL with its password hidden."""
    return str(project.location) if "://" in given else given


def import_arguments(p: argparse.ArgumentParser) -> None:
    """The ``import`` command's arguments (after PROJECT)."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to import")
    p.add_argument("--case", help="case (e.g. clinic C03) for every file")
    p.add_argument("--source-type", help="interview | focus_group | field_notes | document | other")
    p.add_argument("--meta", help="metadata CSV: file,case,source_type,<attributes…>")
    p.add_argument("--cases", help="case CSV: case,<attributes and case-level numbers…>")
    p.add_argument("--max-mb", type=float, default=50.0, help="largest file accepted, in MB")
    batch_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_import(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    def show(outcome: Any) -> None:
        if outcome.status == "failed" and not args.json:
            print(f"error: {outcome.message}", file=sys.stderr)
        for warning in outcome.warnings:
            if not args.json:
                print(f"warning: {warning}", file=sys.stderr)

    with (
        accounts.signed_in(args, Project.init(args.project)) as project,
        progress_bar(args, "import", "file") as bar,
    ):
        if args.cases:
            project.import_cases(args.cases)
        outcomes = project.import_files(
            args.paths,
            case=args.case,
            source_type=args.source_type,
            meta=args.meta,
            max_bytes=int(args.max_mb * 1_000_000),
            progress=bar,
            on_outcome=show,
            **batch_options(args),
        )
    tally = {s: sum(o.status == s for o in outcomes) for s in ("imported", "unchanged", "failed")}
    added = import_counts(outcomes)
    for outcome in outcomes:
        if outcome.status == "unchanged" and not args.json:
            print(outcome.message)
    summary = (
        f"{tally['imported']} imported ({_count_text(added)}), {tally['unchanged']} unchanged, "
        f"{tally['failed']} failed"
    )
    payload = {
        "summary": tally | added,
        "files": [o.__dict__ | {"warnings": list(o.warnings)} for o in outcomes],
    }
    emit(args, payload, summary)
    return 1 if tally["failed"] else 0


def import_counts(outcomes: Sequence[Any]) -> dict[str, int]:
    """What a batch added: documents and segments, and codings and codes from projects."""
    imported = [o for o in outcomes if o.status == "imported"]
    return {
        "documents": sum(1 if o.documents is None else o.documents for o in imported),
        "segments": sum(o.segments for o in imported),
        "codings": sum(o.codings for o in imported),
        "codes": sum(o.codes for o in imported),
    }


def _count_text(counts: dict[str, int]) -> str:
    """``28 documents, 1164 segments, 3314 codings, 52 codes`` (codings and codes if any)."""
    shown = [
        k
        for k in ("documents", "segments", "codings", "codes")
        if counts[k] or k in ("documents", "segments")
    ]
    return ", ".join(f"{counts[k]:,} {k if counts[k] != 1 else k[:-1]}" for k in shown)


def segments_arguments(p: argparse.ArgumentParser) -> None:
    """The ``segments`` command's arguments (after PROJECT)."""
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--csv", metavar="FILE", help="write the segments to a CSV file")
    p.add_argument(
        "--deidentified", action="store_true", help="pseudonymised text, speakers and offsets"
    )


def cmd_segments(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        view = project.deid if args.deidentified else project
        if args.csv:
            from qual_nlp.analysis.workbook import write_csv

            frame = view.segments()
            write_csv(args.csv, frame)  # formula-like cells guarded
            if not args.json:
                print(f"{len(frame)} segments written to {args.csv}")
        report = view.segments_report() if args.json or not args.csv else None
    if args.json:
        emit(args, {"segments": report})
    elif report is not None:
        if not report:
            print(
                f"{args.project} has no segments yet: import transcripts with "
                f"'qual-nlp import {args.project} FOLDER'",
                file=sys.stderr,
            )
        for seg in report:
            who = seg["speaker"] or "-"
            # each code once, however many coders (or the model) gave it
            codes = ", ".join(
                dict.fromkeys(c["code"] for c in seg["codings"] if c["status"] != "rejected")
            )
            print(f"{seg['id']}\t{seg['document']}\t{seg['start']}-{seg['end']}\t{who}\t{codes}")
    return 0


def taguette_arguments(p: argparse.ArgumentParser) -> None:
    """The ``import-taguette`` command's arguments (after PROJECT)."""
    p.add_argument("--highlights", help="Taguette's highlights CSV (id,document,tag,content)")
    p.add_argument("--codebook", help="Taguette's codebook CSV (tag,description)")
    p.add_argument(
        "--coder", default="taguette", help="coder of the highlights (default: taguette)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_import_taguette(args: argparse.Namespace) -> int:
    if not (args.highlights or args.codebook):
        print("error: give --highlights FILE, --codebook FILE or both", file=sys.stderr)
        return 2
    with open_project(args) as project:
        counts = project.import_taguette(args.highlights, codebook=args.codebook, coder=args.coder)
    text = f"{counts['codes']} new codes, {counts['codings']} codings from {counts['highlights']} highlights"
    emit(args, counts, text)
    if not args.json:
        if counts.get("quotes_not_found"):
            print(
                f"warning: {counts['quotes_not_found']} highlights were not found in their "
                "document's text (was the transcript edited after coding?)",
                file=sys.stderr,
            )
        for name in counts.get("documents_not_found", []):
            print(
                f"warning: document {name!r} is not in the project; import its transcript, "
                "then run this again",
                file=sys.stderr,
            )
    return 1 if counts.get("documents_not_found") else 0
