"""Write REFI-QDA projects (.qdpx) that NVivo, ATLAS.ti, MAXQDA and QualCoder open.

What goes where (QDA-XML 1.0, REFI-QDA 1.5):

* the codebook → the project's ``CodeBook`` and a code ``Set``, laid out as
  :mod:`~qual_nlp.exchange.qdc` writes a .qdc (facets → top-level codes,
  ``Description`` ending in a ``qual_nlp:{json}`` line);
* documents → ``TextSource`` with ``plainTextPath="internal://<GUID>.txt"``; the text
  is shipped as ``sources/<GUID>.txt`` (UTF-8, no BOM, exactly ``Document.text``);
  ``imported_at`` becomes ``creationDateTime``, the case a ``SourceRef`` of its case;
  ``source_type``, ``source_format`` and metadata become the source's
  ``VariableValue``s;
* codings → one ``PlainTextSelection`` per span and coder (positions are code
  points, end exclusive, REFI-QDA 10.2; ``creatingUser`` is the coder, which is
  where QualCoder looks) holding one ``Coding`` per code, with ``creatingUser`` and
  ``creationDateTime`` (from ``created_at``); a coding with a status other than
  accepted, a score, a model version or a memo gets a ``NoteRef`` to a ``Note``
  whose text is the memo and whose ``Description`` carries status, score and
  model version (QDA-XML has no confidence field);
* memos → ``Note``s (title, text, author as ``creatingUser``, times; the links in the
  ``Description``'s marker): a project memo is referenced from the project's
  ``NoteRef``, a document memo from its ``TextSource``, a passage memo from a
  ``PlainTextSelection`` of that passage, and a memo about codes becomes a ``Set``
  ("Memo: title") with those codes as ``MemberCode`` and the note as ``MemberNote``;
* coders → ``Users`` (a model coder such as ``model:minilm-lr@3`` is a user of its own);
* rejected suggestions are not exported as codings (other programs would show them
  as coded text); they travel, with coder roles, in one project ``Note``
  ("qual_nlp data") that only our import reads;
* cases → ``Case`` with ``VariableValue``s and ``SourceRef``s to their documents;
  participants → one ``Case`` each (name = label, plus the case in brackets), with a
  ``participant_role`` variable and a marker that restores the participant.

GUIDs are uuid5 of the record's identity, so exporting twice gives the same GUIDs
(and the same bytes). Code GUIDs depend only on the codebook, so a codebook shared
by projects keeps its GUIDs in every export.

:func:`~qual_nlp.exchange.qdc.write_qdc` and :func:`~qual_nlp.exchange.qdc.codebook_xml`
are importable from here too.

>>> write_qdpx(snapshot, "study.qdpx")  # doctest: +SKIP
>>> write_qdc(snapshot.codebook, "cm-implementation.qdc")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
import uuid
import zipfile
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from qual_nlp.errors import ExchangeError
from qual_nlp.exchange.qda_xml import (
    _ROOT_NS,
    _SCHEMA_URL,
    PROJECT_NS,
    XSI,
    _guid,
    _serialise,
    _sub,
    _write_atomic,
    _x,
    origin,
    with_marker,
)
from qual_nlp.exchange.qdc import _codebook_set, _codes, codebook_xml, write_qdc
from qual_nlp.records import Coding, Document, Memo, ProjectSnapshot

_DATETIME = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _datetime(value: str) -> str | None:
    """An xsd:dateTime for an ISO 8601 string, or None if it has none."""
    if not value:
        return None
    if _DATETIME.match(value):
        return value
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float) and math.isfinite(value):
        return "Float"
    if isinstance(value, datetime):
        return "DateTime"
    if isinstance(value, date):
        return "Date"
    if isinstance(value, str):
        return "Text"
    return "Json"


class _Variables:
    """Collect variable values, choose one type per variable name, write values."""

    def __init__(self, space: uuid.UUID) -> None:
        self.space = space
        self.kinds: dict[str, set[str]] = defaultdict(set)

    def see(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if value is not None:
                self.kinds[name].add(_kind(value))

    def kind(self, name: str) -> str:
        kinds = self.kinds[name]
        return next(iter(kinds)) if len(kinds) == 1 else "Json"

    def guid(self, name: str) -> str:
        return _guid(self.space, f"variable:{name}")

    def definitions(self, root: etree._Element) -> None:
        if not self.kinds:
            return
        block = _sub(root, PROJECT_NS, "Variables")
        for name in self.kinds:
            kind = self.kind(name)
            var = _sub(
                block,
                PROJECT_NS,
                "Variable",
                guid=self.guid(name),
                name=name,
                typeOfVariable="Text" if kind == "Json" else kind,
            )
            if kind == "Json":
                note = "Values are JSON (mixed or structured types)."
                _sub(var, PROJECT_NS, "Description", with_marker(note, {"json": True}))

    def values(self, parent: etree._Element, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if value is None:
                continue
            kind = self.kind(name)
            vv = _sub(parent, PROJECT_NS, "VariableValue")
            _sub(vv, PROJECT_NS, "VariableRef", targetGUID=self.guid(name))
            if kind == "Json":
                text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
            elif kind == "Boolean":
                text = "true" if value else "false"
            elif kind == "Float":
                text = format(Decimal(repr(value)), "f")
            elif kind in ("Date", "DateTime"):
                text = value.isoformat()
            else:
                text = str(value)
            _sub(vv, PROJECT_NS, "TextValue" if kind == "Json" else f"{kind}Value", text)


# --------------------------------------------------------------------------
# Project
# --------------------------------------------------------------------------


def _preview(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _check_span(coding: Coding, docs: dict[str, Document]) -> None:
    doc = docs.get(coding.document)
    if doc is None:
        raise ExchangeError(
            f"coding of {coding.code!r} by {coding.coder!r} names document "
            f"{coding.document!r}, which the snapshot does not contain. Include the document"
        )
    if not 0 <= coding.start < coding.end <= len(doc.text):
        raise ExchangeError(
            f"coding of {coding.code!r} by {coding.coder!r} in {coding.document!r} spans "
            f"{coding.start}..{coding.end}, outside the document's {len(doc.text)} characters "
            "(or empty). Fix or drop the coding"
        )


def _document_values(doc: Document) -> dict[str, Any]:
    return {"source_type": doc.source_type, "source_format": doc.source_format, **doc.metadata}


class _ProjectWriter:
    """Build project.qde for one snapshot, one QDA-XML block per method (schema order)."""

    def __init__(self, snapshot: ProjectSnapshot) -> None:
        self.snap = snapshot
        self.space = uuid.uuid5(_ROOT_NS, f"project:{snapshot.name}")
        docs = {d.name: d for d in snapshot.documents}
        for coding in snapshot.codings:
            _check_span(coding, docs)
        names = [
            *(c.name for c in snapshot.coders),
            *(c.coder for c in snapshot.codings),
            *(m.author for m in snapshot.memos),
        ]
        self.kept = snapshot.guids  # GUIDs another program gave, written back unchanged
        self.users = {n: self._id(_ROOT_NS, f"user:{n}") for n in dict.fromkeys(names)}
        self.sources = {
            d.name: self._id(self.space, f"document:{d.name}") for d in snapshot.documents
        }
        self.paths: dict[str, str] = {}
        self.variables = _Variables(self.space)
        # guid, name, description, text, user, created
        self.notes: list[tuple[str, str, str, str, str | None, str]] = []
        self.files: dict[str, str] = {}
        self.memo_notes = {
            m.id if m.id is not None else i: self._id(
                self.space, f"memo:{m.id if m.id is not None else m.title}"
            )
            for i, m in enumerate(snapshot.memos)
        }

    def _memo_guid(self, index: int, memo: Memo) -> str:
        return self.memo_notes[memo.id if memo.id is not None else index]

    def _id(self, space: uuid.UUID, identity: str) -> str:
        """The GUID read for ``identity`` from another program, else a stable one."""
        return self.kept.get(identity) or _guid(space, identity)

    def build(self) -> bytes:
        snap, ns = self.snap, PROJECT_NS
        root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", f"{ns} {_SCHEMA_URL[ns]}")
        root.set("name", _x(snap.name))
        root.set("origin", origin())
        if created := _datetime(snap.created_at):
            root.set("creationDateTime", created)
        if self.users:
            block = _sub(root, ns, "Users")
            for name, guid in self.users.items():
                _sub(block, ns, "User", guid=guid, name=name)
        if snap.codebook is not None and snap.codebook.facets:
            codes = _sub(_sub(root, ns, "CodeBook"), ns, "Codes")
            self.paths = _codes(codes, ns, snap.codebook, self.kept)
        for coding in snap.codings:
            if coding.status != "rejected" and coding.code not in self.paths:
                raise ExchangeError(
                    f"coding in {coding.document!r} by {coding.coder!r} uses code "
                    f"{coding.code!r}, which the snapshot's codebook does not define. "
                    "Add the code or drop the coding"
                )
        self._cases(root)
        self._sources(root)
        self._notes(root)
        if self.paths and snap.codebook is not None:
            _codebook_set(root, ns, snap.codebook, self.paths.values())
        self._memo_sets(root)
        _sub(root, ns, "NoteRef", targetGUID=self.notes[-1][0])
        for i, memo in enumerate(snap.memos):
            if not memo.links:  # a project memo
                _sub(root, ns, "NoteRef", targetGUID=self._memo_guid(i, memo))
        return _serialise(root)

    def _memo_sets(self, root: etree._Element) -> None:
        """A Set per memo about codes: those codes and the memo's note."""
        ns = PROJECT_NS
        sets = root.find(f"{{{ns}}}Sets")
        for i, memo in enumerate(self.snap.memos):
            codes = [
                self.paths[x.target]
                for x in memo.links
                if x.kind == "code" and x.target in self.paths
            ]
            if not codes:
                continue
            if sets is None:
                sets = _sub(root, ns, "Sets")
            guid = self._memo_guid(i, memo)
            member = _sub(
                sets,
                ns,
                "Set",
                guid=_guid(self.space, f"memo-set:{guid}"),
                name=f"Memo: {memo.title}",
            )
            for code in dict.fromkeys(codes):
                _sub(member, ns, "MemberCode", targetGUID=code)
            _sub(member, ns, "MemberNote", targetGUID=guid)

    def _memo_refs(self, source: etree._Element, doc: Document) -> None:
        """Passage memos as selections with a NoteRef, then the document memos' NoteRefs."""
        ns = PROJECT_NS
        for i, memo in enumerate(self.snap.memos):
            guid = self._memo_guid(i, memo)
            for x in memo.links:
                if x.kind != "passage" or x.target != doc.name or x.start is None or x.end is None:
                    continue
                attrs = {
                    "guid": _guid(self.space, f"memo-selection:{guid}:{x.start}:{x.end}"),
                    "name": _preview(doc.text[x.start : x.end]),
                    "startPosition": x.start,
                    "endPosition": x.end,
                    "creatingUser": self.users[memo.author],
                }
                sel = _sub(source, ns, "PlainTextSelection", **attrs)
                _sub(sel, ns, "NoteRef", targetGUID=guid)
        for i, memo in enumerate(self.snap.memos):
            if any(x.kind == "document" and x.target == doc.name for x in memo.links):
                _sub(source, ns, "NoteRef", targetGUID=self._memo_guid(i, memo))

    def _cases(self, root: etree._Element) -> None:
        snap, ns, variables = self.snap, PROJECT_NS, self.variables
        names = [*(c.name for c in snap.cases), *(d.case for d in snap.documents if d.case)]
        case_names = list(dict.fromkeys(names))
        attributes = {c.name: c.attributes for c in snap.cases}
        for name in case_names:
            variables.see(attributes.get(name, {}))
        for p in snap.participants:
            variables.see({"participant_role": p.role})
        for doc in snap.documents:
            variables.see(_document_values(doc))
        variables.definitions(root)
        if not (case_names or snap.participants):
            return
        block = _sub(root, ns, "Cases")
        for name in case_names:
            case = _sub(block, ns, "Case", guid=self._id(self.space, f"case:{name}"), name=name)
            variables.values(case, attributes.get(name, {}))
            for doc in snap.documents:
                if doc.case == name:
                    _sub(case, ns, "SourceRef", targetGUID=self.sources[doc.name])
        for p in snap.participants:
            guid = _guid(self.space, f"participant:{p.case or ''}/{p.label}")
            case = _sub(
                block, ns, "Case", guid=guid, name=f"{p.label} ({p.case})" if p.case else p.label
            )
            info = {
                "label": p.label,
                "role": p.role,
                "case": p.case,
                "is_interviewer": p.is_interviewer,
            }
            about = f"Participant {p.label}" + (f", {p.role}" if p.role else "")
            about += f", in case {p.case}." if p.case else "."
            _sub(case, ns, "Description", with_marker(about, {"participant": info}))
            variables.values(case, {"participant_role": p.role})

    def _sources(self, root: etree._Element) -> None:
        """One TextSource per document; one PlainTextSelection per span and coder.

        A selection per coder (with ``creatingUser``) because some programs
        (QualCoder) take the coder of a text coding from its selection.
        """
        ns = PROJECT_NS
        groups: dict[str, dict[tuple[int, int, str], list[Coding]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for c in self.snap.codings:
            if c.status != "rejected":
                groups[c.document][(c.start, c.end, c.coder)].append(c)
        if not self.snap.documents:
            return
        block = _sub(root, ns, "Sources")
        seen: set[str] = set()
        for doc in self.snap.documents:
            guid = self.sources[doc.name]
            self.files[f"{guid}.txt"] = doc.text
            attrs = {"guid": guid, "name": doc.name, "plainTextPath": f"internal://{guid}.txt"}
            if imported := _datetime(doc.imported_at):
                attrs["creationDateTime"] = imported
            source = _sub(block, ns, "TextSource", **attrs)
            for (start, end, coder), group in sorted(groups[doc.name].items()):
                sattrs = {
                    "guid": self._id(self.space, f"selection:{doc.name}:{start}:{end}:{coder}"),
                    "name": _preview(doc.text[start:end]),
                    "startPosition": start,
                    "endPosition": end,
                    "creatingUser": self.users[coder],
                }
                times = sorted(t for c in group if (t := _datetime(c.created_at)))
                if times:
                    sattrs["creationDateTime"] = times[0]
                sel = _sub(source, ns, "PlainTextSelection", **sattrs)
                for coding in group:
                    self._coding(sel, coding, seen)
            self._memo_refs(source, doc)
            self.variables.values(source, _document_values(doc))

    def _coding(self, sel: etree._Element, coding: Coding, seen: set[str]) -> None:
        ns = PROJECT_NS
        c = coding
        identity = f"coding:{c.document}:{c.start}:{c.end}:{c.code}:{c.coder}"
        guid, n = self._id(self.space, identity), 1
        while guid in seen:  # the same code twice on one span by one coder
            n += 1
            guid = _guid(self.space, f"{identity}:{n}")
        seen.add(guid)
        attrs = {"guid": guid, "creatingUser": self.users[c.coder]}
        if when := _datetime(c.created_at):
            attrs["creationDateTime"] = when
        el = _sub(sel, ns, "Coding", **attrs)
        _sub(el, ns, "CodeRef", targetGUID=self.paths[c.code])
        if c.status != "accepted" or c.score is not None or c.model_version or c.memo:
            note = _guid(self.space, f"note:{guid}")
            _sub(el, ns, "NoteRef", targetGUID=note)
            meta = {"status": c.status, "score": c.score, "model_version": c.model_version}
            human = c.status + ("" if c.score is None else f", score {c.score:.2f}")
            self.notes.append(
                (note, f"{c.code} · {c.coder}", with_marker(human, meta), c.memo, c.coder, "")
            )

    def _notes(self, root: etree._Element) -> None:
        """Coding notes, then the project note with coder roles and rejected suggestions."""
        data = {
            "project_data": 1,
            "coders": {c.name: c.role for c in self.snap.coders},
            "rejected": [_rejected(c) for c in self.snap.codings if c.status == "rejected"],
        }
        about = "Coder roles and rejected suggestions, kept for re-import into qual_nlp."
        for i, memo in enumerate(self.snap.memos):
            links = [
                {"kind": x.kind, "target": x.target, "start": x.start, "end": x.end}
                for x in memo.links
            ]
            what = (
                "Project memo"
                if not memo.links
                else "Memo on " + "; ".join(x.label() for x in memo.links)
            )
            self.notes.append(
                (
                    self._memo_guid(i, memo),
                    memo.title,
                    with_marker(what, {"memo": {"links": links, "updated_at": memo.updated_at}}),
                    memo.text,
                    memo.author,
                    memo.created_at,
                )
            )
        self.notes.append(
            (
                _guid(self.space, "note:project-data"),
                "qual_nlp data",
                with_marker(about, {"project_data": 1}),
                json.dumps(data, ensure_ascii=False, indent=1),
                None,
                "",
            )
        )
        block = _sub(root, PROJECT_NS, "Notes")
        for guid, name, description, text, user, created in self.notes:
            attrs = {
                "guid": guid,
                "name": name,
                **({"creatingUser": self.users[user]} if user else {}),
                **({"creationDateTime": when} if (when := _datetime(created)) else {}),
            }
            note = _sub(block, PROJECT_NS, "Note", **attrs)
            _sub(note, PROJECT_NS, "Description", description)
            _sub(note, PROJECT_NS, "PlainTextContent", text)


def _build_project(snapshot: ProjectSnapshot) -> tuple[bytes, dict[str, str]]:
    """The project.qde bytes and the source files (name in sources/ → text)."""
    writer = _ProjectWriter(snapshot)
    return writer.build(), writer.files


def _rejected(c: Coding) -> dict[str, Any]:
    return {
        "document": c.document,
        "start": c.start,
        "end": c.end,
        "code": c.code,
        "coder": c.coder,
        "score": c.score,
        "model_version": c.model_version,
        "memo": c.memo,
        "created_at": c.created_at,
    }


def project_xml(snapshot: ProjectSnapshot) -> bytes:
    """The snapshot as a QDA-XML project document (the archive's project.qde).

    >>> project_xml(snapshot).startswith(b"<?xml")  # doctest: +SKIP
    True
    """
    return _build_project(snapshot)[0]


def write_qdpx(snapshot: ProjectSnapshot, path: str | Path) -> None:
    """Write ``snapshot`` to ``path`` as a REFI-QDA project (.qdpx).

    The same snapshot always gives the same bytes (stable GUIDs, fixed zip times).

    >>> write_qdpx(snapshot, "study.qdpx")  # doctest: +SKIP
    """
    xml, files = _build_project(snapshot)

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        return info

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(entry("project.qde"), xml)
            for name, text in files.items():
                zf.writestr(entry(f"sources/{name}"), text.encode("utf-8"))

    _write_atomic(Path(path), write)


__all__ = ["codebook_xml", "project_xml", "write_qdc", "write_qdpx"]
