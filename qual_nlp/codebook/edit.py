"""Pure edit operations on codebooks: add, rename, merge, move and remove codes.

Each returns a new, validated :class:`~qual_nlp.records.Codebook` and, where code
paths change, a mapping old path → new path so the store can move codings and
none is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from qual_nlp.codebook.checks import _problems, _raise
from qual_nlp.codebook.tree import _canonical, _facet, descendants, get_code
from qual_nlp.errors import CodebookError
from qual_nlp.records import Code, Codebook, Facet


@dataclass(frozen=True)
class Removal:
    """What :func:`remove_code` did: paths removed, children lifted, codings lost."""

    path: str
    removed: tuple[str, ...]  # the code and, with remove_children, its descendants
    lifted: tuple[str, ...] = ()  # children re-parented to the removed code's parent
    codings: int = 0  # codings on the removed paths (they must be deleted)


def _finish(
    cb: Codebook, codes: Iterable[Code], what: str, renamed: Mapping[str, str] | None = None
) -> Codebook:
    codes = tuple(codes)
    facets = _keep_polarities(cb, codes, renamed or {})
    new = _canonical(replace(cb, codes=codes, facets=facets))
    _raise(f"codebook {cb.name!r}, {what}", _problems(new))
    return new


def _keep_polarities(
    cb: Codebook, codes: Iterable[Code], renamed: Mapping[str, str]
) -> tuple[Facet, ...]:
    """Facets with their polarity poles following merges (``renamed``: old id → new id);
    a polarity whose poles left the facet, or became one code, is dropped."""
    facet_of = {c.id: c.facet for c in codes}
    out = []
    for facet in cb.facets:
        polarity = facet.polarity
        if polarity is not None:
            negative = renamed.get(polarity.negative, polarity.negative)
            positive = renamed.get(polarity.positive, polarity.positive)
            intact = (
                negative != positive
                and facet_of.get(negative) == facet.id
                and facet_of.get(positive) == facet.id
            )
            polarity = replace(polarity, negative=negative, positive=positive) if intact else None
            facet = replace(facet, polarity=polarity)
        out.append(facet)
    return tuple(out)


def _with_facets(codes: list[Code]) -> list[Code]:
    """Give every code its root ancestor's facet (after re-parenting across facets)."""
    by_id = {c.id: c for c in codes}

    def facet(code: Code, depth: int = 0) -> str:
        parent = by_id.get(code.parent or "")
        return facet(parent, depth + 1) if parent and depth < len(by_id) else code.facet

    return [replace(c, facet=facet(c)) for c in codes]


def _path_changes(before: Codebook, after: Iterable[Code]) -> dict[str, str]:
    old = {c.id: c.path for c in before.codes}
    return {old[c.id]: c.path for c in after if c.id in old and old[c.id] != c.path}


def add_code(cb: Codebook, code: Code) -> Codebook:
    """Add ``code`` (its ``facet`` and ``parent`` say where) after its siblings.

    >>> from qual_nlp.codebook import ancestors, builtin_codebook
    >>> cb = add_code(builtin_codebook(), Code("emergent_trust", "cmo", "Trust",
    ...               parent="mechanism", definition="Patients come to trust the nurse."))
    >>> ancestors(cb, "cmo/emergent_trust")
    ['cmo/mechanism']
    """
    if any(c.id == code.id for c in cb.codes):
        raise CodebookError(
            f"codebook {cb.name!r}: cannot add code {code.id!r}, the id is already used by "
            f"{get_code(cb, code.id).path!r}. Fix: choose an id unique in the codebook."
        )
    _facet(cb, code.facet)
    if code.parent is not None:
        get_code(cb, code.parent)
    return _finish(cb, [*cb.codes, code], f"adding code {code.id!r}")


def rename_code(cb: Codebook, code_id: str, new_name: str) -> Codebook:
    """Give a code a new display name; its id and path (and so its codings) stay."""
    code = get_code(cb, code_id)
    if not isinstance(new_name, str) or not new_name.strip():
        raise CodebookError(
            f"codebook {cb.name!r}: cannot rename {code.path!r} to {new_name!r}. "
            "Fix: give a non-blank name."
        )
    codes = [replace(c, name=new_name.strip()) if c is code else c for c in cb.codes]
    return _finish(cb, codes, f"renaming {code.path!r}")


def merge_codes(
    cb: Codebook, source_ids: Iterable[str], target_id: str
) -> tuple[Codebook, dict[str, str]]:
    """Merge codes into ``target_id``: sources disappear, their children move under the target.

    The target keeps its definition and gains the sources' examples. Returns the new
    codebook and ``{old path: new path}`` for every path that changed (the sources, and
    the descendants of sources that came from another facet).

    >>> from qual_nlp.codebook import builtin_codebook
    >>> cb, moved = merge_codes(builtin_codebook(), ["inner_incentive_systems"],
    ...                         "inner_available_resources")
    >>> moved
    {'cfir_domain/inner_incentive_systems': 'cfir_domain/inner_available_resources'}
    """
    target = get_code(cb, target_id)
    sources = list({c.id: c for c in (get_code(cb, s) for s in source_ids)}.values())
    if not sources:
        raise CodebookError(f"codebook {cb.name!r}: no codes to merge. Fix: name the sources.")
    for source in sources:
        if source.id == target.id:
            raise CodebookError(
                f"codebook {cb.name!r}: cannot merge {target.path!r} into itself. "
                "Fix: leave the target out of the sources."
            )
        if target.path in descendants(cb, source.path):
            raise CodebookError(
                f"codebook {cb.name!r}: cannot merge {source.path!r} into its own descendant "
                f"{target.path!r}. Fix: move {target.path!r} out first (move_code), or merge "
                f"{target.path!r} into {source.path!r} instead."
            )
    gone = {s.id for s in sources}
    examples = list(target.examples)
    examples += [e for s in sources for e in s.examples if e not in examples]
    kept, adopted = [], []
    for code in cb.codes:
        if code.id in gone:
            continue
        if code.id == target.id:
            kept.append(replace(code, examples=tuple(examples)))
        elif code.parent in gone:
            adopted.append(replace(code, parent=target.id, facet=target.facet))
        else:
            kept.append(code)
    codes = _with_facets(kept + adopted)
    mapping = {s.path: target.path for s in sources}
    mapping.update(_path_changes(cb, codes))
    names = ", ".join(repr(s.path) for s in sources)
    merged = {s.id: target.id for s in sources}
    return _finish(cb, codes, f"merging {names} into {target.path!r}", merged), mapping


def move_code(
    cb: Codebook, code_id: str, new_parent_id: str | None, new_facet: str | None = None
) -> tuple[Codebook, dict[str, str]]:
    """Move a code (with its subtree) under another parent, or to a facet's top level.

    Returns the new codebook and ``{old path: new path}`` (empty unless the facet changes).

    >>> from qual_nlp.codebook import builtin_codebook
    >>> cb, moved = move_code(builtin_codebook(), "outer_financing", None, "cmo")
    >>> moved
    {'cfir_domain/outer_financing': 'cmo/outer_financing'}
    """
    code = get_code(cb, code_id)
    if new_parent_id is not None:
        parent = get_code(cb, new_parent_id)
        if new_facet is not None and new_facet != parent.facet:
            raise CodebookError(
                f"codebook {cb.name!r}: cannot move {code.path!r} under {parent.path!r} and into "
                f"facet {new_facet!r}. Fix: a parent fixes the facet; leave new_facet out."
            )
        if parent.id == code.id or parent.path in descendants(cb, code.path):
            raise CodebookError(
                f"codebook {cb.name!r}: cannot move {code.path!r} under {parent.path!r}, which is "
                "the code itself or one of its descendants. Fix: pick a parent outside its subtree."
            )
        facet, parent_id = parent.facet, parent.id
    else:
        facet, parent_id = _facet(cb, new_facet or code.facet).id, None
    if (facet, parent_id) == (code.facet, code.parent):
        return cb, {}
    codes = [c for c in cb.codes if c is not code]
    codes = _with_facets([*codes, replace(code, parent=parent_id, facet=facet)])
    where = parent_id or f"the top of facet {facet!r}"
    return _finish(cb, codes, f"moving {code.path!r} to {where}"), _path_changes(cb, codes)


def remove_code(
    cb: Codebook,
    code_id: str,
    *,
    codings: Mapping[str, int] | None = None,
    force: bool = False,
    remove_children: bool = False,
) -> tuple[Codebook, Removal]:
    """Remove a code; its children move up to its parent unless ``remove_children``.

    ``codings`` maps code paths to how many codings use them (the store knows). If any
    removed path has codings the removal is refused unless ``force`` is true; the
    returned :class:`Removal` lists the paths whose codings the store must delete.

    >>> from qual_nlp.codebook import builtin_codebook
    >>> cb, removal = remove_code(builtin_codebook(), "inner_mission_alignment")
    >>> removal.removed
    ('cfir_domain/inner_mission_alignment',)
    """
    code = get_code(cb, code_id)
    removed = [code.path] + (descendants(cb, code.path) if remove_children else [])
    counts = codings or {}
    lost = sum(counts.get(p, 0) for p in removed)
    if lost and not force:
        detail = ", ".join(f"{p}: {counts[p]}" for p in removed if counts.get(p))
        raise CodebookError(
            f"codebook {cb.name!r}: removing {code.path!r} would delete {lost} codings ({detail}). "
            "Fix: merge it into another code to keep them, or remove it with force=True."
        )
    gone = {p.rpartition("/")[2] for p in removed}
    lifted = [c for c in cb.codes if c.parent == code.id and c.id not in gone]
    codes = [
        replace(c, parent=code.parent) if c.parent == code.id else c
        for c in cb.codes
        if c.id not in gone
    ]
    new = _finish(cb, codes, f"removing {code.path!r}")
    return new, Removal(code.path, tuple(removed), tuple(c.path for c in lifted), lost)
