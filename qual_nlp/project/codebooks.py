"""Codebooks as users give them: a built-in name, a YAML, REFI-QDA (.qdc) or Taguette CSV
file, or a record (:func:`read_codebook`); and Taguette's tags as a facet of codes
(:func:`tags_codebook`, :func:`tag_paths`, :func:`tag_path`)."""

from __future__ import annotations

from pathlib import Path

from qual_nlp.records import Code, Codebook

__all__ = ["read_codebook", "tag_path", "tag_paths", "tags_codebook"]


def tag_paths(codebook: Codebook | None) -> dict[str, str]:
    """Tag → code path: a code's path, id or name (also in lower case) all find it."""
    out: dict[str, str] = {}
    for code in codebook.codes if codebook else ():
        for key in (code.name, code.id, code.path):
            out.setdefault(key, code.path)
            out.setdefault(key.lower(), code.path)
    return out


def tag_path(paths: dict[str, str], tag: str) -> str | None:
    return paths.get(tag) or paths.get(tag.lower())


def tags_codebook(codebook: Codebook | None, tags: dict[str, str]) -> Codebook | None:
    """Codes (facet ``taguette``) for the tags (name → description) the codebook lacks."""
    from qual_nlp.exchange.taguette import DEFAULT_FACET, tag_ids
    from qual_nlp.records import Facet

    known = tag_paths(codebook)
    new = {t: d for t, d in tags.items() if tag_path(known, t) is None}
    if not new:
        return None
    taken = [c.id for c in codebook.codes] if codebook else []
    ids = tag_ids([*taken, *new])
    codes = tuple(Code(ids[t], DEFAULT_FACET, t, definition=d or t) for t, d in new.items())
    facet = Facet(DEFAULT_FACET, "Taguette tags", False, "Tags brought over from Taguette")
    return Codebook("taguette", (facet,), codes)


#: What ``init --codebook`` and :meth:`Project.set_codebook` read, for messages.
CODEBOOK_FORMATS = (
    "a built-in codebook name ({builtin}), a YAML codebook (.yaml, .yml), a REFI-QDA "
    "codebook (.qdc) or a Taguette codebook CSV (.csv with a 'tag' column)"
)


def read_codebook(codebook: str | Path | Codebook) -> Codebook:
    """A codebook from a record, a built-in name, or a .yaml/.yml, .qdc or Taguette .csv file.

    >>> read_codebook("cm-implementation").name
    'cm-implementation'
    """
    from qual_nlp.codebook import list_builtin, load_codebook
    from qual_nlp.errors import CodebookError, QualNLPError

    if isinstance(codebook, Codebook):
        return codebook
    formats = CODEBOOK_FORMATS.format(builtin=", ".join(list_builtin()))
    suffix = Path(str(codebook)).suffix.lower()
    if suffix == ".qdc":
        from qual_nlp.exchange.refi_import import read_qdc

        return read_qdc(codebook)
    if suffix == ".csv":
        from qual_nlp.exchange.taguette import read_codebook_csv

        try:
            return read_codebook_csv(codebook)
        except QualNLPError as exc:
            raise CodebookError(f"{exc} A codebook can be {formats}.") from None
    if suffix not in ("", ".yaml", ".yml") and Path(str(codebook)).is_file():
        raise CodebookError(
            f"{codebook}: a {suffix} file is not a codebook qual_nlp reads. Fix: give {formats}."
        )
    try:
        return load_codebook(codebook)
    except CodebookError as exc:
        if Path(str(codebook)).is_file():
            raise
        raise CodebookError(f"{exc} A codebook can be {formats}.") from None
