"""Importing a batch of files into a project: metadata, parsing, segmentation, storage.

Each file is parsed, segmented and stored on its own, in its own transaction:
a bad file gets an :class:`~qual_nlp.records.ImportOutcome` with status
``failed`` and a message naming the file and the fix, and the rest of the batch
goes on. A file whose bytes are already in the project (same sha256) is
``unchanged``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qual_nlp.errors import ImportFileError, QualNLPError, ValidationError
from qual_nlp.ingest.language import detect_language, normalise_language
from qual_nlp.records import Document, ImportOutcome, ParsedDocument

SOURCE_TYPES = ("interview", "focus_group", "field_notes", "document", "other")
#: Columns of a metadata CSV with a meaning of their own; the others are attributes.
RESERVED = ("file", "case", "source_type", "participant_roles", "language")
IGNORED_NAMES = {"meta.csv", "cases.csv", "readme.md", "license", "license.md"}


@dataclass(frozen=True)
class FileMeta:
    """Metadata for one file, from the command line and/or a metadata CSV."""

    case: str | None = None
    source_type: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # speaker label → role
    language: str | None = None  # ISO 639-1, from the metadata CSV's language column
    role: str | None = None  # a bare role: every non-interviewer speaker of the file


@dataclass(frozen=True)
class Metadata:
    """A parsed metadata CSV: per-file rows and case attributes derived from them."""

    files: dict[str, FileMeta]
    case_attributes: dict[str, dict[str, str]]

    def for_file(self, path: Path) -> FileMeta | None:
        return self.files.get(path.name) or self.files.get(str(path))


def parse_roles(text: str, source: str = "") -> dict[str, str]:
    """Parse ``"Interviewer=interviewer;NCM=nurse case manager"`` into a mapping.

    >>> parse_roles("INT=interviewer; P07=patient")
    {'INT': 'interviewer', 'P07': 'patient'}
    """
    roles: dict[str, str] = {}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise ImportFileError(
                source,
                f"participant_roles entry {part.strip()!r} is not LABEL=role",
                "Write entries like 'P07=patient;INT=interviewer', or the role alone "
                "('nurse case manager') for every participant of the file",
            )
        label, role = part.split("=", 1)
        roles[label.strip()] = role.strip()
    return roles


def parse_role_cell(text: str, source: str = "") -> tuple[dict[str, str], str | None]:
    """A ``participant_roles`` cell: ``LABEL=role`` entries, or one bare role.

    A bare role (no ``=`` anywhere: how one-participant interviews are often
    described) is returned second; the importer gives it to every speaker of the
    file who is not an interviewer.

    >>> parse_role_cell("INT=interviewer;P07=patient")
    ({'INT': 'interviewer', 'P07': 'patient'}, None)
    >>> parse_role_cell(" nurse case manager ")
    ({}, 'nurse case manager')
    """
    text = (text or "").strip().strip(";").strip()
    if text and "=" not in text:
        return {}, text
    return parse_roles(text, source), None


def read_csv_text(path: str | Path, what: str) -> str:
    """The text of a CSV a spreadsheet wrote: UTF-8 (with or without BOM), else cp1252
    (what Excel saves on Windows); an unreadable file names ``what`` it was meant to be."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(
            str(path), f"cannot read the {what} ({exc})", "Check the path"
        ) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_metadata(path: str | Path) -> Metadata:
    """Read a metadata CSV (columns: file, case, source_type, attributes…).

    Attribute columns whose value is the same on every row of a case (province,
    rurality, …) also become attributes of that case.
    """
    path = Path(path)
    text = read_csv_text(path, "metadata file")
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or "file" not in (rows[0].keys() if rows else ()):
        raise ImportFileError(
            str(path),
            "the metadata CSV has no 'file' column (or no rows)",
            "Give it a header row: file,case,source_type,<attributes…>",
        )
    files: dict[str, FileMeta] = {}
    per_case: dict[str, list[dict[str, str]]] = {}
    for number, row in enumerate(rows, start=2):
        name = (row.get("file") or "").strip()
        if not name:
            continue
        source_type = (row.get("source_type") or "").strip() or None
        if source_type and source_type not in SOURCE_TYPES:
            raise ImportFileError(
                str(path),
                f"line {number}: source_type {source_type!r} is not one of {SOURCE_TYPES}",
                "Correct the value in the CSV",
            )
        attributes = {
            k.strip(): (v or "").strip()
            for k, v in row.items()
            if k and k not in RESERVED and (v or "").strip()
        }
        case = (row.get("case") or "").strip() or None
        language = (row.get("language") or "").strip()
        try:
            language = normalise_language(language) if language else ""
        except ValidationError as exc:
            raise ImportFileError(
                str(path), f"line {number}: {exc}", "Correct the value in the CSV"
            ) from None
        roles, bare_role = _row_roles(row, attributes, f"{path} line {number}")
        files[name] = FileMeta(case, source_type, attributes, roles, language or None, bare_role)
        if case:
            per_case.setdefault(case, []).append(attributes)
    case_attributes: dict[str, dict[str, str]] = {}
    for case, attribute_rows in per_case.items():
        keys = set().union(*attribute_rows)
        case_attributes[case] = {
            k: attribute_rows[0][k]
            for k in sorted(keys)
            if all(k in r for r in attribute_rows)
            and len({r[k] for r in attribute_rows}) == 1
            and len(attribute_rows) > 1
        }
    return Metadata(files, case_attributes)


def _row_roles(
    row: dict[str, str], attributes: dict[str, str], source: str
) -> tuple[dict[str, str], str | None]:
    """Speaker roles of a metadata row: ``participant_roles`` (mapping or bare role), and
    ``LABEL=role`` entries written in a ``participant_role`` column (moved out of the
    attributes); a bare ``participant_role`` stays the document's attribute."""
    roles, bare = parse_role_cell(row.get("participant_roles") or "", source)
    single = attributes.get("participant_role", "")
    if "=" in single:
        extra, extra_bare = parse_role_cell(single, source)
        roles = {**extra, **roles}
        bare = bare or extra_bare
        attributes.pop("participant_role")
    return roles, bare


def expand_paths(
    paths: Iterable[str | Path], suffixes: Sequence[str]
) -> Iterator[tuple[Path, bool]]:
    """Files to import: explicit files as given, folders walked for supported suffixes.

    Yields ``(path, explicit)``; files met while walking a folder whose suffix is
    not supported are skipped quietly, explicit ones are reported by the importer.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                parts = child.relative_to(path).parts
                if any(p.startswith((".", "_")) for p in parts) or not child.is_file():
                    continue
                if child.name.lower() in IGNORED_NAMES:
                    continue
                if child.suffix.lower() in suffixes:
                    yield child, False
        else:
            yield path, True


def default_source_type(parsed: ParsedDocument) -> str:
    if parsed.has_speakers:
        speakers = {t.speaker for t in parsed.turns if t.speaker}
        return "focus_group" if len(speakers) > 3 else "interview"
    return "field_notes"


@dataclass
class ImportPlan:
    """One parsed file waiting to be segmented and stored."""

    path: Path
    parsed: ParsedDocument
    document: Document
    roles: dict[str, str]
    case_attributes: dict[str, Any]


def plan_file(
    path: Path,
    *,
    case: str | None,
    source_type: str | None,
    metadata: Metadata | None,
    known_sha256: Callable[[str], str | None],
    max_bytes: int,
) -> ImportPlan | ImportOutcome:
    """Parse one file and decide how to store it (or why not)."""
    from qual_nlp.ingest import formats as importers

    if not path.exists():
        return ImportOutcome(str(path), "failed", message=f"{path}: no such file. Check the path.")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImportFileError(
                str(path),
                f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
                "Split it, or raise the limit with --max-mb",
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        existing = known_sha256(digest)
        if existing is not None:
            return ImportOutcome(
                str(path),
                "unchanged",
                document=existing,
                message=f"{path.name}: already imported as {existing!r} (same content); skipped",
            )
        parsed = importers.parse_file(path, max_bytes=max_bytes)
    except QualNLPError as exc:
        return ImportOutcome(str(path), "failed", message=str(exc))
    except Exception as exc:  # a parser bug must not stop the batch
        return ImportOutcome(
            str(path),
            "failed",
            message=f"{path}: could not be read ({type(exc).__name__}: {exc}). "
            "Check the file opens in its own program; convert it to .txt or .docx if not.",
        )
    meta = metadata.for_file(path) if metadata else None
    meta = meta or FileMeta()
    chosen_case = case or meta.case
    language = meta.language or detect_language(parsed.text)
    found = {"language": language, "language_from": "metadata" if meta.language else "detected"}
    doc = Document(
        name=path.name,
        text=parsed.text,
        source_type=source_type or meta.source_type or default_source_type(parsed),
        case=chosen_case,
        sha256=digest,
        source_format=parsed.source_format,
        metadata={
            **meta.attributes,
            "path": str(path),
            "encoding": parsed.encoding,
            **(found if language else {}),
        },
    )
    roles = dict(meta.roles)
    main_role = meta.attributes.get("participant_role")
    speakers = list(dict.fromkeys(t.speaker for t in parsed.turns if t.speaker))
    if meta.role:
        given = [s for s in speakers if s not in roles and not importers.is_interviewer_label(s)]
        roles.update({s: meta.role for s in given})
        who = ", ".join(given) if given else "no speaker (none was found besides interviewers)"
        warning = (
            f"{path.name}: participant_roles holds the role {meta.role!r} without a speaker "
            f"label; it was given to {who}. Write LABEL=role entries (e.g. "
            f"'P07={meta.role}') to say who is who."
        )
        parsed = replace(parsed, warnings=(*parsed.warnings, warning))
    if main_role:
        others = [s for s in speakers if s not in roles and not importers.is_interviewer_label(s)]
        # an interview's one respondent, or every unmapped member of a focus group
        if len(others) == 1 or doc.source_type == "focus_group":
            roles.update({s: main_role for s in others})
    attrs = metadata.case_attributes.get(chosen_case, {}) if metadata and chosen_case else {}
    return ImportPlan(path, parsed, doc, roles, dict(attrs))


def interviewers(plan: ImportPlan) -> set[str]:
    """Speaker labels of the interviewers in a planned document."""
    from qual_nlp.ingest.formats import is_interviewer_label

    found = set()
    for turn in plan.parsed.turns:
        if not turn.speaker:
            continue
        role = plan.roles.get(turn.speaker, "")
        if role.lower() in ("interviewer", "moderator", "facilitator") or (
            not role and is_interviewer_label(turn.speaker)
        ):
            found.add(turn.speaker)
    return found


def with_warnings(outcome: ImportOutcome, plan: ImportPlan) -> ImportOutcome:
    return replace(outcome, warnings=tuple(plan.parsed.warnings))


@dataclass(frozen=True)
class QuoteCoding:
    """A coding given by quoting the coded passage (the codings CSV format)."""

    document: str
    quote: str
    code: str
    coder: str
    role: str = "analyst"
    memo: str = ""


CODINGS_COLUMNS = ("document", "quote", "code", "coder")


def read_codings_csv(path: str | Path) -> list[QuoteCoding]:
    """Read a codings CSV: ``document,quote,code,coder[,role][,memo]``.

    ``quote`` is a passage copied from the document (whitespace may differ);
    ``code`` a code path such as ``valence/barrier``.
    """
    path = Path(path)
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines(keepends=False))
    missing = [c for c in CODINGS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFileError(
            str(path),
            f"the codings CSV lacks the columns {missing}",
            "Give it a header row: document,quote,code,coder,role,memo",
        )
    out = []
    for number, row in enumerate(reader, start=2):
        values = {k: (row.get(k) or "").strip() for k in (*CODINGS_COLUMNS, "role", "memo")}
        if not all(values[k] for k in CODINGS_COLUMNS):
            raise ImportFileError(
                str(path),
                f"line {number} has an empty document, quote, code or coder",
                "Fill it in",
            )
        out.append(
            QuoteCoding(
                values["document"],
                values["quote"],
                values["code"],
                values["coder"],
                values["role"] or "analyst",
                values["memo"],
            )
        )
    return out


def locate_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Character span of ``quote`` in ``text``, tolerant of differing white space.

    >>> locate_quote("She said:  I feel\\nsupported. Yes.", "I feel supported.")
    (11, 28)
    """
    import re

    found = text.find(quote)
    if found >= 0:
        return found, found + len(quote)
    words = quote.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None
