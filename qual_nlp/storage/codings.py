"""Codings and reviews: what coders (people and the model) applied to which text.

Part of :class:`~qual_nlp.storage.store.Store` (``store.codings``); writes go through
the shared :class:`~qual_nlp.storage.journal.Journal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection

from qual_nlp.errors import RecordNotFoundError, ValidationError
from qual_nlp.records import CODING_COLUMNS, Coding
from qual_nlp.storage import schema as t
from qual_nlp.storage.bulk import (
    BULK_ROWS,
    delete_where_in,
    fetch_rows,
    indexes_dropped,
    insert_rows,
)
from qual_nlp.storage.dialect import insert_ignore, upsert
from qual_nlp.storage.journal import Journal, code_ids, coder_role, document_ids, ensure_coder, now

STATUSES = ("suggested", "accepted", "rejected")

# the statements of a review decision, built once (see dialect.py)
_DELETE_MINE = delete(t.codings).where(
    and_(
        t.codings.c.segment_id == bindparam("segment_id"),
        t.codings.c.coder_id == bindparam("coder_id"),
    )
)
#: a decision's first read: the segment's span and the coder's id (None when new)
_SPAN_AND_CODER = select(
    t.segments.c.document_id,
    t.segments.c.start,
    t.segments.c.end,
    select(t.coders.c.id)
    .where(t.coders.c.name == bindparam("coder"))
    .scalar_subquery()
    .label("coder_id"),
).where(t.segments.c.id == bindparam("segment_id"))
#: the codes a decision names, each with the segment's open suggestion of it (if any)
_NAMED_CODES = select(
    t.codes.c.path,
    t.codes.c.id,
    select(func.max(t.codings.c.id))
    .where(
        and_(
            t.codings.c.segment_id == bindparam("segment_id"),
            t.codings.c.status == "suggested",
            t.codings.c.code_id == t.codes.c.id,
        )
    )
    .scalar_subquery()
    .label("suggestion_id"),
).where(t.codes.c.path.in_(bindparam("paths", expanding=True)))
_INSERT_CODINGS = insert(t.codings)


def _int_list(ids: Sequence[int]) -> str:
    """Integers as an SQL list literal (``NULL`` when empty, which matches nothing)."""
    return ", ".join(str(int(i)) for i in ids) or "NULL"


class Codings:
    """Codings, reviews and coverage of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    # ---------------------------------------------------------------- write
    def _rows(self, conn: Connection, codings: Sequence[Coding], stamp: str) -> list[dict]:
        codes = code_ids(conn)
        docs = document_ids(conn)
        coder_ids: dict[str, int] = {}
        rows = []
        for c in codings:
            if c.status not in STATUSES:
                raise ValidationError(
                    f"coding of {c.code!r}: status {c.status!r} is not one of {STATUSES}"
                )
            if c.code not in codes:
                raise RecordNotFoundError(
                    f"code {c.code!r} is not in the project's codebook; add it to the codebook "
                    "first (facet/code path, e.g. 'valence/barrier')"
                )
            if c.document not in docs:
                raise RecordNotFoundError(f"document {c.document!r} is not in the project")
            if c.coder not in coder_ids:
                coder_ids[c.coder] = ensure_coder(conn, c.coder, coder_role(c.coder))
            rows.append(
                {
                    "segment_id": c.segment_id,
                    "document_id": docs[c.document],
                    "start": c.start,
                    "end": c.end,
                    "code_id": codes[c.code],
                    "coder_id": coder_ids[c.coder],
                    "status": c.status,
                    "score": c.score,
                    "model_version": c.model_version,
                    "memo": c.memo,
                    "source_coding_id": None,
                    "created_at": c.created_at or stamp,
                }
            )
        return rows

    def add(self, codings: Sequence[Coding], actor: str = "system") -> int:
        """Store codings (one transaction); returns how many were written."""
        if not codings:
            return 0
        summary = {"n": len(codings), "coders": sorted({c.coder for c in codings})}
        with self.journal.write(actor, "add", "codings", after=summary) as conn:
            rows = self._rows(conn, codings, now())
            conn.execute(insert(t.codings), rows)
        return len(codings)

    def replace_suggestions(
        self,
        coder: str,
        suggestions: pd.DataFrame,
        *,
        segment_ids: Sequence[int] | None = None,
        facet: str | None = None,
    ) -> int:
        """Replace a model's open suggestions with new ones.

        ``suggestions`` has columns segment_id, code (path), score, model_version.
        Suggestions of earlier versions on the same segments are removed; accepted
        and rejected codings are never touched.
        """
        stamp = now()
        bulk = len(suggestions) >= BULK_ROWS
        after = {"n": len(suggestions)}
        with self.journal.write(coder, "suggest", "codings", after=after, bulk=bulk) as conn:
            if bulk:  # rewriting most of the table: cheaper to build its indexes once
                with indexes_dropped(conn, t.codings):
                    return self._replace(conn, coder, suggestions, segment_ids, facet, stamp)
            return self._replace(conn, coder, suggestions, segment_ids, facet, stamp)

    def _replace(
        self,
        conn: Connection,
        coder: str,
        suggestions: pd.DataFrame,
        segment_ids: Sequence[int] | None,
        facet: str | None,
        stamp: str,
    ) -> int:
        coder_id = ensure_coder(conn, coder, "model")
        codes = code_ids(conn)
        # every version of this model family ("model:name@3" -> "model:name@")
        family = coder.split("@", 1)[0] + "@"
        # a prefix compared exactly (LIKE ignores case on SQLite, not on PostgreSQL)
        prefix = func.substr(t.coders.c.name, 1, len(family))
        family_ids = select(t.coders.c.id).where((t.coders.c.id == coder_id) | (prefix == family))
        family_coders = [int(i) for (i,) in conn.execute(family_ids).all()]
        condition = f"status = 'suggested' AND coder_id IN ({_int_list(family_coders)})"
        if facet is not None:
            facet_codes = select(t.codes.c.id).where(t.codes.c.facet == facet)
            ids_of_facet = [int(i) for (i,) in conn.execute(facet_codes).all()]
            condition += f" AND code_id IN ({_int_list(ids_of_facet)})"
        if segment_ids is not None:
            delete_where_in(conn, t.codings, "segment_id", list(segment_ids), condition)
        else:
            conn.exec_driver_sql(f"DELETE FROM codings WHERE {condition}")
        if suggestions.empty:
            return 0
        seg = _segment_spans(conn, suggestions["segment_id"])
        frame = suggestions.merge(seg, on="segment_id", how="inner")
        unknown = set(frame["code"]) - set(codes)
        if unknown:
            raise RecordNotFoundError(f"suggested codes not in the codebook: {sorted(unknown)}")
        n = len(frame)
        columns = {
            "segment_id": frame["segment_id"].astype("int64").tolist(),
            "document_id": frame["document_id"].astype("int64").tolist(),
            "start": frame["start"].astype("int64").tolist(),
            "end": frame["end"].astype("int64").tolist(),
            "code_id": frame["code"].map(codes).astype("int64").tolist(),
            "coder_id": [coder_id] * n,
            "status": ["suggested"] * n,
            "score": frame["score"].astype(float).tolist(),
            "model_version": frame["model_version"].astype(str).tolist(),
            "memo": [""] * n,
            "source_coding_id": [None] * n,
            "created_at": [stamp] * n,
        }
        insert_rows(conn, t.codings, list(columns), zip(*columns.values(), strict=True))
        return n

    def review(
        self,
        segment_id: int,
        coder: str,
        *,
        accept: Sequence[str] = (),
        reject: Sequence[str] = (),
        memo: str = "",
        skipped: bool = False,
        role: str | None = None,
    ) -> dict[str, Any]:
        """Record a reviewer's decision on one segment, in one transaction.

        Codes in ``accept`` become accepted codings by ``coder`` (linked to the
        model's suggestion when there was one); codes in ``reject`` become rejected
        codings, kept as training signal. Earlier decisions of the same coder on
        this segment are replaced, and the segment is marked reviewed.
        """
        stamp = now()
        overlap = set(accept) & set(reject)
        if overlap:
            raise ValidationError(f"codes both accepted and rejected: {sorted(overlap)}")
        after = {"accept": list(accept), "reject": list(reject), "memo": memo, "skipped": skipped}
        named = sorted({*accept, *reject})
        with self.journal.write(coder, "review", "segment", segment_id, after=after) as conn:
            # the reads a decision needs in two statements (one when no code is named)
            params = {"segment_id": segment_id, "coder": coder}
            segment = conn.execute(_SPAN_AND_CODER, params).mappings().first()
            if segment is None:
                raise RecordNotFoundError(f"segment {segment_id} is not in the project")
            coder_id = segment["coder_id"]
            if coder_id is None:
                coder_id = ensure_coder(conn, coder, role or coder_role(coder))
            codes: dict[str, int] = {}
            suggested: dict[int, int] = {}  # code id -> the open suggestion's coding id
            if named:
                found = conn.execute(_NAMED_CODES, {"segment_id": segment_id, "paths": named})
                for path, code_id, suggestion_id in found:
                    codes[path] = int(code_id)
                    if suggestion_id is not None:
                        suggested[int(code_id)] = int(suggestion_id)
            missing = [c for c in [*accept, *reject] if c not in codes]
            if missing:
                raise RecordNotFoundError(f"codes not in the codebook: {missing}")
            # the coder's review row first: on PostgreSQL it stays locked until commit, so
            # two decisions of one coder on one segment follow each other and the later
            # one replaces the earlier (no duplicate codings); SQLite writes one at a time
            upsert(
                conn,
                t.reviews,
                {"segment_id": segment_id, "coder_id": coder_id, "at": stamp, "skipped": skipped},
                ["segment_id", "coder_id"],
            )
            conn.execute(_DELETE_MINE, {"segment_id": segment_id, "coder_id": coder_id})
            rows = []
            for status, paths in (("accepted", accept), ("rejected", reject)):
                for path in paths:
                    rows.append(
                        {
                            "segment_id": segment_id,
                            "document_id": segment["document_id"],
                            "start": segment["start"],
                            "end": segment["end"],
                            "code_id": codes[path],
                            "coder_id": coder_id,
                            "status": status,
                            "score": None,
                            "model_version": None,
                            "memo": memo,
                            "source_coding_id": suggested.get(codes[path]),
                            "created_at": stamp,
                        }
                    )
            if rows:
                conn.execute(_INSERT_CODINGS, rows)
        return after

    def code_span(
        self,
        document: str,
        start: int,
        end: int,
        code: str,
        coder: str,
        memo: str = "",
    ) -> int:
        """Code a free character span of a document (manual coding in the reader)."""
        with self.journal.write(
            coder, "code_span", "coding", after=[document, start, end, code]
        ) as conn:
            text = conn.execute(
                select(t.documents.c.text).where(t.documents.c.name == document)
            ).scalar()
            if text is None:
                raise RecordNotFoundError(f"document {document!r} is not in the project")
            if not 0 <= start < end <= len(text):
                raise ValidationError(
                    f"{document}: span {start}-{end} is outside the text (0-{len(text)})"
                )
            seg_id = conn.execute(
                select(t.segments.c.id).where(
                    and_(
                        t.segments.c.document_id
                        == select(t.documents.c.id)
                        .where(t.documents.c.name == document)
                        .scalar_subquery(),
                        t.segments.c.start == start,
                        t.segments.c.end == end,
                    )
                )
            ).scalar()
            rows = self._rows(
                conn,
                [Coding(document, start, end, code, coder, memo=memo, segment_id=seg_id)],
                now(),
            )
            result = conn.execute(insert(t.codings).values(**rows[0]))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def update(
        self, coding_id: int, actor: str, *, code: str | None = None, memo: str | None = None
    ) -> None:
        """Change a coding's code or memo (the reader's "edit")."""
        after = {k: v for k, v in (("code", code), ("memo", memo)) if v is not None}
        with self.journal.write(actor, "update", "coding", coding_id, after=after) as conn:
            values: dict[str, Any] = {}
            if code is not None:
                ids = code_ids(conn)
                if code not in ids:
                    raise ValidationError(f"code {code!r} is not in the project's codebook")
                values["code_id"] = ids[code]
            if memo is not None:
                values["memo"] = memo
            if values:
                conn.execute(update(t.codings).where(t.codings.c.id == coding_id).values(**values))

    def delete(self, coding_id: int, actor: str) -> None:
        with self.journal.write(actor, "delete", "coding", coding_id) as conn:
            conn.execute(delete(t.codings).where(t.codings.c.id == coding_id))

    # ----------------------------------------------------------------- read
    def frame(
        self,
        *,
        coders: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        facet: str | None = None,
        segment_ids: Sequence[int] | None = None,
        document: str | None = None,
    ) -> pd.DataFrame:
        """Codings joined with segment, document, case, speaker and coder (CODING_COLUMNS)."""
        k, s, d, c, p = t.codings, t.segments, t.documents, t.cases, t.participants
        co, cd = t.codes, t.coders
        # a span that is not a whole segment is cut from its document's text in Python:
        # one read of each document instead of one substring per coding in SQL
        query = (
            select(
                k.c.document_id,
                k.c.id.label("coding_id"),
                k.c.segment_id,
                d.c.name.label("document"),
                c.c.name.label("case"),
                d.c.source_type,
                s.c.speaker,
                p.c.role,
                k.c.start,
                k.c.end,
                case(
                    (and_(k.c.start == s.c.start, k.c.end == s.c.end), s.c.text),
                    else_=literal(None),
                ).label("text"),
                co.c.facet,
                co.c.path.label("code"),
                cd.c.name.label("coder"),
                cd.c.role.label("coder_role"),
                k.c.status,
                k.c.score,
                k.c.model_version,
                k.c.memo,
                k.c.created_at,
            )
            .select_from(k.join(d, k.c.document_id == d.c.id))
            .join(co, k.c.code_id == co.c.id)
            .join(cd, k.c.coder_id == cd.c.id)
            .outerjoin(s, k.c.segment_id == s.c.id)
            .outerjoin(c, d.c.case_id == c.c.id)
            .outerjoin(p, s.c.participant_id == p.c.id)
            .order_by(k.c.id)
        )
        if coders is not None:
            query = query.where(cd.c.name.in_(list(coders)))
        if statuses is not None:
            query = query.where(k.c.status.in_(list(statuses)))
        if facet is not None:
            query = query.where(co.c.facet == facet)
        if document is not None:
            query = query.where(d.c.name == document)
        if segment_ids is not None:
            query = query.where(k.c.segment_id.in_(list(segment_ids)))
        with self.journal.engine.connect() as conn:
            # plain tuples: pandas probes SQLAlchemy rows attribute by attribute (slow)
            frame = pd.DataFrame(
                [tuple(r) for r in conn.execute(query)], columns=["document_id", *CODING_COLUMNS]
            )
            cut = frame["text"].isna()
            if cut.any():
                ids = sorted({int(i) for i in frame.loc[cut, "document_id"]})
                texts: dict[int, str] = {}
                for chunk in range(0, len(ids), 500):
                    rows = conn.execute(
                        select(d.c.id, d.c.text).where(d.c.id.in_(ids[chunk : chunk + 500]))
                    ).all()
                    texts.update({int(i): str(x) for i, x in rows})
                frame.loc[cut, "text"] = [
                    texts[int(i)][int(a) : int(b)]
                    for i, a, b in zip(
                        frame.loc[cut, "document_id"],
                        frame.loc[cut, "start"],
                        frame.loc[cut, "end"],
                        strict=True,
                    )
                ]
        frame = frame.drop(columns="document_id")
        frame["segment_id"] = frame["segment_id"].astype("Int64")
        return frame

    def coverage(self, *, include_skipped: bool = False) -> pd.DataFrame:
        """(segment_id, coder) pairs each coder has reviewed — the agreement units."""
        r, cd = t.reviews, t.coders
        query = select(r.c.segment_id, cd.c.name.label("coder")).join(cd, r.c.coder_id == cd.c.id)
        if not include_skipped:
            query = query.where(r.c.skipped.is_(False))
        with self.journal.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).all(), columns=["segment_id", "coder"])

    def review_times(self, coder: str, since: str) -> list[str]:
        """When ``coder`` decided on each segment reviewed at or after ``since`` (ISO times,
        oldest first)."""
        r, cd = t.reviews, t.coders
        query = (
            select(r.c.at)
            .join(cd, r.c.coder_id == cd.c.id)
            .where(and_(cd.c.name == coder, r.c.at >= since))
            .order_by(r.c.at)
        )
        with self.journal.engine.connect() as conn:
            return [str(at) for (at,) in conn.execute(query).all()]

    def mark_reviewed(
        self, segment_ids: Sequence[int], coder: str, role: str | None = None
    ) -> None:
        stamp = now()
        with self.journal.write(
            coder, "mark_reviewed", "segments", after={"n": len(segment_ids)}
        ) as conn:
            coder_id = ensure_coder(conn, coder, role or coder_role(coder))
            done = {
                sid
                for (sid,) in conn.execute(
                    select(t.reviews.c.segment_id).where(t.reviews.c.coder_id == coder_id)
                ).all()
            }
            rows = [
                {"segment_id": int(sid), "coder_id": coder_id, "at": stamp, "skipped": False}
                for sid in dict.fromkeys(segment_ids)
                if int(sid) not in done
            ]
            insert_ignore(conn, t.reviews, rows, ["segment_id", "coder_id"])


def _segment_spans(conn: Connection, segment_ids: Any) -> pd.DataFrame:
    """segment_id, document_id, start, end of the given segments: one scan for a
    whole-project run, id lists for a part of it (a batch partition)."""
    columns = ["segment_id", "document_id", "start", "end"]
    wanted = sorted({int(i) for i in segment_ids})
    if len(wanted) > 20_000:
        rows = fetch_rows(conn, 'SELECT id, document_id, start, "end" FROM segments')
        return pd.DataFrame(rows, columns=columns)
    s = t.segments
    found: list[tuple[Any, ...]] = []
    for i in range(0, len(wanted), 900):
        query = select(s.c.id, s.c.document_id, s.c.start, s.c.end).where(
            s.c.id.in_(wanted[i : i + 900])
        )
        found.extend(tuple(r) for r in conn.execute(query).all())
    return pd.DataFrame(found, columns=columns)
