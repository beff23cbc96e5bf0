"""The QDA-XML vocabulary shared by the REFI-QDA reader and writers.

Namespaces and schema locations; the ``qual_nlp:{json}`` marker line that ends
the descriptions we write (:func:`with_marker` writes it, :func:`split_marker`
reads it); the layout of a code description (definition, ``Include:``,
``Exclude:``, ``Examples:``), written by :func:`render_code_description` and read
back by :func:`parse_code_description`; GUIDs (:func:`guid_key` normalises them
for lookups, :func:`_guid` derives stable ones) and unique ids; and the small XML
and file helpers both writers use.

>>> text = with_marker("Barriers to change.", {"facet": "valence"})
>>> text.splitlines()[-1]
'qual_nlp:{"facet":"valence"}'
>>> split_marker(text)
('Barriers to change.', {'facet': 'valence'})
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from lxml import etree

from qual_nlp.errors import ExchangeError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
#: Prefix of the machine-readable last line of descriptions we write.
MARKER = "qual_nlp:"
#: Headings of the code description layout (see :func:`parse_code_description`).
INCLUDE, EXCLUDE, EXAMPLES = "Include: ", "Exclude: ", "Examples:"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA_URL = {
    PROJECT_NS: "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd",
    CODEBOOK_NS: "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd",
}
_ROOT_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://qual-nlp.invalid/refi-qda")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --------------------------------------------------------------------------
# Markers and description layout
# --------------------------------------------------------------------------


def origin() -> str:
    """The ``origin`` attribute of the files we write: this program and its version."""
    try:
        return f"qual_nlp {metadata.version('qual_nlp')}"
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "qual_nlp"


def split_marker(text: str | None) -> tuple[str, dict[str, Any] | None]:
    """Split a description into its human text and our marker data (if any)."""
    if not text:
        return "", None
    full = text.rstrip()
    head, _, last = full.rpartition("\n")
    if not last.startswith(MARKER):
        return text, None
    try:
        data = json.loads(last[len(MARKER) :])
    except ValueError:
        return text, None
    if not isinstance(data, dict):
        return text, None
    return (head[:-1] if head.endswith("\n") else head), data


def with_marker(body: str, data: dict[str, Any]) -> str:
    """Append ``qual_nlp:{json}`` as the last line of a description."""
    line = MARKER + json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{body}\n\n{line}" if body else line


def parse_code_description(body: str) -> tuple[str, str, str, tuple[str, ...]]:
    """Definition, inclusion, exclusion and examples of a code description we wrote.

    The layout: the definition, then paragraphs ``Include: …`` and ``Exclude: …``,
    then ``Examples:`` with one ``- example`` line each.
    """
    sections: dict[str, list[str]] = {"def": [], "inc": [], "exc": [], "ex": []}
    current = "def"
    for para in body.split("\n\n") if body else []:
        if para.startswith(INCLUDE):
            current, para = "inc", para[len(INCLUDE) :]
        elif para.startswith(EXCLUDE):
            current, para = "exc", para[len(EXCLUDE) :]
        elif para.startswith(EXAMPLES + "\n- ") or para == EXAMPLES:
            current, para = "ex", para[len(EXAMPLES) :]
        sections[current].append(para)
    examples = "\n\n".join(sections["ex"])
    items = tuple(examples[3:].split("\n- ")) if examples.startswith("\n- ") else ()
    return (
        "\n\n".join(sections["def"]),
        "\n\n".join(sections["inc"]),
        "\n\n".join(sections["exc"]),
        items,
    )


def render_code_description(
    definition: str, inclusion: str, exclusion: str, examples: tuple[str, ...]
) -> str:
    """Lay out a code's definition, criteria and examples as one readable text."""
    parts = [definition] if definition else []
    if inclusion:
        parts.append(INCLUDE + inclusion)
    if exclusion:
        parts.append(EXCLUDE + exclusion)
    if examples:
        parts.append(EXAMPLES + "".join(f"\n- {e}" for e in examples))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------
# GUIDs and names
# --------------------------------------------------------------------------


def guid_key(value: str | None) -> str:
    """Normalise a GUID for lookups: no braces, upper case."""
    return (value or "").strip().strip("{}").upper()


def _guid(namespace: uuid.UUID, identity: str) -> str:
    return str(uuid.uuid5(namespace, identity)).upper()


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


# --------------------------------------------------------------------------
# Writing XML and files
# --------------------------------------------------------------------------


def _x(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters, lone surrogates)."""
    return _NOT_XML.sub("", text)


def _sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, /, **attrs: Any
) -> Any:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: _x(str(v)) for k, v in attrs.items()})
    if text is not None:
        el.text = _x(text)
    return el


def _serialise(root: etree._Element) -> bytes:
    body = etree.tostring(root, xml_declaration=False, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _write_atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as exc:
        raise ExchangeError(
            f"{path}: cannot write here ({exc.strerror}). Choose an existing, writable folder"
        ) from exc
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
