"""``qual-nlp``: a thin command line over :class:`qual_nlp.project.Project`.

Each command parses its options, calls the library and prints the result; with
``--json`` it prints exactly one JSON document on stdout. Exit status: 0 on
success, 1 when some input failed (the rest was still processed), 2 on usage or
project errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from qual_nlp import __version__
from qual_nlp.errors import QualNLPError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        COMMANDS[name] = func
        return func

    return register


def emit(args: argparse.Namespace, payload: Any, text: str | None = None) -> None:
    """Print ``payload`` as one JSON document under --json, else ``text``."""
    if getattr(args, "json", False):
        json.dump(payload, sys.stdout, ensure_ascii=False, default=_jsonable)
        sys.stdout.write("\n")
    elif text is not None:
        print(text)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _project(args: argparse.Namespace, create: bool = False) -> Any:
    from qual_nlp.project import Project

    return Project.open(args.project, create=create)


def _progress(args: argparse.Namespace) -> Any:
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return lambda total: tqdm(total=total, unit="file", file=sys.stderr, leave=False)


# ---------------------------------------------------------------- commands
@command("init")
def cmd_init(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    with Project.init(args.project, codebook=args.codebook) as project:
        cb = project.codebook()
        emit(
            args,
            {"project": project.location, "codebook": cb.name, "codes": len(cb.codes)},
            f"Project ready at {args.project} (codebook {cb.name}, {len(cb.codes)} codes)",
        )
    return 0


@command("import")
def cmd_import(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    def show(outcome: Any) -> None:
        if outcome.status == "failed" and not args.json:
            print(f"error: {outcome.message}", file=sys.stderr)
        for warning in outcome.warnings:
            if not args.json:
                print(f"warning: {outcome.path}: {warning}", file=sys.stderr)

    with Project.init(args.project) as project:
        if args.cases:
            project.import_cases(args.cases)
        outcomes = project.import_files(
            args.paths,
            case=args.case,
            source_type=args.source_type,
            meta=args.meta,
            max_bytes=int(args.max_mb * 1_000_000),
            progress=_progress(args),
            on_outcome=show,
        )
    tally = {s: sum(o.status == s for o in outcomes) for s in ("imported", "unchanged", "failed")}
    segments = sum(o.segments for o in outcomes)
    for outcome in outcomes:
        if outcome.status == "unchanged" and not args.json:
            print(outcome.message)
    summary = (
        f"{tally['imported']} imported ({segments} segments), {tally['unchanged']} unchanged, "
        f"{tally['failed']} failed"
    )
    payload = {
        "summary": tally | {"segments": segments},
        "files": [o.__dict__ | {"warnings": list(o.warnings)} for o in outcomes],
    }
    emit(args, payload, summary)
    return 1 if tally["failed"] else 0


@command("segments")
def cmd_segments(args: argparse.Namespace) -> int:
    with _project(args) as project:
        if args.csv:
            frame = project.segments()
            frame.to_csv(args.csv, index=False)
            if not args.json:
                print(f"{len(frame)} segments written to {args.csv}")
        report = project.segments_report() if args.json or not args.csv else None
    if args.json:
        emit(args, {"segments": report})
    elif report is not None:
        for seg in report:
            who = seg["speaker"] or "-"
            codes = ", ".join(c["code"] for c in seg["codings"] if c["status"] != "rejected")
            print(f"{seg['id']}\t{seg['document']}\t{seg['start']}-{seg['end']}\t{who}\t{codes}")
    return 0


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qual-nlp",
        description="NLP-assisted qualitative analysis of interview transcripts and field notes.",
    )
    parser.add_argument("--version", action="version", version=f"qual-nlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, project: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if project:
            p.add_argument(
                "project", metavar="PROJECT", help="project file (SQLite) or database URL"
            )
        return p

    p = add("init", "Create a project with a codebook.")
    p.add_argument(
        "--codebook",
        default="cm-implementation",
        help="built-in codebook name or a YAML codebook file (default: cm-implementation)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("import", "Import transcripts and field notes (files or folders).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to import")
    p.add_argument("--case", help="case (e.g. clinic C03) for every file")
    p.add_argument("--source-type", help="interview | focus_group | field_notes | document | other")
    p.add_argument("--meta", help="metadata CSV: file,case,source_type,<attributes…>")
    p.add_argument("--cases", help="case CSV: case,<attributes and case-level numbers…>")
    p.add_argument("--max-mb", type=float, default=50.0, help="largest file accepted, in MB")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("segments", "List every segment with offsets, speaker, case and codings.")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--csv", metavar="FILE", help="write the segments to a CSV file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except QualNLPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return 0
