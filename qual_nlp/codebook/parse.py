"""Reading codebooks from YAML: *facets*, each a tree of codes with definitions and examples.

Format (full description in ``docs/codebook-format.md``)::

    name: my-study                # required
    version: "1"                  # optional, text (numbers are read as text)
    description: What the codebook is for.
    facets:                       # required, at least one
      - id: valence               # letters, digits, _ . - (no "/" or spaces)
        name: Valence
        exclusive: true           # required: one label (or none) per segment, or many
        description: Does the passage describe an obstacle or an enabler?
        codes:                    # required, a tree (exclusive facets: >= 2 top-level codes)
          - id: barrier           # unique in the WHOLE codebook, so "facet/id" is a path
            name: Barrier
            definition: Something that hinders ...   # required, not blank
            inclusion: Code when ...                 # optional
            exclusion: Do not code when ...          # optional
            examples:                                # optional list of quotes
              - "We never get the discharge summary."
            color: "#C0392B"      # optional, #RRGGBB, quoted (a bare # starts a comment)
            children: []          # optional nested codes, same keys
          - id: late_reports
            parent: barrier       # "flat" form: a parent id instead of nesting
            name: Late reports
            definition: ...

Codes may be nested under ``children:`` or listed flat with ``parent:`` (both forms
can be mixed; a parent must be in the same facet). Files are read with PyYAML's
safe loader only (no ``!!python/...`` tags); duplicate keys are refused.

>>> from qual_nlp.codebook.load import builtin_codebook
>>> from qual_nlp.codebook.tree import ancestors
>>> cb = builtin_codebook()
>>> ancestors(cb, "cfir_domain/inner_culture")
['cfir_domain/inner_setting']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import yaml

from qual_nlp.codebook.checks import _Problems, _problems, _raise
from qual_nlp.codebook.tree import _canonical
from qual_nlp.errors import CodebookError
from qual_nlp.records import Code, Codebook, Facet, Polarity

_TOP_KEYS = ("name", "version", "description", "facets")
_FACET_KEYS = ("id", "name", "exclusive", "description", "polarity", "codes")
_POLARITY_KEYS = ("negative", "positive", "pairs")
_CODE_KEYS = (
    "id",
    "name",
    "parent",
    "definition",
    "inclusion",
    "exclusion",
    "examples",
    "color",
    "children",
)


# --------------------------------------------------------------------------
# YAML reading: safe loader that remembers lines and refuses duplicate keys
# --------------------------------------------------------------------------


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers the line it starts on."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader, plus line numbers and a refusal of duplicate keys."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    data = _Map()
    data.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | None):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain word", key_node.start_mark
            )
        if key in data:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the key {key!r} appears twice in the same mapping",
                key_node.start_mark,
            )
        data[key] = loader.construct_object(value_node, deep=True)
    return data


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _yaml_message(exc: yaml.YAMLError, source: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    if "constructor for the tag" in problem:
        tag = re.sub(r"^tag:yaml\.org,2002:", "!!", problem.split("'")[1] if "'" in problem else "")
        return (
            f"{source}{where}: the tag {tag!r} is not allowed; a codebook holds plain data only. "
            "Fix: remove the tag and write the value as plain text, a list or a mapping."
        )
    if "appears twice" in problem:
        return f"{source}{where}: {problem}. Fix: keep only one of them."
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        problem = f"{context} that starts on line {context_mark.line + 1}: {problem}"
    return (
        f"{source}{where}: not valid YAML ({problem}). Fix: check the indentation and quoting "
        "there (quote values that contain ': ' or start with '#', '*', '&', '!', '{' or '[')."
    )


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def _unknown_keys(
    data: Mapping[Any, Any], allowed: tuple[str, ...], out: _Problems, **where: Any
) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use only {', '.join(allowed)}"
            out.add(f"unknown key {key!r}", hint, **where)


def _text(
    data: Mapping[Any, Any], key: str, out: _Problems, *, required: bool = False, **where: Any
) -> str:
    value = data.get(key)
    if value is None:
        if key == "color" and key in data:
            out.add(
                "color is empty (in YAML a bare '#' starts a comment)",
                'quote the color: color: "#1F77B4"',
                **where,
            )
        elif required:
            out.add(f"{key!r} is missing", f"add '{key}: ...'", **where)
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and key in ("id", "version"):
        return str(value)
    if not isinstance(value, str):
        out.add(
            f"{key!r} should be text, found {type(value).__name__} {value!r}",
            f"write {key} as a single line of text (quote it if needed)",
            **where,
        )
        return ""
    return value


def _read_codes(
    items: Any,
    facet: str,
    parent: str | None,
    out: _Problems,
    codes: list[Code],
    lines: list[int | None],
    line: int | None,
) -> None:
    if not isinstance(items, list):
        key = "children" if parent else "codes"
        out.add(
            f"{key!r} should be a list of codes, found {type(items).__name__}",
            f"write each code as an item '- id: ...' under '{key}:'",
            facet=facet,
            code=parent or "",
            line=line,
        )
        return
    for item in items:
        if not isinstance(item, dict):
            out.add(
                f"each code should be a mapping with id, name, definition …, found {item!r}",
                "write the code as '- id: ...' followed by its other keys",
                facet=facet,
                line=line,
            )
            continue
        at = getattr(item, "line", None)
        code_id = _text(item, "id", out, required=True, facet=facet, line=at)
        where: dict[str, Any] = {"facet": facet, "code": code_id, "line": at}
        _unknown_keys(item, _CODE_KEYS, out, **where)
        declared = _text(item, "parent", out, **where) or None
        if parent is not None and declared not in (None, parent):
            out.add(
                f"nested under {parent!r} but declares parent {declared!r}",
                "remove 'parent:' from nested codes or move the code",
                **where,
            )
        examples = item.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            out.add(
                "'examples' should be a list of quoted passages",
                "write each example as an item: '- \"…\"'",
                **where,
            )
            examples = []
        codes.append(
            Code(
                id=code_id,
                facet=facet,
                name=_text(item, "name", out, **where) or code_id,
                parent=parent if parent is not None else declared,
                definition=_text(item, "definition", out, **where),
                inclusion=_text(item, "inclusion", out, **where),
                exclusion=_text(item, "exclusion", out, **where),
                examples=tuple(examples),
                color=_text(item, "color", out, **where) or None,
            )
        )
        lines.append(at)
        if item.get("children") is not None:
            _read_codes(item["children"], facet, code_id, out, codes, lines, at)


def _read_polarity(raw: Any, out: _Problems, where: dict[str, Any]) -> Polarity | None:
    """A facet's ``polarity:`` block (negative, positive, pairs), or None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        out.add(
            "'polarity' should be a mapping",
            "write 'polarity:' with 'negative: <code id>', 'positive: <code id>' and 'pairs:'",
            **where,
        )
        return None
    _unknown_keys(raw, _POLARITY_KEYS, out, **where)
    negative = _text(raw, "negative", out, required=True, **where)
    positive = _text(raw, "positive", out, required=True, **where)
    pairs: list[tuple[str, str]] = []
    raw_pairs = raw.get("pairs")
    if not isinstance(raw_pairs, list):
        raw_pairs = []
    for item in raw_pairs:
        if (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(x, str) and x.strip() for x in item)
        ):
            pairs.append((item[0].strip(), item[1].strip()))
        else:
            out.add(
                f"each polarity pair should be two statements, found {item!r}",
                'write \'- ["It was hard to ...", "It was easy to ..."]\' (negative first)',
                **where,
            )
    return Polarity(negative, positive, tuple(pairs))


def parse_codebook(text: str, source: str = "<string>") -> Codebook:
    """Read a codebook from YAML text; ``source`` names it in error messages.

    >>> cb = parse_codebook('''
    ... name: demo
    ... facets:
    ...   - {id: cmo, name: CMO, exclusive: false, codes: [{id: context, definition: Circumstances}]}
    ... ''')
    >>> from qual_nlp.codebook.tree import code_paths
    >>> code_paths(cb)
    ['cmo/context']
    """
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise CodebookError(_yaml_message(exc, source)) from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise CodebookError(
            f"{source}: expected a mapping with 'name' and 'facets' at the top, found {found}. "
            "Fix: start the file with 'name: ...' and a 'facets:' list (see docs/codebook-format.md)."
        )
    out = _Problems()
    _unknown_keys(data, _TOP_KEYS, out)
    name = _text(data, "name", out, required=True)
    version = "1" if data.get("version") is None else _text(data, "version", out)
    description = _text(data, "description", out)
    facets: list[Facet] = []
    facet_lines: list[int | None] = []
    codes: list[Code] = []
    code_lines: list[int | None] = []
    raw_facets = data.get("facets")
    if not isinstance(raw_facets, list) or not raw_facets:
        out.add(
            "'facets' should be a non-empty list",
            "add 'facets:' with at least one '- id: ...' facet",
        )
        raw_facets = []
    for raw in raw_facets:
        if not isinstance(raw, dict):
            out.add(f"each facet should be a mapping, found {raw!r}", "write '- id: ...'")
            continue
        at = getattr(raw, "line", None)
        facet_id = _text(raw, "id", out, required=True, line=at)
        where: dict[str, Any] = {"facet": facet_id, "line": at}
        _unknown_keys(raw, _FACET_KEYS, out, **where)
        exclusive = raw.get("exclusive")
        if not isinstance(exclusive, bool):
            out.add(
                f"'exclusive' should be true or false, found {exclusive!r}",
                "write 'exclusive: true' (one code per segment) or 'exclusive: false'",
                **where,
            )
        name_ = _text(raw, "name", out, **where) or facet_id
        desc = _text(raw, "description", out, **where)
        polarity = _read_polarity(raw.get("polarity"), out, where)
        facets.append(Facet(facet_id, name_, bool(exclusive), desc, polarity))
        facet_lines.append(at)
        _read_codes(raw.get("codes", []), facet_id, None, out, codes, code_lines, at)
    codebook = Codebook(name, tuple(facets), tuple(codes), version, description)
    out += _problems(codebook, facet_lines, code_lines)
    _raise(source, out)
    return _canonical(codebook)
