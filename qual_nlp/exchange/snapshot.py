"""Bringing a REFI-QDA project (or any :class:`ProjectSnapshot`) into a project store.

Sources are segmented like any imported transcript (speaker turns are detected
in their text); codings keep their exact character spans and are attached to the
segment they overlap most, so agreement, training and matrices can use them.
Codes missing from the project's codebook are added to it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from qual_nlp.errors import CodebookError
from qual_nlp.records import (
    Codebook,
    Coding,
    Document,
    MemoLink,
    ParsedDocument,
    ProjectSnapshot,
    Turn,
)

#: Project metadata key of the REFI-QDA GUIDs read from other programs (identity → GUID).
GUIDS_KEY = "refi_guids"


def merge_codebooks(current: Codebook | None, incoming: Codebook | None) -> Codebook | None:
    """The project codebook plus the facets and codes of ``incoming`` it lacks (by path)."""
    if incoming is None:
        return current
    if current is None:
        return incoming
    facets = {f.id for f in current.facets}
    paths = {c.path for c in current.codes}
    ids = {c.id: c.facet for c in current.codes}
    new_codes = []
    for code in incoming.codes:
        if code.path in paths:
            continue
        if code.id in ids:
            raise CodebookError(
                f"code id {code.id!r} of facet {code.facet!r} in the imported file is already "
                f"used in facet {ids[code.id]!r} of the project's codebook. Import into a new "
                "project, or rename one of the codes first."
            )
        new_codes.append(code)
        ids[code.id] = code.facet
    new_facets = [f for f in incoming.facets if f.id not in facets]
    if not new_codes and not new_facets:
        return current
    return replace(
        current,
        facets=current.facets + tuple(new_facets),
        codes=current.codes + tuple(new_codes),
    )


def parse_source(document: Document) -> ParsedDocument:
    """Turns of an exchanged source: speaker turns when its text has them, else paragraphs."""
    from qual_nlp.ingest.formats import parse_bytes

    parsed = parse_bytes(f"{Path(document.name).stem}.txt", document.text.encode("utf-8"))
    if parsed.text == document.text:
        return replace(parsed, name=document.name, source_format=document.source_format)
    turns = []
    offset = 0
    for block in document.text.split("\n\n"):
        stripped = block.strip()
        if stripped:
            start = offset + block.index(stripped)
            turns.append(Turn(start, start + len(stripped), kind="paragraph"))
        offset += len(block) + 2
    return ParsedDocument(document.name, document.text, tuple(turns), document.source_format, False)


def store_snapshot(
    project: Any, snapshot: ProjectSnapshot, actor: str = "system"
) -> dict[str, int]:
    """Add a snapshot's cases, documents, codes, coders and codings to ``project``.

    Documents already present (same name and text) are kept, not duplicated.
    Returns counts of what was added: documents, segments, codings, codes, cases.
    """
    from qual_nlp.ingest.segment import segment_document

    store = project.store
    current = store.load_codebook()
    merged = merge_codebooks(current, snapshot.codebook)
    if merged is not None:
        store.save_codebook(merged, actor=actor)
    for case in snapshot.cases:
        store.upsert_case(case.name, case.attributes, actor=actor)
    known = {d.name: d for d in store.documents()}
    added = segments = 0
    for doc in snapshot.documents:
        if doc.name in known:
            if known[doc.name].text != doc.text:
                raise CodebookError(
                    f"{doc.name}: a different document with this name is already in the "
                    "project. Import into a new project, or rename the stored document."
                )
            continue
        parsed = parse_source(doc)
        roles = {p.label: p.role for p in snapshot.participants if p.case == doc.case and p.role}
        interviewers = {p.label for p in snapshot.participants if p.is_interviewer}
        spans = segment_document(parsed)
        store.add_document(doc, spans, roles=roles, interviewers=interviewers, actor=actor)
        added += 1
        segments += len(spans)
    for coder in snapshot.coders:
        store.ensure_coder(coder.name, coder.role)
    codings = _attach(project, snapshot.codings)
    store.codings.add(codings, actor=actor)
    if snapshot.guids:  # kept, so a re-export is recognised by the program it came from
        kept = dict(store.get_meta(GUIDS_KEY) or {})
        if any(kept.get(k) != v for k, v in snapshot.guids.items()):
            store.set_meta(GUIDS_KEY, {**kept, **snapshot.guids}, actor=actor)
    memos = _store_memos(store, snapshot, merged, actor)
    new_codes = len(merged.codes) if merged is not None else 0
    new_codes -= len(current.codes) if current is not None else 0
    return {
        "documents": added,
        "segments": segments,
        "codings": len(codings),
        "codes": new_codes,
        "cases": len(snapshot.cases),
        "memos": memos,
    }


def _store_memos(store: Any, snapshot: ProjectSnapshot, codebook: Any, actor: str) -> int:
    """Add the snapshot's memos (notes) not already in the project; a link to a code,
    document or case the project does not have is dropped, and a passage outside its
    document's text too."""
    if not snapshot.memos:
        return 0
    codes = {c.path for c in codebook.codes} if codebook is not None else set()
    sizes = {d.name: len(d.text) for d in store.documents()}
    cases = {c.name for c in store.cases()}

    def kept(link: MemoLink) -> bool:
        if link.kind == "code":
            return link.target in codes
        if link.kind == "case":
            return link.target in cases
        if link.kind == "document":
            return link.target in sizes
        size = sizes.get(link.target)
        return (
            size is not None
            and link.start is not None
            and link.end is not None
            and 0 <= link.start < link.end <= size
        )

    have = {(m.title, m.text, m.author, m.links) for m in store.memos.all()}
    added = 0
    for memo in snapshot.memos:
        memo = replace(memo, links=tuple(x for x in memo.links if kept(x)), id=None)
        if (memo.title, memo.text, memo.author, memo.links) in have:
            continue  # the same project imported again
        store.memos.add(memo, actor=actor)
        have.add((memo.title, memo.text, memo.author, memo.links))
        added += 1
    return added


def _attach(project: Any, codings: tuple[Coding, ...]) -> list[Coding]:
    """Give each coding the segment it overlaps most; skip codings already stored."""
    if not codings:
        return []
    segments = project.segments()
    by_doc = {name: frame for name, frame in segments.groupby("document")}
    existing = project.codings()
    seen = set(
        zip(
            existing["document"],
            existing["start"],
            existing["end"],
            existing["code"],
            existing["coder"],
            existing["status"],
            strict=True,
        )
    )
    out = []
    for c in codings:
        key = (c.document, c.start, c.end, c.code, c.coder, c.status)
        if key in seen:
            continue
        seen.add(key)
        frame = by_doc.get(c.document)
        segment_id = None
        if frame is not None:
            overlap = (frame["end"].clip(upper=c.end) - frame["start"].clip(lower=c.start)).clip(
                lower=0
            )
            if overlap.max() > 0:
                segment_id = int(frame.loc[overlap.idxmax(), "segment_id"])
        out.append(replace(c, segment_id=segment_id, id=None))
    return out
