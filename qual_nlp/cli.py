"""``qual-nlp``: a thin command line over :class:`qual_nlp.project.Project`.

Each command parses its options, calls the library and prints the result; with
``--json`` it prints exactly one JSON document on stdout. Exit status: 0 on
success, 1 when some input failed (the rest was still processed), 2 on usage or
project errors.

This module is the entry: the table of commands (name, help, options, handler), the
parser built from it, and :func:`main`. The handlers and their options live in
:mod:`qual_nlp.commands` (``corpus``, ``model``, ``finetune``, ``analysis``, ``deid``,
``memos``, ``accounts``, ``app``), with what they share in ``commands.common``; ``serve``,
which starts the HTTP API (:mod:`qual_nlp.api`), is the one command defined here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from qual_nlp import __version__
from qual_nlp.commands import accounts, analysis, app, corpus, deid, finetune, memos, model
from qual_nlp.commands.common import emit
from qual_nlp.commands.corpus import import_counts
from qual_nlp.errors import QualNLPError

__all__ = [
    "COMMANDS",
    "TABLE",
    "Command",
    "Handler",
    "build_parser",
    "emit",
    "import_counts",
    "main",
]

Handler = Callable[[argparse.Namespace], int]


class Command(NamedTuple):
    """One ``qual-nlp`` command: its name, its help line, the options it adds (after
    PROJECT and ``--user`` when it takes a project) and the function that runs it."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Handler
    project: bool = True


# ``serve`` lives here rather than in qual_nlp.commands: it starts qual_nlp.api, which the
# commands may not import (the two are independent; see docs/architecture.md)
def serve_arguments(p: argparse.ArgumentParser) -> None:
    """The ``serve`` command's arguments (after PROJECT)."""
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this computer only); another one, "
        "e.g. 0.0.0.0, needs a project with user accounts",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--max-mb", type=float, default=50.0, help="largest file accepted, in MB")
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1; e.g. one per core)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (default: info)",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    Project.open(args.project).close()  # a missing project fails here, with how to make it
    refused = accounts.refuse_open_host(str(args.project), args.host, what="API")
    if refused is not None:
        return refused
    from qual_nlp.api.server import run

    print(
        f"serving {args.project} on http://{args.host}:{args.port}/api/v1 "
        f"(OpenAPI: http://{args.host}:{args.port}/openapi.json)",
        file=sys.stderr,
    )
    run(
        args.project,
        host=args.host,
        port=args.port,
        max_upload_bytes=int(args.max_mb * 1_000_000),
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


# in the order ``qual-nlp --help`` lists them
TABLE: tuple[Command, ...] = (
    Command("init", "Create a project with a codebook.", corpus.init_arguments, corpus.cmd_init),
    Command(
        "import",
        "Import transcripts and field notes (files or folders).",
        corpus.import_arguments,
        corpus.cmd_import,
    ),
    Command(
        "segments",
        "List every segment with offsets, speaker, case and codings.",
        corpus.segments_arguments,
        corpus.cmd_segments,
    ),
    Command(
        "suggest",
        "Suggest codes for every segment (zero-shot, or the trained model).",
        model.suggest_arguments,
        model.cmd_suggest,
    ),
    Command(
        "train",
        "Train the model on reviewed segments, score it as a coder, re-suggest.",
        model.train_arguments,
        model.cmd_train,
    ),
    Command(
        "finetune",
        "Fine-tune the encoder on a facet's reviews; keep it where it beats the frozen one.",
        finetune.finetune_arguments,
        finetune.cmd_finetune,
    ),
    Command(
        "curve",
        "Learning curve of one facet on the reviewed segments: the queue's order vs random.",
        model.curve_arguments,
        model.cmd_curve,
    ),
    Command(
        "evaluate",
        "Train on one labelled CSV and score another.",
        model.evaluate_arguments,
        model.cmd_evaluate,
        project=False,
    ),
    Command(
        "matrix",
        "Write a theme x case (or x attribute) matrix to .csv or .xlsx.",
        analysis.matrix_arguments,
        analysis.cmd_matrix,
    ),
    Command(
        "agreement",
        "Inter-coder agreement: percent, Cohen's and Fleiss' kappa, Krippendorff's alpha.",
        analysis.agreement_arguments,
        analysis.cmd_agreement,
    ),
    Command(
        "export",
        "Export the project: csv (zip), xlsx, qdpx or qdc (REFI-QDA), or taguette (the "
        "codebook as a CSV Taguette imports).",
        analysis.export_arguments,
        analysis.cmd_export,
    ),
    Command(
        "deid",
        "De-identify: detect identifiers (names, phones, health cards, addresses, dates, "
        "places, organisations), review them, keep the project dictionary.",
        deid.configure,
        deid.cmd_deid,
    ),
    Command(
        "import-taguette",
        "Bring a Taguette project's codebook CSV and/or highlights CSV (import the "
        "transcripts first: highlights are found in them by their text).",
        corpus.taguette_arguments,
        corpus.cmd_import_taguette,
    ),
    Command(
        "bench",
        "Measure encoder, end-to-end and re-suggest throughput.",
        model.bench_arguments,
        model.cmd_bench,
        project=False,
    ),
    Command(
        "demo",
        "Build the sample project from corpora_samples/.",
        app.demo_arguments,
        app.cmd_demo,
        project=False,
    ),
    Command(
        "users",
        "Accounts: add NAME --role R, list, passwd NAME, disable|enable NAME, role NAME R, "
        "revoke NAME (every HTTP API token of NAME). "
        "Passwords come from a prompt or from stdin (twice), never from the command line.",
        accounts.users_arguments,
        accounts.cmd_users,
    ),
    Command(
        "memo",
        "Memos: add --title T [--text …] [--code/--document/--case/--passage …], list, "
        "search WORDS (title, text, author and links; ignoring case).",
        memos.memo_arguments,
        memos.cmd_memo,
    ),
    Command("app", "Open the Streamlit app.", app.app_arguments, app.cmd_app, project=False),
    Command(
        "serve",
        "Serve the HTTP API (/api/v1, OpenAPI at /openapi.json) with uvicorn.",
        serve_arguments,
        cmd_serve,
    ),
)

COMMANDS: dict[str, Handler] = {c.name: c.handler for c in TABLE}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qual-nlp",
        description="NLP-assisted qualitative analysis of interview transcripts and field notes.",
    )
    parser.add_argument("--version", action="version", version=f"qual-nlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in TABLE:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        if command.project:
            p.add_argument(
                "project", metavar="PROJECT", help="project file (SQLite) or database URL"
            )
            p.add_argument(
                "--user",
                help=f"who acts, in a project with accounts (or {accounts.USER_ENV}); the "
                f"password comes from the prompt, stdin, or {accounts.PASSWORD_ENV}",
            )
        command.arguments(p)
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
