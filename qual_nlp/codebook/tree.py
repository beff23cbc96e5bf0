"""Queries on a codebook's code tree: codes by path or id, a code's facet, children,
descendants and ancestors, the canonical depth-first order, and the prototype texts
that stand for each code in zero-shot scoring.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from qual_nlp.errors import RecordNotFoundError
from qual_nlp.records import Code, Codebook, Facet


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


def get_code(cb: Codebook, ref: str) -> Code:
    """The code named by a path ("facet/id") or a bare id.

    >>> from qual_nlp.codebook.load import builtin_codebook
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

    >>> from qual_nlp.codebook.load import builtin_codebook
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

    >>> from qual_nlp.codebook.load import builtin_codebook
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
