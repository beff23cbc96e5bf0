"""Writing a codebook as YAML, in the nested form :mod:`~qual_nlp.codebook.parse` reads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from qual_nlp.codebook.checks import validate
from qual_nlp.codebook.tree import _canonical
from qual_nlp.records import Code, Codebook


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents lists under their key and never writes aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Other line breaks than LF would be folded away unless escaped in double quotes.
    style = '"' if re.search("[\r\x85\u2028\u2029\ufeff]", value) else None
    style = style or ("|" if "\n" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _code_data(code: Code, kids: Mapping[str | None, list[Code]]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": code.id, "name": code.name, "definition": code.definition}
    for key in ("inclusion", "exclusion"):
        if getattr(code, key):
            data[key] = getattr(code, key)
    if code.examples:
        data["examples"] = list(code.examples)
    if code.color is not None:
        data["color"] = code.color
    if kids.get(code.id):
        data["children"] = [_code_data(c, kids) for c in kids[code.id]]
    return data


def dump_codebook(codebook: Codebook) -> str:
    """Write ``codebook`` as YAML (nested form); ``parse_codebook`` reads it back unchanged.

    >>> from qual_nlp.codebook.load import builtin_codebook
    >>> from qual_nlp.codebook.parse import parse_codebook
    >>> cb = builtin_codebook()
    >>> parse_codebook(dump_codebook(cb)) == cb
    True
    """
    validate(codebook, f"codebook {codebook.name!r} (not written)")
    cb = _canonical(codebook)
    facets = []
    for facet in cb.facets:
        kids: dict[str | None, list[Code]] = {}
        for code in cb.codes:
            if code.facet == facet.id:
                kids.setdefault(code.parent, []).append(code)
        data: dict[str, Any] = {"id": facet.id, "name": facet.name, "exclusive": facet.exclusive}
        if facet.description:
            data["description"] = facet.description
        if facet.polarity is not None:
            data["polarity"] = facet.polarity.as_data()
        data["codes"] = [_code_data(c, kids) for c in kids.get(None, [])]
        facets.append(data)
    top = {"name": cb.name, "version": cb.version, "description": cb.description, "facets": facets}
    header = "# qual_nlp codebook; format described in docs/codebook-format.md\n"
    return header + yaml.dump(top, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
