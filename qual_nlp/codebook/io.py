"""Codebooks: YAML files of *facets*, each a tree of codes with definitions and examples.

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

The edit functions (:func:`add_code`, :func:`rename_code`, :func:`merge_codes`,
:func:`move_code`, :func:`remove_code`) are pure: they return a new
:class:`~qual_nlp.records.Codebook` plus, where paths change, a mapping
``old path -> new path`` so the store can rewrite codings without losing any.

>>> cb = builtin_codebook()
>>> ancestors(cb, "cfir_domain/inner_culture")
['cfir_domain/inner_setting']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from qual_nlp.errors import CodebookError, RecordNotFoundError
from qual_nlp.records import Code, Codebook, Facet, Polarity

BUILTIN_PACKAGE = "qual_nlp.codebook.builtin"
DEFAULT_CODEBOOK = "cm-implementation"

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TOP_KEYS = ("name", "version", "description", "facets")
_FACET_KEYS = ("id", "name", "exclusive", "description", "polarity", "codes")
_POLARITY_KEYS = ("negative", "positive", "pairs")
#: Contrasting pairs a polarity needs before its direction means anything.
MIN_POLARITY_PAIRS = 3
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
# Problems: collected, then raised together
# --------------------------------------------------------------------------


class _Problems(list[str]):
    """Problems found in a codebook, each naming where it is and how to fix it."""

    def add(
        self, what: str, fix: str, *, facet: str = "", code: str = "", line: int | None = None
    ) -> None:
        where = [f"line {line}"] if line else []
        where += [f"facet {facet!r}"] if facet else []
        where += [f"code {code!r}"] if code else []
        self.append(f"{', '.join(where) or 'codebook'}: {what}. Fix: {fix}")


def _raise(source: str, problems: list[str]) -> None:
    if len(problems) == 1:
        raise CodebookError(f"{source}: {problems[0]}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise CodebookError(f"{source}: {len(problems)} problems in the codebook:\n{listed}")


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


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Validation of records
# --------------------------------------------------------------------------


def _problems(
    cb: Codebook,
    facet_lines: list[int | None] | None = None,
    code_lines: list[int | None] | None = None,
) -> list[str]:
    flines = facet_lines or [None] * len(cb.facets)
    clines = code_lines or [None] * len(cb.codes)
    out = _Problems()
    facet_ids: dict[str, Facet] = {}
    for facet, line in zip(cb.facets, flines, strict=True):
        if facet.id and not _ID.match(facet.id):
            out.add(
                "the id may hold only letters, digits, '_', '.' and '-'",
                "rename it, e.g. 'cfir_domain'",
                facet=facet.id,
                line=line,
            )
        if facet.id in facet_ids:
            out.add("two facets share this id", "rename one", facet=facet.id, line=line)
        facet_ids[facet.id] = facet
    by_id: dict[str, tuple[Code, int | None]] = {}
    for code, line in zip(cb.codes, clines, strict=True):
        where: dict[str, Any] = {"facet": code.facet, "code": code.id, "line": line}
        if code.id in by_id:
            other, other_line = by_id[code.id]
            seen = f" (line {other_line})" if other_line else ""
            out.add(
                f"duplicate code id; also used in facet {other.facet!r}{seen}",
                "give each code an id unique in the whole codebook, e.g. prefix it with its facet",
                **where,
            )
            continue
        by_id[code.id] = (code, line)
        if code.id and not _ID.match(code.id):
            out.add(
                "the id may hold only letters, digits, '_', '.' and '-'",
                "rename it, e.g. 'inner_culture'",
                **where,
            )
        if code.facet not in facet_ids:
            out.add("unknown facet", f"use one of {sorted(facet_ids)}", **where)
        if not code.name.strip():
            out.add("the name is blank", "give the code a name", **where)
        if not code.definition.strip():
            out.add(
                "the definition is missing",
                "add 'definition: ...' saying in a sentence what the code captures "
                "(suggestions compare passages with it)",
                **where,
            )
        if any(not e.strip() for e in code.examples):
            out.add("an example is blank", "remove it or write the quote", **where)
        if code.color is not None and not _COLOR.match(code.color):
            out.add(
                f"color {code.color!r} is not #RRGGBB",
                'write six hex digits, quoted: color: "#1F77B4"',
                **where,
            )
    for code, line in zip(cb.codes, clines, strict=True):
        if code.parent is None or by_id.get(code.id, (None,))[0] is not code:
            continue
        where = {"facet": code.facet, "code": code.id, "line": line}
        parent = by_id.get(code.parent)
        if parent is None:
            close = difflib.get_close_matches(code.parent, list(by_id), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "add that code or fix 'parent:'"
            out.add(f"unknown parent {code.parent!r}", hint, **where)
        elif parent[0].facet != code.facet:
            out.add(
                f"parent {code.parent!r} is in facet {parent[0].facet!r}",
                "a parent must be in the same facet; move the code or pick another parent",
                **where,
            )
    out += _cycles({c.id: c.parent for c, _ in by_id.values()})
    for facet, line in zip(cb.facets, flines, strict=True):
        if facet.polarity is not None:
            _polarity_problems(facet, by_id, out, line)
    for facet, line in zip(cb.facets, flines, strict=True):
        top = [c for c in cb.codes if c.facet == facet.id and c.parent is None]
        where = {"facet": facet.id, "line": line}
        if not any(c.facet == facet.id for c in cb.codes):
            out.add("the facet has no codes", "add codes or remove the facet", **where)
        elif facet.exclusive and len(top) < 2:
            out.add(
                f"an exclusive facet needs at least 2 top-level codes to choose from, found {len(top)}",
                "add another code or set 'exclusive: false'",
                **where,
            )
    return out


def _polarity_problems(
    facet: Facet, by_id: Mapping[str, tuple[Code, int | None]], out: _Problems, line: int | None
) -> None:
    polarity = facet.polarity
    assert polarity is not None
    where: dict[str, Any] = {"facet": facet.id, "line": line}
    if not facet.exclusive:
        out.add(
            "'polarity' needs an exclusive facet (one of two opposite codes per segment)",
            "set 'exclusive: true' or remove 'polarity'",
            **where,
        )
    for role, code_id in (("negative", polarity.negative), ("positive", polarity.positive)):
        found = by_id.get(code_id)
        if found is None or found[0].facet != facet.id:
            ids = sorted(c.id for c, _ in by_id.values() if c.facet == facet.id)
            out.add(
                f"polarity {role} {code_id!r} is not a code of this facet",
                f"use one of {ids}",
                **where,
            )
    if polarity.negative == polarity.positive:
        out.add("polarity negative and positive are the same code", "name two codes", **where)
    if len(polarity.pairs) < MIN_POLARITY_PAIRS:
        out.add(
            f"polarity has {len(polarity.pairs)} pairs, needs at least {MIN_POLARITY_PAIRS}",
            "add pairs of statements that differ only in stance, negative first, on varied "
            "topics (staff, time, money, tools, patients)",
            **where,
        )


def _cycles(parents: Mapping[str, str | None]) -> list[str]:
    out = _Problems()
    reported: set[str] = set()
    for start in parents:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node in parents and node not in chain:
            chain.append(node)
            node = parents[node]
        if node is not None and node in chain and node not in reported:
            cycle = chain[chain.index(node) :]
            reported.update(cycle)
            out.add(
                f"the parents form a cycle: {' -> '.join([*cycle, node])}",
                "give one of these codes a parent outside the cycle, or none",
                code=node,
            )
    return out


def validate(codebook: Codebook, source: str = "<codebook>") -> None:
    """Raise :class:`CodebookError` listing every problem of ``codebook`` (or return None).

    >>> validate(builtin_codebook())
    """
    _raise(source, _problems(codebook))


def _canonical(cb: Codebook) -> Codebook:
    """Order codes facet by facet, depth first; siblings keep their relative order."""
    kids: dict[tuple[str, str | None], list[int]] = {}
    for i, code in enumerate(cb.codes):
        kids.setdefault((code.facet, code.parent), []).append(i)
    order: list[int] = []
    seen: set[int] = set()

    def walk(facet: str, parent: str | None) -> None:
        for i in kids.get((facet, parent), []):
            if i not in seen:
                seen.add(i)
                order.append(i)
                walk(facet, cb.codes[i].id)

    for facet in cb.facets:
        walk(facet.id, None)
    order += [i for i in range(len(cb.codes)) if i not in seen]
    return replace(cb, codes=tuple(cb.codes[i] for i in order))


# --------------------------------------------------------------------------
# Loading and dumping
# --------------------------------------------------------------------------


def list_builtin() -> list[str]:
    """Names of the codebooks shipped with qual_nlp.

    >>> "cm-implementation" in list_builtin()
    True
    """
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=8)
def builtin_codebook(name: str = DEFAULT_CODEBOOK) -> Codebook:
    """Load a built-in codebook by name (see :func:`list_builtin`).

    >>> [f.id for f in builtin_codebook().facets]
    ['valence', 'cfir_domain', 'cmo', 'cm_component']
    """
    if name not in list_builtin():
        raise CodebookError(
            f"{name!r} is not a built-in codebook. Fix: use one of {list_builtin()} "
            "or pass the path of a YAML codebook file."
        )
    text = resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_codebook(text, f"built-in codebook {name}.yaml")


def load_codebook(path_or_name: str | Path) -> Codebook:
    """Load a codebook from a YAML file, or a built-in one by name.

    >>> load_codebook("cm-implementation").name
    'cm-implementation'
    """
    path = Path(path_or_name).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CodebookError(
                f"{path}: not UTF-8 text (byte {exc.start}). Fix: save the file as UTF-8."
            ) from None
        return parse_codebook(text, str(path))
    if str(path_or_name) in list_builtin():
        return builtin_codebook(str(path_or_name))
    raise CodebookError(
        f"{path_or_name}: no such codebook file, and not a built-in codebook "
        f"({', '.join(list_builtin())}). Fix: check the path or use a built-in name."
    )


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


# --------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------


def get_code(cb: Codebook, ref: str) -> Code:
    """The code named by a path ("facet/id") or a bare id.

    >>> get_code(builtin_codebook(), "valence/barrier").name
    'Barrier'
    """
    facet, _, code_id = ref.rpartition("/")
    for code in cb.codes:
        if code.id == code_id and (not facet or code.facet == facet):
            return code
    close = difflib.get_close_matches(ref, [c.path for c in cb.codes] + [c.id for c in cb.codes], 3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise RecordNotFoundError(f"codebook {cb.name!r} has no code {ref!r}.{hint}")


def _facet(cb: Codebook, facet_id: str) -> Facet:
    for facet in cb.facets:
        if facet.id == facet_id:
            return facet
    raise RecordNotFoundError(
        f"codebook {cb.name!r} has no facet {facet_id!r}; its facets are "
        f"{[f.id for f in cb.facets]}."
    )


def code_paths(cb: Codebook, facet: str | None = None) -> list[str]:
    """Every code path, facet by facet and depth first (optionally of one facet only)."""
    return [c.path for c in cb.codes if facet is None or c.facet == facet]


def children_of(cb: Codebook, ref: str) -> list[Code]:
    """Direct children of a code (path or id), or a facet's top-level codes for a facet id.

    >>> [c.id for c in children_of(builtin_codebook(), "valence")]
    ['barrier', 'facilitator']
    """
    if "/" not in ref and any(f.id == ref for f in cb.facets):
        return [c for c in cb.codes if c.facet == ref and c.parent is None]
    code = get_code(cb, ref)
    return [c for c in cb.codes if c.facet == code.facet and c.parent == code.id]


def descendants(cb: Codebook, ref: str) -> list[str]:
    """Paths of every code below ``ref`` (depth first)."""
    out: list[str] = []
    for child in children_of(cb, get_code(cb, ref).path):
        out += [child.path, *descendants(cb, child.path)]
    return out


def ancestors(cb: Codebook, path: str) -> list[str]:
    """Paths of a code's parent, grandparent, … (nearest first), for roll-up in matrices."""
    by_id = {c.id: c for c in cb.codes}
    code = get_code(cb, path)
    out: list[str] = []
    while code.parent is not None and code.parent in by_id and len(out) < len(by_id):
        code = by_id[code.parent]
        out.append(code.path)
    return out


def facet_of(cb: Codebook, ref: str) -> Facet:
    """The facet a code (path or id) belongs to."""
    return _facet(cb, get_code(cb, ref).facet)


def prototype_texts(
    cb: Codebook, include_descendants: bool = False
) -> dict[str, dict[str, list[str]]]:
    """Texts that stand for each code in zero-shot scoring: {facet: {code path: [texts]}}.

    The texts are "Name: definition", the inclusion note and each example; with
    ``include_descendants`` a code also gets its descendants' examples.

    >>> texts = prototype_texts(builtin_codebook())
    >>> texts["valence"]["valence/barrier"][0].startswith("Barrier: ")
    True
    """
    out: dict[str, dict[str, list[str]]] = {f.id: {} for f in cb.facets}
    for code in cb.codes:
        texts = [f"{code.name}: {code.definition}"]
        texts += [code.inclusion] if code.inclusion.strip() else []
        texts += list(code.examples)
        if include_descendants:
            for path in descendants(cb, code.path):
                texts += [e for e in get_code(cb, path).examples if e not in texts]
        out[code.facet][code.path] = texts
    return out
