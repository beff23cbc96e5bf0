"""``qual-nlp deid``: detect identifiers, review them and keep the project dictionary.

One command over ``project.deid``: dictionary edits first (``--always``, ``--never``,
``--forget``), then detection (incremental: only documents not processed yet, changed, or
all of them when the dictionary changed), then the review (``--accept``, ``--reject``,
``--add``, ``--add-text``, ``--accept-all``), then ``--list``.
"""

from __future__ import annotations

import argparse
from typing import Any

from qual_nlp.commands.common import emit, open_project
from qual_nlp.records import DEID_KINDS, DEID_STATUSES


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``qual-nlp deid``."""
    p.add_argument(
        "--language",
        default="auto",
        choices=["auto", "en", "fr"],
        help="pipeline to use (default auto: the metadata's language, else detected)",
    )
    p.add_argument(
        "--accept-all", action="store_true", help="accept every detection still suggested"
    )
    p.add_argument("--list", action="store_true", help="list the detections with their ids")
    p.add_argument("--status", choices=DEID_STATUSES, help="with --list: only this status")
    p.add_argument("--document", help="with --list: only this document")
    p.add_argument("--accept", nargs="+", type=int, default=[], metavar="ID", help="accept ids")
    p.add_argument("--reject", nargs="+", type=int, default=[], metavar="ID", help="reject ids")
    p.add_argument(
        "--add",
        nargs=3,
        action="append",
        default=[],
        metavar=("DOCUMENT", "START", "END"),
        help="mark characters START..END of DOCUMENT as an identifier (of --kind)",
    )
    p.add_argument(
        "--add-text",
        nargs=2,
        action="append",
        default=[],
        metavar=("DOCUMENT", "TEXT"),
        help="mark every occurrence of TEXT in DOCUMENT as an identifier (of --kind)",
    )
    p.add_argument(
        "--always",
        action="append",
        default=[],
        metavar="TERM",
        help="dictionary: a name always caught, as --kind (e.g. clinic staff, local places)",
    )
    p.add_argument(
        "--never",
        action="append",
        default=[],
        metavar="TERM",
        help="dictionary: a term never caught (a role word, a drug name)",
    )
    p.add_argument(
        "--forget", action="append", default=[], metavar="TERM", help="remove a dictionary term"
    )
    p.add_argument(
        "--kind", default="PERSON", choices=DEID_KINDS, help="kind for --add, --add-text, --always"
    )
    p.add_argument(
        "--non-leads",
        choices=["deidentified", "original"],
        help="the setting: what text analysts, investigators and viewers may see (default: "
        "original; patient partners always get de-identified text)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def run(project: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Do what the options ask; returns the JSON payload and the text to print."""
    deid = project.deid
    for term in args.always:
        deid.add_term(term, "always", args.kind)
    for term in args.never:
        deid.add_term(term, "never")
    for term in args.forget:
        deid.remove_term(term, "always")
        deid.remove_term(term, "never")
    if args.non_leads:
        deid.set_required(args.non_leads == "deidentified")
    result = deid.run(language=args.language)
    changed = {
        "accepted": deid.accept(args.accept) if args.accept else 0,
        "rejected": deid.reject(args.reject) if args.reject else 0,
        "added": [deid.add_span(d, int(s), int(e), args.kind) for d, s, e in args.add]
        + [i for d, text in args.add_text for i in deid.add_text(d, text, args.kind)],
    }
    if args.accept_all:
        changed["accepted"] += deid.accept_all()
    counts = deid.run(language=args.language)  # counts after the review
    result.update(by_kind=counts["by_kind"], by_status=counts["by_status"], **changed)
    result["non_leads_see"] = "deidentified" if deid.required else "original"
    lines = [
        f"{result['documents']} documents processed, {result['skipped']} unchanged; "
        f"{result['detections']} new detections",
        "by kind: " + ", ".join(f"{k} {n}" for k, n in result["by_kind"].items()),
        "by status: " + ", ".join(f"{k} {n}" for k, n in result["by_status"].items()),
    ]
    if args.list:
        statuses = [args.status] if args.status else None
        frame = deid.frame(args.document, statuses)
        result["list"] = frame.drop(columns=["before", "after"]).to_dict("records")
        lines += [
            f"{r.id}\t{r.status}\t{r.kind}\t{r.document}\t{r.start}-{r.end}\t{r.text}"
            for r in frame.itertuples()
        ]
    return result, "\n".join(lines)


def cmd_deid(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        payload, text = run(project, args)
    emit(args, payload, text)
    return 0
