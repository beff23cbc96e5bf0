"""Build the sample corpus's .docx files from their plain-text sources.

Each ``scripts/sample_docx/<name>.txt`` becomes ``corpora_samples/<name>.docx``:

* a line ``# Title`` becomes a heading;
* a line ``Name: words`` becomes a paragraph whose speaker prefix is bold
  (as transcription services deliver them);
* a line ``| a | b | c |`` starts (or continues) a table, read row by row;
* any other non-empty line is a plain paragraph (field notes).

The output is deterministic (fixed core properties), so rebuilding changes no
byte unless a source changed. Run: ``python scripts/build_sample_docx.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "sample_docx"
TARGET = ROOT / "corpora_samples"
SPEAKER = re.compile(r"^([A-ZÀ-Ý][\w.'’ -]{0,40}?):\s+(.*)$")
FIXED = dt.datetime(2024, 3, 1, 9, 0, 0)


def build(source: Path, target: Path) -> None:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.author = "Research coordinator"
    props.created = FIXED
    props.modified = FIXED
    props.last_modified_by = "Research coordinator"
    props.revision = 1
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if not table_rows:
            return
        width = max(len(r) for r in table_rows)
        table = document.add_table(rows=len(table_rows), cols=width)
        for i, row in enumerate(table_rows):
            for j, cell in enumerate(row):
                table.cell(i, j).text = cell
        table_rows.clear()

    for line in source.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # markdown separator row
            table_rows.append(cells)
            continue
        flush_table()
        if not stripped:
            continue
        if stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            document.add_heading(stripped.lstrip("#").strip(), level=min(level, 3))
            continue
        match = SPEAKER.match(stripped)
        paragraph = document.add_paragraph()
        if match:
            paragraph.add_run(match.group(1) + ":").bold = True
            paragraph.add_run(" " + match.group(2))
        else:
            paragraph.add_run(stripped)
    flush_table()
    document.save(str(target))


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in SOURCES.glob("*.txt"))
    for name in names:
        build(SOURCES / f"{name}.txt", TARGET / f"{name}.docx")
        print(f"built corpora_samples/{name}.docx")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
