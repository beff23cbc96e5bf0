"""Codebooks in QDA-XML: read and write .qdc files, and the ``<Codes>`` tree both ways.

A project (.qdpx) carries the same ``<Codes>`` tree and codebook ``Set`` as a
.qdc, so :mod:`~qual_nlp.exchange.refi_import` and
:mod:`~qual_nlp.exchange.refi_export` use the builders here.

Mapping (qual_nlp ↔ QDA-XML):

* facets → top-level ``Code`` with ``isCodable="false"``; codes nest beneath them,
  with ``color`` as ``#RRGGBB`` (``#RGB`` is expanded, non-hex colors are left out);
  ``Description`` holds the definition, ``Include:``/``Exclude:`` criteria and
  ``Examples:``, then a last line ``qual_nlp:{json}`` with the code id (facet id
  and exclusivity for facets) so our own import restores them;
* reading, top-level codes → facets (multi-label unless our own marker says
  exclusive); nested codes → codes, with ``parent`` for deeper levels; a top-level
  leaf code without our marker goes to a facet ``codes``; a top-level code that
  carries codings itself also becomes a code of its facet (same id);
* the codebook's name, version and description ↔ a code ``Set`` listing its codes.

Code GUIDs are uuid5 of the codebook name and the code id, so a codebook shared by
projects keeps its GUIDs in every export.

>>> write_qdc(snapshot.codebook, "cm-implementation.qdc")  # doctest: +SKIP
>>> codebook = read_qdc("codebook.qdc")  # doctest: +SKIP
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from qual_nlp.errors import ExchangeError
from qual_nlp.exchange.qda_xml import (
    _ROOT_NS,
    _SCHEMA_URL,
    CODEBOOK_NS,
    XSI,
    _guid,
    _serialise,
    _sub,
    _unique,
    _write_atomic,
    guid_key,
    origin,
    parse_code_description,
    render_code_description,
    split_marker,
    with_marker,
)
from qual_nlp.exchange.safe_archive import DEFAULT_LIMITS, ZipLimits, _error, parse_xml
from qual_nlp.records import Code, Codebook, Facet

FALLBACK_FACET = "codes"
_RGB = re.compile(r"^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$")


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "code"


@dataclass
class _CodebookBuilder:
    """Turn a <Codes> tree into facets and codes; remembers GUID → code path."""

    ns: str
    facets: list[Facet] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # code GUID → "facet/code"
    facet_of_top: dict[str, tuple[str, str]] = field(default_factory=dict)  # GUID → (facet, name)
    facet_ids: set[str] = field(default_factory=set)
    code_ids: set[str] = field(default_factory=set)
    guids: dict[str, str] = field(default_factory=dict)  # "code:PATH" / "facet:ID" → GUID

    def _q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def _desc(self, el: etree._Element) -> str:
        d = el.find(self._q("Description"))
        return d.text or "" if d is not None else ""

    def build(self, codes_el: etree._Element | None) -> None:
        if codes_el is None:
            return
        for top in codes_el.iterfind(self._q("Code")):
            body, marker = split_marker(self._desc(top))
            children = top.findall(self._q("Code"))
            name = top.get("name") or "Unnamed"
            if (marker and "facet" in marker) or (children and not (marker and "code" in marker)):
                fid = _unique(str((marker or {}).get("facet") or _slug(name)), self.facet_ids)
                exclusive = bool((marker or {}).get("exclusive", False))
                self.facets.append(Facet(fid, name, exclusive, body))
                self.facet_of_top[guid_key(top.get("guid"))] = (fid, name)
                if top.get("guid"):
                    self.guids[f"facet:{fid}"] = guid_key(top.get("guid"))
                for child in children:
                    self._code(child, fid, None)
            else:
                self._ensure_fallback()
                self._code(top, FALLBACK_FACET, None)

    def _ensure_fallback(self) -> None:
        if FALLBACK_FACET not in self.facet_ids:
            self.facet_ids.add(FALLBACK_FACET)
            self.facets.append(Facet(FALLBACK_FACET, "Codes", False, ""))

    def _code(self, el: etree._Element, facet: str, parent: str | None) -> None:
        body, marker = split_marker(self._desc(el))
        name = el.get("name") or "Unnamed"
        if marker and "code" in marker:
            cid = _unique(str(marker["code"]), self.code_ids)
            fields = marker.get("fields")
            if isinstance(fields, dict):
                definition = str(fields.get("definition", ""))
                inclusion = str(fields.get("inclusion", ""))
                exclusion = str(fields.get("exclusion", ""))
                examples = tuple(str(e) for e in fields.get("examples", ()))
            else:
                definition, inclusion, exclusion, examples = parse_code_description(body)
        else:
            cid = _unique(_slug(name), self.code_ids)
            definition, inclusion, exclusion, examples = body, "", "", ()
        color = el.get("color")
        self.codes.append(
            Code(cid, facet, name, parent, definition, inclusion, exclusion, examples, color)
        )
        self.paths[guid_key(el.get("guid"))] = f"{facet}/{cid}"
        if el.get("guid"):
            self.guids[f"code:{facet}/{cid}"] = guid_key(el.get("guid"))
        for child in el.iterfind(self._q("Code")):
            self._code(child, facet, cid)

    def path_for(self, guid: str) -> str | None:
        """Code path of a GUID; a coded top-level code becomes a code of its own facet."""
        key = guid_key(guid)
        if key in self.paths:
            return self.paths[key]
        if key in self.facet_of_top:
            fid, name = self.facet_of_top[key]
            cid = _unique(fid, self.code_ids)
            self.codes.append(Code(cid, fid, name))
            self.paths[key] = f"{fid}/{cid}"
            return self.paths[key]
        return None

    def codebook(self, sets_el: etree._Element | None, default_name: str) -> Codebook:
        name, version, description = default_name, "1", ""
        if sets_el is not None:
            for s in sets_el.iterfind(self._q("Set")):
                body, marker = split_marker(self._desc(s))
                if marker and "codebook" in marker:
                    name = s.get("name") or default_name
                    version, description = str(marker.get("version", "1")), body
                    break
        return Codebook(name, tuple(self.facets), tuple(self.codes), version, description)


def read_qdc(path: str | Path, *, limits: ZipLimits = DEFAULT_LIMITS) -> Codebook:
    """Read a REFI-QDA codebook (.qdc) into a :class:`~qual_nlp.records.Codebook`.

    >>> read_qdc("cm-implementation.qdc").facets[0].id  # doctest: +SKIP
    'valence'
    """
    path = Path(path)
    if not path.is_file():
        raise _error(path, "no such file", "Check the path")
    size = path.stat().st_size
    if size > limits.max_entry_bytes:
        raise _error(
            path,
            f"the file is {size} bytes, above the limit of {limits.max_entry_bytes}",
            "If the file is genuine, raise ZipLimits(max_entry_bytes=...)",
        )
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise _error(
            path, "this is a zip archive, not a codebook", "Read .qdpx projects with read_qdpx"
        )
    root = parse_xml(data, str(path), CODEBOOK_NS, "CodeBook")
    builder = _CodebookBuilder(CODEBOOK_NS)
    builder.build(root.find(f"{{{CODEBOOK_NS}}}Codes"))
    return builder.codebook(root.find(f"{{{CODEBOOK_NS}}}Sets"), path.stem)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _color(value: str | None) -> str | None:
    """#RRGGBB (a #RGB shorthand is expanded); None for anything that is not a hex color."""
    if not value or not _RGB.match(value):
        return None
    return value if len(value) == 7 else "#" + "".join(ch * 2 for ch in value[1:])


def _code_description(code: Code) -> str:
    body = render_code_description(code.definition, code.inclusion, code.exclusion, code.examples)
    data: dict[str, Any] = {"code": code.id}
    original = (code.definition, code.inclusion, code.exclusion, tuple(code.examples))
    if parse_code_description(body) != original:
        keys = ("definition", "inclusion", "exclusion", "examples")
        data["fields"] = dict(zip(keys, [*original[:3], list(original[3])], strict=True))
    return with_marker(body, data)


def _codes(
    parent: etree._Element, ns: str, codebook: Codebook, kept: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Write facets and codes under ``parent`` (a <Codes>); return code path → GUID.

    ``kept`` holds GUIDs read from another program (``code:PATH``, ``facet:ID``): those
    codes keep them, so that program recognises them again; the others get stable ones.
    """
    space = uuid.uuid5(_ROOT_NS, f"codebook:{codebook.name}")
    kept = kept or {}
    facet_ids = {f.id for f in codebook.facets}
    ids = {c.id for c in codebook.codes}
    if len(ids) < len(codebook.codes):
        twice = sorted(i for i, n in Counter(c.id for c in codebook.codes).items() if n > 1)
        raise ExchangeError(
            f"codebook {codebook.name!r}: code ids {twice} occur more than once; "
            "ids must be unique within a codebook. Rename the duplicates"
        )
    children: dict[tuple[str, str | None], list[Code]] = defaultdict(list)
    for code in codebook.codes:
        if code.facet not in facet_ids:
            raise ExchangeError(
                f"codebook {codebook.name!r}: code {code.id!r} belongs to facet {code.facet!r}, "
                "which the codebook does not define. Add the facet or move the code"
            )
        if code.parent is not None and code.parent not in ids:
            raise ExchangeError(
                f"codebook {codebook.name!r}: code {code.id!r} has parent {code.parent!r}, "
                "which is not a code of the codebook. Fix the parent id"
            )
        children[(code.facet, code.parent)].append(code)
    paths: dict[str, str] = {}

    def add(el: etree._Element, code: Code) -> None:
        guid = kept.get(f"code:{code.path}") or _guid(space, f"code:{code.id}")
        attrs = {"guid": guid, "name": code.name, "isCodable": "true"}
        if color := _color(code.color):
            attrs["color"] = color
        node = _sub(el, ns, "Code", **attrs)
        _sub(node, ns, "Description", _code_description(code))
        paths[code.path] = guid
        for child in children.get((code.facet, code.id), ()):
            add(node, child)

    for facet in codebook.facets:
        guid = kept.get(f"facet:{facet.id}") or _guid(space, f"facet:{facet.id}")
        node = _sub(parent, ns, "Code", guid=guid, name=facet.name, isCodable="false")
        marker = {"facet": facet.id, "exclusive": facet.exclusive}
        _sub(node, ns, "Description", with_marker(facet.description, marker))
        for code in children.get((facet.id, None), ()):
            add(node, code)
    missing = {c.path for c in codebook.codes} - paths.keys()
    if missing:
        raise ExchangeError(
            f"codebook {codebook.name!r}: codes {sorted(missing)} are unreachable from their "
            "facet (a parent chain that loops or crosses facets). Fix the parent ids"
        )
    return paths


def _codebook_set(
    parent: etree._Element, ns: str, codebook: Codebook, guids: Iterable[str]
) -> None:
    space = uuid.uuid5(_ROOT_NS, f"codebook:{codebook.name}")
    sets = _sub(parent, ns, "Sets")
    marker = {"codebook": codebook.name, "version": codebook.version}
    s = _sub(sets, ns, "Set", guid=_guid(space, "set:codebook"), name=codebook.name)
    _sub(s, ns, "Description", with_marker(codebook.description, marker))
    attr = "guid" if ns == CODEBOOK_NS else "targetGUID"  # the two schemas differ here
    for guid in guids:
        _sub(s, ns, "MemberCode", **{attr: guid})


def codebook_xml(codebook: Codebook, guids: Mapping[str, str] | None = None) -> bytes:
    """The codebook as a QDA-XML codebook document (.qdc), UTF-8 with XML declaration.

    >>> codebook_xml(codebook)[:38]  # doctest: +SKIP
    b'<?xml version="1.0" encoding="UTF-8"?>'
    """
    ns = CODEBOOK_NS
    root = etree.Element(f"{{{ns}}}CodeBook", nsmap={None: ns, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{ns} {_SCHEMA_URL[ns]}")
    root.set("origin", origin())
    if not codebook.facets:
        raise ExchangeError(
            f"codebook {codebook.name!r} has no facets; a .qdc needs at least one code. "
            "Add a facet with codes first"
        )
    paths = _codes(_sub(root, ns, "Codes"), ns, codebook, guids)
    _codebook_set(root, ns, codebook, paths.values())
    return _serialise(root)


def write_qdc(codebook: Codebook, path: str | Path, guids: Mapping[str, str] | None = None) -> None:
    """Write ``codebook`` to ``path`` as a REFI-QDA codebook (.qdc); ``guids`` as for
    :func:`_codes`.

    >>> write_qdc(codebook, "cm-implementation.qdc")  # doctest: +SKIP
    """
    data = codebook_xml(codebook, guids)
    _write_atomic(Path(path), lambda tmp: tmp.write_bytes(data))


__all__ = ["codebook_xml", "read_qdc", "write_qdc"]
