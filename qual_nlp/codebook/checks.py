"""Checks of a codebook: every problem found, each naming where it is and how to fix it,
then raised together as one :class:`~qual_nlp.errors.CodebookError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from qual_nlp.errors import CodebookError
from qual_nlp.records import Code, Codebook, Facet

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
#: Contrasting pairs a polarity needs before its direction means anything.
MIN_POLARITY_PAIRS = 3


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

    >>> from qual_nlp.codebook.load import builtin_codebook
    >>> validate(builtin_codebook())
    """
    _raise(source, _problems(codebook))
