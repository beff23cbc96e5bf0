"""De-identification records: detections and their review, the documents detection has
seen, the project dictionary and the pseudonym map.

Part of :class:`~qual_nlp.storage.store.Store` (``store.deid``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import and_, delete, insert, select, update

from qual_nlp.errors import RecordNotFoundError, ValidationError
from qual_nlp.records import DEID_KINDS, DEID_STATUSES, DeidTerm, Detection
from qual_nlp.storage import schema as t
from qual_nlp.storage.journal import Journal, document_ids, now

_REVIEWED = ("accepted", "rejected", "added")


class DeidStore:
    """The de-identification tables of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    # ------------------------------------------------------------ processed
    def processed(self) -> dict[str, tuple[str, str, str]]:
        """Document name → (sha256, language, config) of the text detection last ran on."""
        d, docs = t.deid_documents, t.documents
        query = select(docs.c.name, d.c.sha256, d.c.language, d.c.config).join(
            docs, d.c.document_id == docs.c.id
        )
        with self.journal.engine.connect() as conn:
            return {name: (sha, lang, cfg) for name, sha, lang, cfg in conn.execute(query).all()}

    def save_run(
        self,
        document: str,
        detections: Sequence[Detection],
        *,
        sha256: str,
        language: str,
        config: str,
        text_changed: bool,
        actor: str = "system",
    ) -> int:
        """Store a detection run over one document; returns how many detections it added.

        When the text changed, every earlier detection goes (its offsets no longer hold);
        otherwise only the suggestions are replaced and a lead's decisions stay.
        """
        dd, d = t.deid_detections, t.deid_documents
        after = {"detections": len(detections), "language": language}
        with self.journal.write(actor, "detect", "deid", document, after=after) as conn:
            doc_id = document_ids(conn).get(document)
            if doc_id is None:
                raise RecordNotFoundError(f"document {document!r} is not in the project")
            gone = dd.c.document_id == doc_id
            if not text_changed:
                gone = and_(gone, dd.c.status == "suggested")
            conn.execute(delete(dd).where(gone))
            reviewed = {
                (s, e)
                for s, e in conn.execute(
                    select(dd.c.start, dd.c.end).where(dd.c.document_id == doc_id)
                ).all()
            }
            stamp = now()
            rows = [
                {
                    "document_id": doc_id,
                    "start": x.start,
                    "end": x.end,
                    "kind": x.kind,
                    "status": "suggested",
                    "score": x.score,
                    "source": x.source,
                    "text_hash": x.text_hash,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for x in detections
                if (x.start, x.end) not in reviewed
            ]
            if rows:
                conn.execute(insert(dd), rows)
            conn.execute(delete(d).where(d.c.document_id == doc_id))
            conn.execute(
                insert(d).values(
                    document_id=doc_id,
                    sha256=sha256,
                    language=language,
                    config=config,
                    processed_at=stamp,
                )
            )
        return len(rows)

    # ----------------------------------------------------------- detections
    def detections(
        self, document: str | None = None, statuses: Sequence[str] | None = None
    ) -> list[Detection]:
        """Detections in document order (then by start)."""
        dd, docs = t.deid_detections, t.documents
        query = select(dd, docs.c.name.label("document")).join(docs, dd.c.document_id == docs.c.id)
        if document is not None:
            query = query.where(docs.c.name == document)
        if statuses:
            query = query.where(dd.c.status.in_(list(statuses)))
        query = query.order_by(docs.c.id, dd.c.start, dd.c.end)
        with self.journal.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Detection(
                document=r["document"],
                start=int(r["start"]),
                end=int(r["end"]),
                kind=r["kind"],
                status=r["status"],
                score=r["score"],
                source=r["source"],
                text_hash=r["text_hash"],
                id=int(r["id"]),
            )
            for r in rows
        ]

    def set_status(self, ids: Sequence[int], status: str, actor: str = "system") -> int:
        """Accept or reject detections by id; returns how many changed."""
        if status not in ("accepted", "rejected", "suggested"):
            raise ValidationError(
                f"detection status {status!r} is not one of accepted, rejected, suggested"
            )
        dd = t.deid_detections
        wanted = [int(i) for i in ids]
        with self.journal.write(actor, status, "deid", ",".join(map(str, wanted))) as conn:
            found = {
                int(i) for (i,) in conn.execute(select(dd.c.id).where(dd.c.id.in_(wanted))).all()
            }
            missing = sorted(set(wanted) - found)
            if missing:
                raise RecordNotFoundError(
                    f"no detection with id {', '.join(map(str, missing))}. "
                    "List them with: qual-nlp deid PROJECT --list"
                )
            result = conn.execute(
                update(dd)
                .where(and_(dd.c.id.in_(wanted), dd.c.status != "added"))
                .values(status=status, updated_at=now())
            )
        return int(result.rowcount or 0)

    def add(self, detection: Detection, actor: str = "system") -> int:
        """A span a lead marks by hand (status ``added``); returns its id."""
        if detection.kind not in DEID_KINDS:
            raise ValidationError(f"kind {detection.kind!r} is not one of {', '.join(DEID_KINDS)}")
        if detection.status not in DEID_STATUSES:
            raise ValidationError(f"status {detection.status!r} is not one of {DEID_STATUSES}")
        dd = t.deid_detections
        after = {"start": detection.start, "end": detection.end, "kind": detection.kind}
        with self.journal.write(actor, "add", "deid", detection.document, after=after) as conn:
            doc_id = document_ids(conn).get(detection.document)
            if doc_id is None:
                raise RecordNotFoundError(f"document {detection.document!r} is not in the project")
            stamp = now()
            return int(
                conn.execute(
                    insert(dd).values(
                        document_id=doc_id,
                        start=detection.start,
                        end=detection.end,
                        kind=detection.kind,
                        status=detection.status,
                        score=detection.score,
                        source=detection.source or "lead",
                        text_hash=detection.text_hash,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    # ----------------------------------------------------------- dictionary
    def terms(self) -> list[DeidTerm]:
        with self.journal.engine.connect() as conn:
            rows = conn.execute(select(t.deid_terms).order_by(t.deid_terms.c.id)).mappings().all()
        return [DeidTerm(r["term"], r["mode"], r["kind"], int(r["id"])) for r in rows]

    def add_term(self, term: DeidTerm, actor: str = "system") -> None:
        """Add (or re-kind) a dictionary term."""
        if term.mode not in ("always", "never"):
            raise ValidationError(f"dictionary mode {term.mode!r} is not 'always' or 'never'")
        if term.kind not in DEID_KINDS:
            raise ValidationError(f"kind {term.kind!r} is not one of {', '.join(DEID_KINDS)}")
        if not term.term.strip():
            raise ValidationError("a dictionary term cannot be empty")
        dt = t.deid_terms
        after = {"term": term.term, "mode": term.mode, "kind": term.kind}
        with self.journal.write(actor, "add", "deid_term", term.term, after=after) as conn:
            conn.execute(
                delete(dt).where(and_(dt.c.term == term.term.strip(), dt.c.mode == term.mode))
            )
            conn.execute(insert(dt).values(term=term.term.strip(), mode=term.mode, kind=term.kind))

    def remove_term(self, term: str, mode: str, actor: str = "system") -> None:
        dt = t.deid_terms
        with self.journal.write(actor, "remove", "deid_term", term) as conn:
            conn.execute(delete(dt).where(and_(dt.c.term == term, dt.c.mode == mode)))

    # ------------------------------------------------------------ pseudonyms
    def pseudonyms(self) -> dict[str, str]:
        """Key hash → label."""
        p = t.deid_pseudonyms
        with self.journal.engine.connect() as conn:
            return {h: label for h, label in conn.execute(select(p.c.key_hash, p.c.label)).all()}

    def add_pseudonyms(self, entries: Mapping[str, tuple[str, str]], actor: str = "system") -> None:
        """Record new pseudonyms (key hash → (kind, label)); existing keys are kept."""
        if not entries:
            return
        p = t.deid_pseudonyms
        with self.journal.write(actor, "add", "deid_pseudonyms", after=len(entries)) as conn:
            known = {h for (h,) in conn.execute(select(p.c.key_hash)).all()}
            stamp = now()
            rows = [
                {"key_hash": h, "kind": kind, "label": label, "created_at": stamp}
                for h, (kind, label) in entries.items()
                if h not in known
            ]
            if rows:
                conn.execute(insert(p), rows)
