"""Read REFI-QDA projects (.qdpx) into a ProjectSnapshot: sources, codings, users, cases.

The file is treated as untrusted: no DTD, no entity expansion, no network, zip
entries may not escape the archive, and size limits (:class:`ZipLimits`) refuse
zip bombs before anything is decompressed. Every refusal is an
:class:`~qual_nlp.errors.ExchangeError` naming the file, the problem and the fix.

Mapping (QDA-XML → qual_nlp):

* the ``CodeBook`` → the snapshot's codebook, read as :mod:`~qual_nlp.exchange.qdc`
  reads a .qdc (top-level codes → facets, nested codes → codes);
* ``Users`` → coders; ``Coding/@creatingUser`` → the coding's coder;
* ``PlainTextSelection`` start/end (Unicode code points, end exclusive, as the
  standard's section 10.2 and ATLAS.ti's exports count) → ``start``/``end``;
  CRLF sources are normalised to LF and offsets remapped (a CRLF counts two
  characters, except in files whose ``origin`` is ATLAS.ti, which counts one);
* named ``Case`` → case with attributes from ``VariableValue``; its ``SourceRef``
  → ``Document.case``; a nameless case with one ``SourceRef`` (MAXQDA's way of
  storing document variables) and ``TextSource`` variables → document metadata;
* descriptions, notes and one project note that end in a ``qual_nlp:{json}``
  line (written by :mod:`qual_nlp.exchange.refi_export`) restore code ids, facet
  exclusivity, coding status/score/model version, coder roles, participants and
  rejected suggestions.

Sets of sources become ``Document.metadata["sets"]``. Elements without a place
in qual_nlp (pictures, audio/video, PDF area selections, sets of codes or notes,
links, graphs) are skipped with one :class:`RefiImportWarning` that lists them,
as the standard's section 7 asks.

:func:`~qual_nlp.exchange.qdc.read_qdc` is importable from here too.

>>> snapshot = read_qdpx("study.qdpx")  # doctest: +SKIP
>>> codebook = read_qdc("codebook.qdc")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
import zipfile
from bisect import bisect_left
from collections import Counter
from pathlib import Path
from typing import Any

from lxml import etree

from qual_nlp.exchange.qda_xml import PROJECT_NS, _unique, guid_key, split_marker
from qual_nlp.exchange.qdc import _CodebookBuilder, read_qdc
from qual_nlp.exchange.safe_archive import (
    DEFAULT_LIMITS,
    ZipLimits,
    _Archive,
    _check_archive,
    _error,
    parse_xml,
)
from qual_nlp.records import (
    Case,
    Coder,
    Coding,
    Document,
    Memo,
    MemoLink,
    Participant,
    ProjectSnapshot,
)


class RefiImportWarning(UserWarning):
    """Part of a REFI-QDA file was skipped (unsupported element or unreadable source)."""


def normalise_text(text: str) -> tuple[str, list[int]]:
    """LF line ends and no BOM; returns the text and the removed positions (for offsets)."""
    text = text.removeprefix("\ufeff")
    if "\r" not in text:
        return text, []
    removed = [m.start() for m in re.finditer("\r\n", text)]
    return text.replace("\r\n", "\n").replace("\r", "\n"), removed


def _value(el: etree._Element, var: tuple[str, str, bool]) -> Any:
    kind = etree.QName(el).localname
    raw = el.text or ""
    if kind == "TextValue":
        return json.loads(raw) if var[2] else raw
    if kind == "BooleanValue":
        return raw.strip() in ("true", "1")
    if kind == "IntegerValue":
        return int(raw)
    if kind == "FloatValue":
        return float(raw)
    return raw.strip()  # DateValue / DateTimeValue stay ISO strings


class _ProjectReader:
    """Map one parsed project.qde (and its archive) onto a ProjectSnapshot."""

    def __init__(self, path: Path, root: etree._Element, archive: _Archive) -> None:
        self.path, self.root, self.archive = path, root, archive
        self.skipped: Counter[str] = Counter()
        self.doc_names: set[str] = set()
        self.crlf_is_one = "ATLAS.TI" in (root.get("origin") or "").upper()
        self.used_notes: set[str] = set()

    def q(self, name: str) -> str:
        return f"{{{PROJECT_NS}}}{name}"

    def _text_of(self, el: etree._Element, child: str) -> str | None:
        found = el.find(self.q(child))
        return None if found is None else found.text or ""

    def read(self) -> ProjectSnapshot:
        root, q = self.root, self.q
        self.users = {
            guid_key(u.get("guid")): u.get("name") or u.get("id") or guid_key(u.get("guid"))
            for u in root.iterfind(f"{q('Users')}/{q('User')}")
        }
        self.guids: dict[str, str] = {f"user:{n}": g for g, n in self.users.items() if g}
        self.notes = {
            guid_key(n.get("guid")): n for n in root.iterfind(f"{q('Notes')}/{q('Note')}")
        }
        data = self._project_data()
        self.variables = {
            guid_key(v.get("guid")): (
                v.get("name") or "variable",
                v.get("typeOfVariable") or "Text",
                bool((split_marker(self._text_of(v, "Description"))[1] or {}).get("json")),
            )
            for v in root.iterfind(f"{q('Variables')}/{q('Variable')}")
        }
        self.builder = _CodebookBuilder(PROJECT_NS)
        self.builder.build(root.find(f"{q('CodeBook')}/{q('Codes')}"))
        cases, participants = self._cases()
        self.doc_sets: dict[str, list[str]] = {}
        self.note_links: dict[str, list[MemoLink]] = {}
        for s in root.iterfind(f"{q('Sets')}/{q('Set')}"):
            members = [guid_key(m.get("targetGUID")) for m in s.iterfind(q("MemberSource"))]
            for member in members:
                self.doc_sets.setdefault(member, []).append(s.get("name") or "")
            marker = split_marker(self._text_of(s, "Description"))[1] or {}
            notes = [guid_key(m.get("targetGUID")) for m in s.iterfind(q("MemberNote"))]
            codes = [
                self.builder.paths[g]
                for m in s.iterfind(q("MemberCode"))
                if (g := guid_key(m.get("targetGUID"))) in self.builder.paths
            ]
            for note in notes:  # a memo about codes (as qual_nlp writes one)
                self.note_links.setdefault(note, []).extend(MemoLink("code", c) for c in codes)
            if not members and not notes and "codebook" not in marker:
                self.skipped["sets of codes or notes"] += 1
        documents: list[Document] = []
        codings: list[Coding] = []
        for el in root.iterfind(f"{q('Sources')}/*"):
            tag = etree.QName(el).localname
            if tag == "TextSource":
                self._source(el, el, documents, codings)
            elif tag == "PDFSource" and el.find(q("Representation")) is not None:
                self._source(el, el.find(q("Representation")), documents, codings)
                self.skipped["PDF area selections"] += len(el.findall(q("PDFSelection")))
            else:
                self.skipped[f"{tag} elements"] += 1
        codings.extend(self._rejected(data.get("rejected", ()), documents))
        memos = self._memos()
        roles = data.get("coders", {}) if isinstance(data.get("coders"), dict) else {}
        names = list(dict.fromkeys([*self.users.values(), *(c.coder for c in codings)]))
        coders = tuple(
            Coder(n, str(roles.get(n) or ("model" if n.startswith("model:") else "analyst")))
            for n in names
        )
        name = root.get("name") or self.path.stem
        codebook = (
            self.builder.codebook(root.find(q("Sets")), name) if self.builder.facets else None
        )
        self.skipped["notes not attached to a coding"] += len(self.notes.keys() - self.used_notes)
        for tag in ("Links", "Graphs"):
            self.skipped[f"{tag} entries"] += len(root.findall(f"{q(tag)}/*"))
        if +self.skipped:
            listed = ", ".join(f"{n} {what}" for what, n in sorted(self.skipped.items()) if n)
            warnings.warn(
                f"{self.path}: skipped what qual_nlp cannot hold: {listed}",
                RefiImportWarning,
                stacklevel=3,
            )
        return ProjectSnapshot(
            guids={**self.guids, **self.builder.guids},
            name=name,
            cases=tuple(cases),
            participants=tuple(participants),
            documents=tuple(documents),
            codebook=codebook,
            coders=coders,
            codings=tuple(codings),
            created_at=root.get("creationDateTime") or "",
            memos=tuple(memos),
        )

    def _memos(self) -> list[Memo]:
        """Every note no coding holds is a memo (NVivo's memos, ATLAS.ti's comments on
        documents, qual_nlp's memos): about the passages and documents that refer to it,
        the codes of a set holding it, and the cases its qual_nlp marker names."""
        for ref in self.root.iterfind(self.q("NoteRef")):
            self.note_links.setdefault(guid_key(ref.get("targetGUID")), [])
        memos = []
        for guid, note in self.notes.items():
            if guid in self.used_notes:
                continue
            self.used_notes.add(guid)
            marker = split_marker(self._text_of(note, "Description"))[1] or {}
            found = marker.get("memo")
            about: dict[str, Any] = found if isinstance(found, dict) else {}
            links = list(self.note_links.get(guid, []))
            for link in about.get("links", []) if isinstance(about.get("links"), list) else []:
                if isinstance(link, dict) and link.get("kind") == "case" and link.get("target"):
                    links.append(MemoLink("case", str(link["target"])))
            memos.append(
                Memo(
                    title=(note.get("name") or "Note")[:300],
                    text=self._note_text(note),
                    author=self.users.get(guid_key(note.get("creatingUser"))) or "imported",
                    links=tuple(dict.fromkeys(links)),
                    created_at=note.get("creationDateTime") or "",
                    updated_at=str(about.get("updated_at") or note.get("creationDateTime") or ""),
                )
            )
        return memos

    def _note_text(self, note: etree._Element) -> str:
        inline = self._text_of(note, "PlainTextContent")
        if inline is not None:
            return inline
        data = self._internal(note.get("plainTextPath"), f"note {note.get('name')!r}")
        return data.decode("utf-8", errors="replace").removeprefix("\ufeff") if data else ""

    def _project_data(self) -> dict[str, Any]:
        for ref in self.root.iterfind(self.q("NoteRef")):
            note = self.notes.get(guid_key(ref.get("targetGUID")))
            if note is None:
                continue
            if "project_data" in (split_marker(self._text_of(note, "Description"))[1] or {}):
                self.used_notes.add(guid_key(ref.get("targetGUID")))
                try:
                    data = json.loads(self._note_text(note))
                except ValueError:
                    warnings.warn(
                        f"{self.path}: the qual_nlp project note is not valid JSON; coder roles "
                        "and rejected suggestions were not restored",
                        RefiImportWarning,
                        stacklevel=4,
                    )
                    return {}
                return data if isinstance(data, dict) else {}
        return {}

    def _values(self, el: etree._Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for vv in el.iterfind(self.q("VariableValue")):
            ref = vv.find(self.q("VariableRef"))
            var = self.variables.get(guid_key(ref.get("targetGUID") if ref is not None else ""))
            values = [c for c in vv if c is not ref and isinstance(c.tag, str)]
            if var is None or not values:
                self.skipped["variable values without a variable"] += 1
                continue
            try:
                out[var[0]] = _value(values[0], var)
            except ValueError as exc:
                raise _error(
                    self.path,
                    f"variable {var[0]!r} has the unreadable value {values[0].text!r} ({exc})",
                    "Fix the value in the exporting program and re-export",
                ) from exc
        return out

    def _cases(self) -> tuple[list[Case], list[Participant]]:
        cases: list[Case] = []
        participants: list[Participant] = []
        self.doc_case: dict[str, str] = {}
        self.doc_vars: dict[str, dict[str, Any]] = {}
        taken: set[str] = set()
        for el in self.root.iterfind(f"{self.q('Cases')}/{self.q('Case')}"):
            marker = split_marker(self._text_of(el, "Description"))[1] or {}
            values = self._values(el)
            refs = [guid_key(r.get("targetGUID")) for r in el.iterfind(self.q("SourceRef"))]
            if isinstance(marker.get("participant"), dict):
                p = marker["participant"]
                participants.append(
                    Participant(
                        str(p.get("label", el.get("name") or "")),
                        p.get("role"),
                        p.get("case"),
                        bool(p.get("is_interviewer", False)),
                    )
                )
            elif el.get("name") is None and len(refs) == 1:
                self.doc_vars.setdefault(refs[0], {}).update(values)
            else:
                name = el.get("name") or guid_key(el.get("guid"))
                if name in taken:
                    name = _unique(name, taken)
                taken.add(name)
                cases.append(Case(name, values))
                if el.get("guid"):
                    self.guids[f"case:{name}"] = guid_key(el.get("guid"))
                for ref in refs:
                    if ref in self.doc_case:
                        self.skipped["memberships of a source in a second case"] += 1
                    else:
                        self.doc_case[ref] = name
        return cases, participants

    def _internal(self, ref: str | None, what: str) -> bytes | None:
        if not ref:
            return None
        if not ref.startswith("internal://"):
            self.skipped["external files (not read from outside the archive)"] += 1
            return None
        name = ref[len("internal://") :]
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise _error(
                self.path,
                f"{what} names the path {ref!r}, which is not a file in sources/",
                "Internal paths are internal://<file name> (REFI-QDA 8.3); re-export the project",
            )
        info = self.archive.find(f"sources/{name}")
        if info is None:
            raise _error(
                self.path,
                f"{what} points to {ref!r} but sources/{name} is not in the archive",
                "Re-export the project with its sources included",
            )
        return self.archive.read(info)

    def _source_text(self, el: etree._Element, name: str) -> str | None:
        what = f"source {name!r}"
        data = self._internal(el.get("plainTextPath"), what)
        if data is None:
            inline = self._text_of(el, "PlainTextContent")
            if inline is not None:
                return inline
            rich = el.get("richTextPath") or ""
            companion = re.sub(r"\.[^./]+$", ".txt", rich)
            if rich.startswith("internal://") and companion != rich:
                info = self.archive.find("sources/" + companion[len("internal://") :])
                data = self.archive.read(info) if info is not None else None
        if data is None:
            warnings.warn(
                f"{self.path}: {what} has no plain-text representation (plainTextPath or "
                "PlainTextContent); skipped it. Export it with its text from the other program",
                RefiImportWarning,
                stacklevel=5,
            )
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(
                self.path,
                f"the text of {what} is not UTF-8 ({exc})",
                "REFI-QDA plain-text sources are UTF-8 (9.1.2); re-export the project",
            ) from exc

    def _source(
        self, el: etree._Element, text_el: etree._Element, docs: list[Document], out: list[Coding]
    ) -> None:
        guid = guid_key(el.get("guid"))
        name = el.get("name") or text_el.get("name") or guid
        raw = self._source_text(text_el, name)
        if raw is None:
            return
        text, removed = normalise_text(raw)
        raw_len = len(raw.removeprefix("\ufeff"))
        if self.crlf_is_one:  # ATLAS.ti ships CRLF files but counts a line end as one character
            removed, raw_len = [], len(text)
        if name in self.doc_names:
            name = _unique(name, self.doc_names)
        self.doc_names.add(name)
        meta = {**self.doc_vars.get(guid, {}), **self._values(el)}
        source_type = str(meta.pop("source_type", "other"))
        source_format = str(meta.pop("source_format", "qdpx"))
        description = self._text_of(el, "Description")
        if description:
            meta.setdefault("description", description)
        if guid in self.doc_sets:
            meta.setdefault("sets", self.doc_sets[guid])
        if el.get("guid"):
            self.guids[f"document:{name}"] = guid
        docs.append(
            Document(
                name=name,
                text=text,
                source_type=source_type,
                case=self.doc_case.get(guid),
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                source_format=source_format,
                imported_at=el.get("creationDateTime") or "",
                metadata=meta,
            )
        )

        def shift(o: int) -> int:
            return o - bisect_left(removed, o)

        for sel in text_el.iterfind(self.q("PlainTextSelection")):
            try:
                start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
            except ValueError as exc:
                raise _error(
                    self.path,
                    f"selection {sel.get('guid')} in source {name!r} has non-integer positions",
                    "Re-export the project",
                ) from exc
            if not 0 <= start <= end <= raw_len:
                raise _error(
                    self.path,
                    f"selection {sel.get('guid')} in source {name!r} spans {start}..{end}, "
                    f"outside the source text of {raw_len} characters",
                    "The shipped text does not match the selections; positions count Unicode "
                    "code points from 0 (REFI-QDA 10.2). Re-export the project",
                )
            if start == end:
                self.skipped["empty selections"] += 1
                continue
            memo = self._text_of(sel, "Description") or ""
            for ref in sel.iterfind(self.q("NoteRef")):  # a memo on this passage
                self.note_links.setdefault(guid_key(ref.get("targetGUID")), []).append(
                    MemoLink("passage", name, shift(start), shift(end))
                )
            for c in sel.iterfind(self.q("Coding")):
                self._coding(c, name, shift(start), shift(end), memo, (sel, el), out)
        for c in text_el.iterfind(self.q("Coding")):
            self._coding(c, name, 0, len(text), "", (el,), out)
        for ref in el.iterfind(self.q("NoteRef")):  # a memo on the whole document
            self.note_links.setdefault(guid_key(ref.get("targetGUID")), []).append(
                MemoLink("document", name)
            )

    def _coding(
        self,
        el: etree._Element,
        doc: str,
        start: int,
        end: int,
        memo: str,
        holders: tuple[etree._Element, ...],
        out: list[Coding],
    ) -> None:
        ref = el.find(self.q("CodeRef"))
        path = self.builder.path_for(ref.get("targetGUID", "")) if ref is not None else None
        if path is None:
            self.skipped["codings of codes missing from the codebook"] += 1
            return
        owners = (el, *holders)
        user = next((h.get("creatingUser") for h in owners if h.get("creatingUser")), None)
        user = user or self.root.get("creatingUserGUID")
        coder = self.users.get(guid_key(user), f"user {guid_key(user)}") if user else "unknown"
        status, score, model_version = "accepted", None, None
        memos: list[str] = []
        for nref in el.iterfind(self.q("NoteRef")):
            note = self.notes.get(guid_key(nref.get("targetGUID")))
            if note is None:
                continue
            self.used_notes.add(guid_key(nref.get("targetGUID")))
            body, marker = split_marker(self._text_of(note, "Description"))
            if marker and "status" in marker:
                status = str(marker["status"])
                score = None if marker.get("score") is None else float(marker["score"])
                model_version = marker.get("model_version")
            elif body:
                memos.append(body)
            memos.append(self._note_text(note))
        text = "\n\n".join(m for m in memos if m) if memos else memo
        if el.get("guid"):
            identity = f"coding:{doc}:{start}:{end}:{path}:{coder}"
            self.guids.setdefault(identity, guid_key(el.get("guid")))
            sel = holders[0]
            if etree.QName(sel).localname == "PlainTextSelection" and sel.get("guid"):
                self.guids.setdefault(
                    f"selection:{doc}:{start}:{end}:{coder}", guid_key(sel.get("guid"))
                )
        out.append(
            Coding(
                document=doc,
                start=start,
                end=end,
                code=path,
                coder=coder,
                status=status,
                score=score,
                model_version=model_version,
                memo=text,
                created_at=el.get("creationDateTime") or "",
            )
        )

    def _rejected(self, items: Any, docs: list[Document]) -> list[Coding]:
        lengths = {d.name: len(d.text) for d in docs}
        out: list[Coding] = []
        for item in items if isinstance(items, list) else ():
            try:
                coding = Coding(
                    document=str(item["document"]),
                    start=int(item["start"]),
                    end=int(item["end"]),
                    code=str(item["code"]),
                    coder=str(item["coder"]),
                    status="rejected",
                    score=None if item.get("score") is None else float(item["score"]),
                    model_version=item.get("model_version"),
                    memo=str(item.get("memo", "")),
                    created_at=str(item.get("created_at", "")),
                )
            except (KeyError, TypeError, ValueError):
                self.skipped["unreadable rejected suggestions"] += 1
                continue
            if not 0 <= coding.start < coding.end <= lengths.get(coding.document, -1):
                self.skipped["rejected suggestions outside their document"] += 1
                continue
            out.append(coding)
        return out


def read_qdpx(path: str | Path, *, limits: ZipLimits = DEFAULT_LIMITS) -> ProjectSnapshot:
    """Read a REFI-QDA project (.qdpx) into a :class:`~qual_nlp.records.ProjectSnapshot`.

    >>> snap = read_qdpx("study.qdpx")  # doctest: +SKIP
    >>> len(snap.documents), len(snap.codings)  # doctest: +SKIP
    (10, 4312)
    """
    path = Path(path)
    if not path.is_file():
        raise _error(path, "no such file", "Check the path")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _error(
            path,
            "not a zip archive",
            "A .qdpx project is a zip of project.qde and sources/; "
            "for a .qdc codebook use read_qdc",
        ) from exc
    with zf:
        _check_archive(path, zf, limits)
        archive = _Archive(path, zf, limits)
        qde = archive.find("project.qde")
        if qde is None:
            roots = [
                i
                for i in zf.infolist()
                if "/" not in i.filename and i.filename.lower().endswith(".qde")
            ]
            qde = roots[0] if len(roots) == 1 else None
        if qde is None:
            raise _error(
                path,
                "the archive has no project.qde",
                "A .qdpx must hold project.qde at its top level (REFI-QDA 8.1); re-export the project",
            )
        root = parse_xml(archive.read(qde), f"{path} (project.qde)", PROJECT_NS, "Project")
        return _ProjectReader(path, root, archive).read()


__all__ = [
    "DEFAULT_LIMITS",
    "RefiImportWarning",
    "ZipLimits",
    "read_qdc",
    "read_qdpx",
]
