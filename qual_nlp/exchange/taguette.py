"""Taguette's CSV files: its codebook (``tag,description``) and its highlights.

Taguette exports no REFI-QDA project, but it writes two CSV files a team can
bring over, and it imports a codebook CSV:

- the codebook (*Export codebook → CSV*): ``tag,description,number of highlights,
  number of documents``; Taguette's own import reads the ``tag`` (or ``name``, or
  ``path``) column and an optional ``description``;
- the highlights (*Highlights → all tags → CSV*): ``id,document,tag,content``, one row
  per highlight and tag, ``content`` the highlighted text. Some versions add
  ``tag_parent``, ``tag_full_path`` and ``tag_description`` before ``content``.

Taguette's tags are flat: they become the codes of one facet (``taguette`` unless
told otherwise). Highlights carry the highlighted text, not offsets, so the facade
finds each one in its document, as it does for a codings CSV.

>>> codebook = read_codebook_csv("codebook.csv")  # doctest: +SKIP
>>> [c.path for c in codebook.codes][:2]  # doctest: +SKIP
['taguette/barrier', 'taguette/facilitator']
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from qual_nlp.errors import ImportFileError
from qual_nlp.ingest.batch import read_csv_text
from qual_nlp.records import Code, Codebook, Facet

DEFAULT_FACET = "taguette"
#: What Taguette's codebook import reads (the first column present names the tag).
TAG_COLUMNS = ("tag", "name", "path")
HIGHLIGHT_COLUMNS = ("document", "tag", "content")


@dataclass(frozen=True)
class Highlight:
    """One row of a Taguette highlights CSV: a tag on a highlighted passage."""

    id: str
    document: str
    tag: str
    content: str
    line: int


def _rows(path: str | Path, what: str) -> tuple[list[str], list[list[str]]]:
    path = Path(path)
    text = read_csv_text(path, what)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ImportFileError(
            str(path), f"the {what} is not a readable CSV ({exc})", "Export it from Taguette again"
        ) from exc
    if not rows:
        raise ImportFileError(str(path), f"the {what} is empty", "Export it from Taguette again")
    return [h.strip().lower() for h in rows[0]], rows[1:]


def _slug(name: str) -> str:
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "tag"


def tag_ids(tags: list[str]) -> dict[str, str]:
    """A code id for each tag name: its slug, made unique.

    >>> tag_ids(["Barrier", "barrier!", "Cost & time"])
    {'Barrier': 'barrier', 'barrier!': 'barrier_2', 'Cost & time': 'cost_time'}
    """
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for tag in tags:
        base = _slug(tag)
        cid, n = base, 2
        while cid in taken:
            cid, n = f"{base}_{n}", n + 1
        taken.add(cid)
        ids[tag] = cid
    return ids


def read_codebook_csv(path: str | Path, facet: str = DEFAULT_FACET) -> Codebook:
    """A codebook from Taguette's codebook CSV: one code per tag, the description its
    definition (the tag itself when it has none: every code needs one to be suggested).

    Raises :class:`~qual_nlp.errors.ImportFileError` naming the file when the
    header has no ``tag`` column (nor ``name`` or ``path``) or a row has no tag.
    """
    header, rows = _rows(path, "Taguette codebook CSV")
    found = [c for c in TAG_COLUMNS if c in header]
    if not found:
        raise ImportFileError(
            str(path),
            f"a Taguette codebook CSV needs a 'tag' column but the header is {header}",
            "Export the codebook from Taguette (Export codebook → CSV), or write a header "
            "row 'tag,description'",
        )
    col = header.index(found[0])
    desc = header.index("description") if "description" in header else None
    tags: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        tag = row[col].strip() if col < len(row) else ""
        if not tag:
            raise ImportFileError(
                str(path), f"line {number} has no tag name", "Fill in the tag or delete the row"
            )
        description = row[desc].strip() if desc is not None and desc < len(row) else ""
        tags.setdefault(tag, description)
    if not tags:
        raise ImportFileError(
            str(path), "the Taguette codebook CSV lists no tag", "Export it from Taguette again"
        )
    ids = tag_ids(list(tags))
    codes = tuple(Code(ids[t], facet, t, definition=d or t) for t, d in tags.items())
    return Codebook(
        Path(path).stem,
        (Facet(facet, "Taguette tags", False, "Tags brought over from Taguette"),),
        codes,
    )


def read_highlights_csv(path: str | Path) -> list[Highlight]:
    """The rows of Taguette's highlights CSV that carry a tag (untagged rows are skipped)."""
    header, rows = _rows(path, "Taguette highlights CSV")
    missing = [c for c in HIGHLIGHT_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            str(path),
            f"a Taguette highlights CSV needs the columns id,document,tag,content; "
            f"{', '.join(missing)} missing from the header {header}",
            "Export the highlights from Taguette (Highlights → See all → Export → CSV)",
        )
    at = {c: header.index(c) for c in ("id", *HIGHLIGHT_COLUMNS) if c in header}
    out = []
    for number, row in enumerate(rows, start=2):
        cells = {c: (row[i] if i < len(row) else "") for c, i in at.items()}
        if not cells["tag"].strip() or not cells["content"].strip():
            continue
        out.append(
            Highlight(
                cells.get("id", "").strip(),
                cells["document"].strip(),
                cells["tag"].strip(),
                cells["content"],
                number,
            )
        )
    return out


def codebook_rows(codebook: Codebook) -> list[dict[str, str]]:
    """Rows of a codebook CSV Taguette imports: ``tag`` (the code's name, or
    ``facet name/code name`` when two codes share a name) and ``description``."""
    names = [c.name for c in codebook.codes]
    facets = {f.id: f.name for f in codebook.facets}
    rows = []
    for code in codebook.codes:
        tag = code.name if names.count(code.name) == 1 else f"{facets[code.facet]}/{code.name}"
        description = " ".join(
            p
            for p in (
                code.definition,
                f"Include: {code.inclusion}" if code.inclusion else "",
                f"Exclude: {code.exclusion}" if code.exclusion else "",
            )
            if p
        )
        rows.append({"tag": tag, "description": description})
    return rows
