"""``qual-nlp memo``: its arguments, and adding, listing and searching memos through the
facade (``project.memos``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from qual_nlp.commands.common import emit, open_project

__all__ = ["cmd_memo", "memo_arguments", "passage", "run"]


def passage(value: str) -> Any:
    """``DOCUMENT:START-END`` → a passage link (the document name may hold colons)."""
    from qual_nlp.records import MemoLink

    name, _, span = value.rpartition(":")
    start, _, end = span.partition("-")
    if not name or not start.isdigit() or not end.isdigit():
        raise argparse.ArgumentTypeError(
            f"{value!r}: write a passage as DOCUMENT:START-END, e.g. C01_NCM.txt:120-245"
        )
    return MemoLink("passage", name, int(start), int(end))


def memo_arguments(p: argparse.ArgumentParser) -> None:
    """The ``memo`` command's arguments (after PROJECT)."""
    p.add_argument("action", choices=["add", "list", "search"])
    p.add_argument("words", nargs="*", metavar="WORDS", help="with 'search': what to look for")
    p.add_argument("--title", help="with 'add': the memo's title")
    p.add_argument("--text", help="with 'add': the memo's text")
    p.add_argument("--text-file", metavar="FILE", help="with 'add': read the text from a file")
    p.add_argument("--author", help="with 'add' in solo mode: who wrote it (default: system)")
    p.add_argument("--code", action="append", metavar="PATH", help="link a code (repeatable)")
    p.add_argument("--document", action="append", metavar="NAME", help="link a document")
    p.add_argument("--case", action="append", metavar="NAME", help="link a case")
    p.add_argument(
        "--passage",
        action="append",
        type=passage,
        metavar="DOC:START-END",
        help="link a passage by character offsets (repeatable)",
    )
    p.add_argument("--in-document", dest="document_filter", help="list/search: memos on it")
    p.add_argument("--in-case", dest="case_filter", help="list/search: memos on this case")
    p.add_argument("--on-code", dest="code_filter", help="list/search: memos on this code")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def run(project: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Carry out ``args.action`` on ``project``; (JSON payload, text) to print."""
    from qual_nlp.records import MemoLink

    if args.action == "add":
        text = args.text or ""
        if args.text_file:
            text = Path(args.text_file).read_text(encoding="utf-8")
        links = [
            *(MemoLink("code", c) for c in args.code or ()),
            *(MemoLink("document", d) for d in args.document or ()),
            *(MemoLink("case", c) for c in args.case or ()),
            *(args.passage or ()),
        ]
        memo_id = project.memos.add(args.title or "", text, links=links, author=args.author)
        memo = project.memos.get(memo_id)
        return as_json(memo), f"memo {memo_id} added: {memo.title} ({memo.scope})"
    search = " ".join(args.words or ())
    memos = project.memos.find(
        search, document=args.document_filter, code=args.code_filter, case=args.case_filter
    )
    lines = [
        f"{m.id}\t{m.updated_at}\t{m.author}\t{m.title}\t{m.scope}"
        + ("".join(f"\n\t{x.label()}" for x in m.links))
        for m in memos
    ]
    text = "\n".join(lines) if lines else "no memos" + (f" matching {search!r}" if search else "")
    return {"memos": [as_json(m) for m in memos]}, text


def cmd_memo(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        payload, text = run(project, args)
    emit(args, payload, text)
    return 0


def as_json(memo: Any) -> dict[str, Any]:
    return {
        "id": memo.id,
        "title": memo.title,
        "text": memo.text,
        "author": memo.author,
        "scope": memo.scope,
        "links": [
            {"kind": x.kind, "target": x.target, "start": x.start, "end": x.end} for x in memo.links
        ],
        "created_at": memo.created_at,
        "updated_at": memo.updated_at,
    }
