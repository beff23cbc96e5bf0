"""The project store: the one place that reads and writes the database.

A :class:`Store` holds the project's documents, segments, cases, participants,
codebook, coders and embedding cache itself, and *has* the parts that deal with the
rest: ``store.codings`` (codings and reviews), ``store.queue`` (review priorities),
``store.model_versions`` and ``store.assignments``. Every write of every part goes
through one :class:`~qual_nlp.storage.journal.Journal`: one transaction with its entry
in the append-only event log, so a failed import or edit leaves nothing half-written.
Callers get plain records or DataFrames back, never rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.engine import Connection, Engine

from qual_nlp.errors import RecordNotFoundError, StorageError
from qual_nlp.records import (
    SEGMENT_COLUMNS,
    Case,
    Code,
    Codebook,
    Coder,
    Document,
    Facet,
    Participant,
    Polarity,
    SegmentSpan,
)
from qual_nlp.storage import schema as t
from qual_nlp.storage.assignments import Assignments
from qual_nlp.storage.codings import Codings
from qual_nlp.storage.deid import DeidStore
from qual_nlp.storage.dialect import binary, insert_ignore, upsert
from qual_nlp.storage.engine import check_reachable, make_engine, migrate, writing
from qual_nlp.storage.jobs import Jobs
from qual_nlp.storage.journal import Journal, code_ids, now, text_hash, to_json
from qual_nlp.storage.journal import ensure_coder as _ensure_coder
from qual_nlp.storage.memos import Memos
from qual_nlp.storage.models import ModelVersions
from qual_nlp.storage.queue import ReviewQueue
from qual_nlp.storage.tokens import Tokens
from qual_nlp.storage.users import Users

__all__ = ["Store", "now", "text_hash"]


class Store:
    """A qual_nlp project database.

    >>> store = Store.open("study.qnlp", create=True)  # doctest: +SKIP
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.journal = Journal(engine)
        #: one transaction plus its event (:meth:`Journal.write`); the event log
        self.write = self.journal.write
        self.events = self.journal.events
        self.codings = Codings(self.journal)
        self.queue = ReviewQueue(self.journal)
        self.model_versions = ModelVersions(self.journal)
        self.assignments = Assignments(self.journal)
        self.users = Users(self.journal)
        self.tokens = Tokens(self.journal)
        self.jobs = Jobs(self.journal)
        self.memos = Memos(self.journal)

        self.deid = DeidStore(self.journal)

    # ------------------------------------------------------------------ open
    @classmethod
    def open(cls, location: str | Path, *, create: bool = False) -> Store:
        engine = make_engine(location, create=create)
        try:
            check_reachable(engine)
            migrate(engine, create=create)
        except StorageError:
            engine.dispose()
            raise
        store = cls(engine)
        if create and store.get_meta("created_at") is None:
            with store.write("system", "create", "project") as conn:
                store._set_meta(conn, "created_at", now())
                name = engine.url.database if engine.dialect.name != "sqlite" else None
                store._set_meta(conn, "name", name or Path(str(location)).stem)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def reopen(self) -> Store:
        """Another store on the same database, with connections of its own (for work in
        another thread: SQLite connections belong to the thread that made them)."""
        if (
            self.engine.url.database in (None, "", ":memory:")
            and self.engine.dialect.name == "sqlite"
        ):
            raise StorageError(
                "an in-memory project cannot be opened a second time; use a project file"
            )
        return Store.open(self.engine.url.render_as_string(hide_password=False))

    @property
    def location(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def reopen_url(self) -> str:
        """The URL that opens this store again, password included: what batch workers
        open in their own processes. Never shown or logged (:attr:`location` hides it)."""
        return self.engine.url.render_as_string(hide_password=False)

    # ----------------------------------------------------------------- meta
    def _set_meta(self, conn: Connection, key: str, value: Any) -> None:
        upsert(conn, t.meta, {"key": key, "value": to_json(value)}, ["key"])

    def set_meta(self, key: str, value: Any, actor: str = "system") -> None:
        with self.write(actor, "set", "meta", key, after=value) as conn:
            self._set_meta(conn, key, value)

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as conn:
            value = conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()
        return default if value is None else json.loads(value)

    # ---------------------------------------------------------------- cases
    def _case_id(self, conn: Connection, name: str | None, attributes: dict | None = None) -> Any:
        if not name:
            return None
        row = conn.execute(select(t.cases).where(t.cases.c.name == name)).mappings().first()
        if row is None:
            return conn.execute(
                insert(t.cases).values(name=name, attributes=to_json(attributes or {}))
            ).inserted_primary_key[0]  # type: ignore[index]
        if attributes:
            merged = {**json.loads(row["attributes"]), **attributes}
            conn.execute(
                update(t.cases).where(t.cases.c.id == row["id"]).values(attributes=to_json(merged))
            )
        return row["id"]

    def upsert_case(self, name: str, attributes: dict | None = None, actor: str = "system") -> Case:
        with self.write(actor, "upsert", "case", name, after=attributes) as conn:
            self._case_id(conn, name, attributes)
        return next(c for c in self.cases() if c.name == name)

    def cases(self) -> list[Case]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.cases).order_by(binary(t.cases.c.name))).mappings().all()
        return [Case(r["name"], json.loads(r["attributes"]), r["id"]) for r in rows]

    def cases_frame(self) -> pd.DataFrame:
        rows = [{"case": c.name, **c.attributes} for c in self.cases()]
        return pd.DataFrame(rows, columns=None if rows else ["case"])

    # --------------------------------------------------------- participants
    def _participant_id(
        self,
        conn: Connection,
        label: str,
        case_id: int | None,
        case_name: str | None,
        role: str | None,
        is_interviewer: bool,
    ) -> Any:
        key = case_name or ""
        where = and_(t.participants.c.label == label, t.participants.c.case_key == key)
        row = conn.execute(select(t.participants).where(where)).mappings().first()
        if row is None:
            return conn.execute(
                insert(t.participants).values(
                    label=label,
                    role=role,
                    case_id=case_id,
                    case_key=key,
                    is_interviewer=is_interviewer,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        if role and role != row["role"]:
            conn.execute(
                update(t.participants).where(t.participants.c.id == row["id"]).values(role=role)
            )
        return row["id"]

    def participants(self) -> list[Participant]:
        query = select(t.participants, t.cases.c.name.label("case_name")).outerjoin(
            t.cases, t.participants.c.case_id == t.cases.c.id
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.participants.c.id)).mappings().all()
        return [
            Participant(r["label"], r["role"], r["case_name"], bool(r["is_interviewer"]), r["id"])
            for r in rows
        ]

    # ------------------------------------------------------------ documents
    def document_by_sha256(self, sha256: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.documents.c.name).where(t.documents.c.sha256 == sha256)
            ).scalar()

    def add_document(
        self,
        document: Document,
        spans: Sequence[SegmentSpan],
        *,
        roles: dict[str, str] | None = None,
        interviewers: Iterable[str] = (),
        case_attributes: dict | None = None,
        actor: str = "system",
    ) -> int:
        """Store a document with its segments and speakers in one transaction.

        ``roles`` maps speaker labels to roles; speakers in ``interviewers`` are
        marked as interviewers. Returns the new document id.
        """
        for span in spans:
            if document.text[span.start : span.end] != span.text:
                raise StorageError(
                    f"{document.name}: segment {span.start}-{span.end} does not match the "
                    "document text; the importer produced inconsistent offsets."
                )
        roles = roles or {}
        interviewer_set = set(interviewers)
        summary = {"name": document.name, "segments": len(spans), "case": document.case}
        with self.write(actor, "import", "document", document.name, after=summary) as conn:
            exists = conn.execute(
                select(t.documents.c.id).where(t.documents.c.name == document.name)
            ).scalar()
            if exists is not None:
                raise StorageError(
                    f"{document.name}: a different document with this name is already in the "
                    "project. Rename the file, or remove the stored document first."
                )
            case_id = self._case_id(conn, document.case, case_attributes)
            doc_id = conn.execute(
                insert(t.documents).values(
                    name=document.name,
                    source_type=document.source_type,
                    source_format=document.source_format,
                    case_id=case_id,
                    text=document.text,
                    sha256=document.sha256,
                    imported_at=document.imported_at or now(),
                    metadata=to_json(document.metadata),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            speaker_ids: dict[str, Any] = {}
            for speaker in dict.fromkeys(s.speaker for s in spans if s.speaker):
                assert speaker is not None
                is_int = speaker in interviewer_set
                role = roles.get(speaker) or ("interviewer" if is_int else None)
                speaker_ids[speaker] = self._participant_id(
                    conn, speaker, case_id, document.case, role, is_int
                )
            rows = [
                {
                    "document_id": doc_id,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "participant_id": speaker_ids.get(s.speaker or ""),
                    "speaker": s.speaker,
                    "timestamp": s.timestamp,
                    "turn_index": s.turn_index,
                    "text_hash": text_hash(s.text),
                }
                for s in spans
            ]
            if rows:
                conn.execute(insert(t.segments), rows)
        return int(doc_id)

    def documents(self) -> list[Document]:
        query = select(t.documents, t.cases.c.name.label("case_name")).outerjoin(
            t.cases, t.documents.c.case_id == t.cases.c.id
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(binary(t.documents.c.name))).mappings().all()
        return [self._document(r) for r in rows]

    @staticmethod
    def _document(r: Any) -> Document:
        return Document(
            name=r["name"],
            text=r["text"],
            source_type=r["source_type"],
            case=r["case_name"],
            sha256=r["sha256"],
            source_format=r["source_format"],
            imported_at=r["imported_at"],
            metadata=json.loads(r["metadata"]),
            id=r["id"],
        )

    def document_languages(self) -> dict[str, str | None]:
        """Each document's language (ISO 639-1, from its metadata; None when unknown),
        without reading the documents' texts."""
        d = t.documents
        with self.engine.connect() as conn:
            rows = conn.execute(select(d.c.name, d.c.metadata)).all()
        out: dict[str, str | None] = {}
        for name, metadata in rows:
            language = (json.loads(metadata or "{}") or {}).get("language")
            out[str(name)] = str(language) if language else None
        return out

    def document(self, name: str) -> Document:
        for doc in self.documents():
            if doc.name == name:
                return doc
        raise RecordNotFoundError(f"document {name!r} is not in the project")

    def remove_document(self, name: str, actor: str = "system") -> None:
        with self.write(actor, "delete", "document", name) as conn:
            conn.execute(delete(t.documents).where(t.documents.c.name == name))

    # ------------------------------------------------------------- segments
    def segments_frame(
        self,
        *,
        document: str | None = None,
        case: str | None = None,
        segment_ids: Sequence[int] | None = None,
        documents: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Every segment with document, case, speaker and role (SEGMENT_COLUMNS);
        ``documents`` keeps those of the named documents (a batch partition)."""
        s, d, c, p = t.segments, t.documents, t.cases, t.participants
        query = (
            select(
                s.c.id.label("segment_id"),
                d.c.name.label("document"),
                c.c.name.label("case"),
                d.c.source_type,
                s.c.speaker,
                p.c.role,
                func.coalesce(p.c.is_interviewer, False).label("is_interviewer"),
                s.c.timestamp,
                s.c.turn_index,
                s.c.start,
                s.c.end,
                s.c.text,
            )
            .select_from(s.join(d, s.c.document_id == d.c.id))
            .outerjoin(c, d.c.case_id == c.c.id)
            .outerjoin(p, s.c.participant_id == p.c.id)
            .order_by(binary(d.c.name), s.c.start)
        )
        if document is not None:
            query = query.where(d.c.name == document)
        if case is not None:
            query = query.where(c.c.name == case)
        if segment_ids is not None:
            query = query.where(s.c.id.in_(list(segment_ids)))
        if documents is not None:
            query = query.where(d.c.name.in_(list(documents)))
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query).all()]  # tuples: fast into pandas
        frame = pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
        frame["is_interviewer"] = frame["is_interviewer"].astype(bool)
        return frame

    def participant_counts(self) -> pd.DataFrame:
        """document, segments: each document's participant (not interviewer) segments,
        in document order; how a batch run splits a project without reading its text."""
        s, d, p = t.segments, t.documents, t.participants
        query = (
            select(d.c.name, func.count(s.c.id))
            .select_from(d.join(s, s.c.document_id == d.c.id))
            .outerjoin(p, s.c.participant_id == p.c.id)
            .where(func.coalesce(p.c.is_interviewer, False).is_(False))
            .group_by(d.c.name)
            .order_by(binary(d.c.name))
        )
        with self.engine.connect() as conn:
            rows = [(str(n), int(c)) for n, c in conn.execute(query).all()]
        return pd.DataFrame(rows, columns=["document", "segments"])

    #: Event entities whose writes can change segments, their speakers or roles.
    SEGMENT_ENTITIES = ("document", "case")

    def segments_generation(self) -> tuple[int, int, int]:
        """A token that changes whenever segments may have changed.

        (last import/delete/case event, number of segments, highest segment id):
        reviews, codings and model versions leave it alone, so per-segment inputs
        computed from it (vectors, token counts, zero-shot scores) stay valid
        across review and training rounds.
        """
        ev, s = t.events, t.segments
        with self.engine.connect() as conn:
            last = conn.execute(
                select(func.max(ev.c.id)).where(ev.c.entity.in_(self.SEGMENT_ENTITIES))
            ).scalar()
            count, top = conn.execute(select(func.count(), func.max(s.c.id))).one()
        return int(last or 0), int(count or 0), int(top or 0)

    def segment_texts(self) -> pd.DataFrame:
        """segment_id, text, text_hash for every segment (for embedding)."""
        query = select(t.segments.c.id, t.segments.c.text, t.segments.c.text_hash).order_by(
            t.segments.c.id
        )
        with self.engine.connect() as conn:
            return pd.DataFrame(
                conn.execute(query).all(), columns=["segment_id", "text", "text_hash"]
            )

    def counts(self) -> dict[str, int]:
        tables = {
            "cases": t.cases,
            "participants": t.participants,
            "documents": t.documents,
            "segments": t.segments,
            "codes": t.codes,
            "coders": t.coders,
            "codings": t.codings,
            "events": t.events,
        }
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(tab)).scalar() or 0)
                for name, tab in tables.items()
            }

    # ------------------------------------------------------------- codebook
    def save_codebook(self, codebook: Codebook, actor: str = "system") -> None:
        """Store ``codebook`` as the project's codebook, keeping codes already coded.

        Codes are matched by path; codes missing from the new codebook are kept
        but marked inactive, so no coding is ever orphaned.
        """
        with self.write(actor, "save", "codebook", codebook.name) as conn:
            cb_id = conn.execute(select(t.codebooks.c.id)).scalar()
            values: dict[str, Any] = {
                "name": codebook.name,
                "version": codebook.version,
                "description": codebook.description,
            }
            if cb_id is None:
                cb_id = conn.execute(insert(t.codebooks).values(**values)).inserted_primary_key[0]  # type: ignore[index]
            else:
                conn.execute(update(t.codebooks).where(t.codebooks.c.id == cb_id).values(**values))
            conn.execute(delete(t.facets).where(t.facets.c.codebook_id == cb_id))
            for pos, facet in enumerate(codebook.facets):
                conn.execute(
                    insert(t.facets).values(
                        codebook_id=cb_id,
                        key=facet.id,
                        name=facet.name,
                        exclusive=facet.exclusive,
                        description=facet.description,
                        position=pos,
                        polarity=_polarityto_json(facet.polarity),
                    )
                )
            existing = {
                r["path"]: r["id"]
                for r in conn.execute(
                    select(t.codes.c.path, t.codes.c.id).where(t.codes.c.codebook_id == cb_id)
                ).mappings()
            }
            conn.execute(update(t.codes).where(t.codes.c.codebook_id == cb_id).values(active=False))
            for pos, code in enumerate(codebook.codes):
                values = {
                    "codebook_id": cb_id,
                    "facet": code.facet,
                    "key": code.id,
                    "path": code.path,
                    "name": code.name,
                    "parent_key": code.parent,
                    "definition": code.definition,
                    "inclusion": code.inclusion,
                    "exclusion": code.exclusion,
                    "examples": to_json(list(code.examples)),
                    "color": code.color,
                    "position": pos,
                    "active": True,
                }
                if code.path in existing:
                    conn.execute(
                        update(t.codes).where(t.codes.c.id == existing[code.path]).values(**values)
                    )
                else:
                    conn.execute(insert(t.codes).values(**values))

    def load_codebook(self) -> Codebook | None:
        with self.engine.connect() as conn:
            cb = conn.execute(select(t.codebooks)).mappings().first()
            if cb is None:
                return None
            facet_rows = conn.execute(
                select(t.facets).where(t.facets.c.codebook_id == cb["id"]).order_by("position")
            ).mappings()
            code_rows = conn.execute(
                select(t.codes)
                .where(and_(t.codes.c.codebook_id == cb["id"], t.codes.c.active.is_(True)))
                .order_by("position")
            ).mappings()
            facet_list = tuple(
                Facet(
                    r["key"],
                    r["name"],
                    bool(r["exclusive"]),
                    r["description"],
                    _polarity_of(r["polarity"]),
                )
                for r in facet_rows
            )
            code_list = tuple(
                Code(
                    id=r["key"],
                    facet=r["facet"],
                    name=r["name"],
                    parent=r["parent_key"],
                    definition=r["definition"],
                    inclusion=r["inclusion"],
                    exclusion=r["exclusion"],
                    examples=tuple(json.loads(r["examples"])),
                    color=r["color"],
                )
                for r in code_rows
            )
        return Codebook(cb["name"], facet_list, code_list, cb["version"], cb["description"])

    def code_ids(self) -> dict[str, int]:
        """Map of code path → row id (active and inactive codes)."""
        with self.engine.connect() as conn:
            return code_ids(conn)

    def remap_codes(self, mapping: dict[str, str], actor: str = "system") -> int:
        """Move codings from old code paths to new ones (after a merge or move)."""
        moved = 0
        with self.write(actor, "remap", "codings", after=mapping) as conn:
            ids = code_ids(conn)
            for old, new in mapping.items():
                if old == new or old not in ids:
                    continue
                if new not in ids:
                    raise RecordNotFoundError(
                        f"code {new!r} is not in the codebook; save the edited codebook first"
                    )
                result = conn.execute(
                    update(t.codings)
                    .where(t.codings.c.code_id == ids[old])
                    .values(code_id=ids[new])
                )
                moved += result.rowcount or 0
        return moved

    # --------------------------------------------------------------- coders
    def ensure_coder(self, name: str, role: str = "analyst") -> int:
        """The id of coder ``name``, created (and logged) with ``role`` when new."""
        with self.write(name, "ensure", "coder", name, after={"role": role}) as conn:
            return _ensure_coder(conn, name, role)

    def coders(self) -> list[Coder]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.coders).order_by(t.coders.c.id)).mappings().all()
        return [Coder(r["name"], r["role"], r["id"]) for r in rows]

    # ------------------------------------------------------- embedding cache
    def get_many(self, keys: list[str], encoder: str) -> dict[str, np.ndarray]:
        """Cached vectors for text hashes (the ``VectorCache`` protocol of embed.py)."""
        found: dict[str, np.ndarray] = {}
        e = t.embeddings
        if len(keys) > 5000:  # one scan beats thousands of IN lists
            wanted = set(keys)
            query = select(e.c.text_hash, e.c.vector).where(e.c.encoder == encoder)
            with self.engine.connect() as conn:
                for key, blob in conn.execute(query).all():  # fetchall, not row by row
                    if key in wanted:
                        found[key] = np.frombuffer(blob, dtype="<f4")
            return found
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 900):
                chunk = keys[i : i + 900]
                rows = conn.execute(
                    select(e.c.text_hash, e.c.vector).where(
                        and_(e.c.encoder == encoder, e.c.text_hash.in_(chunk))
                    )
                ).all()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype="<f4")
        return found

    def put_many(self, vectors: dict[str, np.ndarray], encoder: str) -> None:
        if not vectors:
            return
        existing = set(self.get_many(list(vectors), encoder))
        rows = [
            {
                "text_hash": key,
                "encoder": encoder,
                "dim": int(vec.shape[-1]),
                "vector": np.asarray(vec, dtype="<f4").tobytes(),
            }
            for key, vec in vectors.items()
            if key not in existing
        ]
        if rows:  # another process may cache the same text meanwhile: keep its row
            with writing(self.engine) as conn, conn.begin():
                insert_ignore(conn, t.embeddings, rows, ["text_hash", "encoder"])

    def integrity(self) -> list[str]:
        """Problems of the database, empty when there is none: SQLite's own checks (pages,
        foreign keys); on both databases, segments outside their document's text and
        codings whose segment or document is gone."""
        problems: list[str] = []
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                found = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
                problems += [f"SQLite integrity_check: {r}" for r in found if r != "ok"]
                for row in conn.exec_driver_sql("PRAGMA foreign_key_check").all():
                    problems.append(f"table {row[0]} row {row[1]} points to a missing {row[2]}")
            seg, doc = t.segments, t.documents
            # per document, so each text's length is computed once
            spans = (
                select(
                    seg.c.document_id,
                    func.min(seg.c.start).label("first"),
                    func.max(seg.c.end).label("last"),
                    func.sum(sql_case((seg.c.end < seg.c.start, 1), else_=0)).label("reversed"),
                )
                .group_by(seg.c.document_id)
                .subquery()
            )
            outside = conn.execute(
                select(func.count())
                .select_from(doc.join(spans, spans.c.document_id == doc.c.id))
                .where(
                    (spans.c.first < 0)
                    | (spans.c.reversed > 0)
                    | (spans.c.last > func.length(doc.c.text))
                )
            ).scalar()
            if outside:
                problems.append(f"{outside} documents have segments outside their text")
            orphans = conn.execute(
                select(func.count())
                .select_from(t.codings.outerjoin(seg, t.codings.c.segment_id == seg.c.id))
                .where(t.codings.c.segment_id.is_not(None) & seg.c.id.is_(None))
            ).scalar()
            if orphans:
                problems.append(f"{orphans} codings point to a segment that is gone")
        return problems

    def dump(self) -> dict[str, Any]:
        """A JSON-ready summary (counts and meta), for reports."""
        return {"location": self.location, "counts": self.counts(), "name": self.get_meta("name")}


def as_dict(record: Any) -> dict[str, Any]:
    return asdict(record)


def _polarityto_json(polarity: Polarity | None) -> str | None:
    if polarity is None:
        return None
    return json.dumps(polarity.as_data(), ensure_ascii=False)


def _polarity_of(text: str | None) -> Polarity | None:
    if not text:
        return None
    data = json.loads(text)
    pairs = tuple((str(a), str(b)) for a, b in data.get("pairs", []))
    return Polarity(str(data["negative"]), str(data["positive"]), pairs)
