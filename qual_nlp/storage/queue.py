"""The review queue: per-segment priorities and fast "next segment" queries.

A suggestion run writes one row per segment (uncertainty and relevance); the
queue query then picks the next unreviewed segment for a coder with an indexed
ORDER BY … LIMIT, so it stays fast at 100k segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, exists, func, select

from qual_nlp.errors import StorageError, ValidationError
from qual_nlp.storage import schema as t
from qual_nlp.storage.bulk import (
    BULK_ROWS,
    delete_where_in,
    fetch_rows,
    indexes_dropped,
    insert_rows,
    upsert_rows,
)
from qual_nlp.storage.dialect import binary
from qual_nlp.storage.journal import Journal, now

ORDERS = ("uncertainty", "relevance", "document")


def _check_segments(conn: Any, ids: list[int]) -> None:
    """Refuse scores of segments not in the project, with one read of the segment ids."""
    known = np.array([r[0] for r in fetch_rows(conn, "SELECT id FROM segments")], np.int64)
    missing = np.setdiff1d(np.asarray(ids, dtype=np.int64), known)
    if missing.size:
        raise StorageError(
            f"foreign key: {missing.size} scored segment(s) are not in the project "
            f"(e.g. {int(missing[0])}); nothing was written. Run suggest again."
        )


class ReviewQueue:
    """The review queue of one project store (``store.queue``)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def write_scores(self, scores: pd.DataFrame, model_version: str) -> None:
        """Replace priorities for the given segments (columns segment_id, uncertainty, relevance)."""
        stamp = now()
        ids = scores["segment_id"].astype("int64").tolist()
        rows = zip(
            ids,
            [model_version] * len(ids),
            scores["uncertainty"].astype(float).tolist(),
            scores["relevance"].astype(float).tolist(),
            [stamp] * len(ids),
            strict=True,
        )
        columns = ["segment_id", "model_version", "uncertainty", "relevance", "updated_at"]
        bulk = len(ids) >= BULK_ROWS
        after = {"n": len(ids)}
        with self.journal.write(model_version, "score", "segments", after=after, bulk=bulk) as conn:
            if not bulk:
                upsert_rows(conn, t.segment_scores, columns, "segment_id", rows)
            else:  # a whole-project run: cheaper to rebuild the indexes once
                _check_segments(conn, ids)  # what the skipped per-row key lookups would do
                with indexes_dropped(conn, t.segment_scores):
                    delete_where_in(conn, t.segment_scores, "segment_id", ids)
                    insert_rows(conn, t.segment_scores, columns, rows)

    def next(
        self,
        coder: str,
        *,
        order: str = "uncertainty",
        n: int = 1,
        case: str | None = None,
        document: str | None = None,
        code: str | None = None,
        facet: str | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        include_interviewer: bool = False,
        segment_ids: Sequence[int] | None = None,
    ) -> list[int]:
        """Ids of the next ``n`` segments ``coder`` has not reviewed, in queue order.

        ``order``: ``uncertainty`` (active learning: least certain first),
        ``relevance`` (triage: most likely coded first) or ``document`` (reading
        order). Filters on ``code``/``facet``/score look at the open suggestions.
        """
        if order not in ORDERS:
            raise ValidationError(f"order {order!r} is not one of {ORDERS}")
        candidates = self._candidates(
            coder,
            case=case,
            document=document,
            code=code,
            facet=facet,
            min_score=min_score,
            max_score=max_score,
            include_interviewer=include_interviewer,
            segment_ids=segment_ids,
        )
        s, d, sc = t.segments, t.documents, t.segment_scores
        with self.journal.engine.connect() as conn:
            if order == "document":
                query = candidates(None).order_by(binary(d.c.name), s.c.start).limit(n)
                return [int(i) for (i,) in conn.execute(query).all()]
            # scored segments first, walking the score index from the top (no full sort);
            # then, if the queue runs short, the never-scored ones in reading order
            key = sc.c.uncertainty if order == "uncertainty" else sc.c.relevance
            query = candidates(True).order_by(key.desc(), binary(d.c.name), s.c.start).limit(n)
            found = [int(i) for (i,) in conn.execute(query).all()]
            if len(found) < n:
                rest = candidates(False).order_by(binary(d.c.name), s.c.start).limit(n - len(found))
                found += [int(i) for (i,) in conn.execute(rest).all()]
            return found

    def left(self, coder: str, **filters: Any) -> int:
        """How many segments ``coder`` has not reviewed pass the filters of :meth:`next`."""
        filters.pop("order", None)
        filters.pop("n", None)
        query = self._candidates(coder, **filters)(None)
        with self.journal.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
            )

    def _candidates(
        self,
        coder: str,
        *,
        case: str | None = None,
        document: str | None = None,
        code: str | None = None,
        facet: str | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        include_interviewer: bool = False,
        segment_ids: Sequence[int] | None = None,
    ) -> Any:
        """A function ``scored -> query`` of the unreviewed segments passing the filters."""
        s, d, c, sc, rv, cd = (
            t.segments,
            t.documents,
            t.cases,
            t.segment_scores,
            t.reviews,
            t.coders,
        )
        reviewed = exists().where(
            and_(
                rv.c.segment_id == s.c.id,
                rv.c.coder_id == select(cd.c.id).where(cd.c.name == coder).scalar_subquery(),
            )
        )

        def candidates(scored: bool | None) -> Any:
            """Unreviewed segments passing the filters; ``scored``: only segments with
            (True) or without (False) a score row, or all (None)."""
            query = select(s.c.id).select_from(s.join(d, s.c.document_id == d.c.id))
            if scored is True:
                query = query.join(sc, sc.c.segment_id == s.c.id)
            elif scored is False:
                query = query.outerjoin(sc, sc.c.segment_id == s.c.id).where(
                    sc.c.segment_id.is_(None)
                )
            query = query.where(~reviewed)
            if case is not None:
                query = query.outerjoin(c, d.c.case_id == c.c.id).where(c.c.name == case)
            if document is not None:
                query = query.where(d.c.name == document)
            if segment_ids is not None:
                query = query.where(s.c.id.in_(list(segment_ids)))
            if not include_interviewer:
                p = t.participants
                interviewer = exists().where(
                    and_(p.c.id == s.c.participant_id, p.c.is_interviewer.is_(True))
                )
                query = query.where(~interviewer)
            if (
                code is not None
                or facet is not None
                or min_score is not None
                or max_score is not None
            ):
                k, co = t.codings, t.codes
                cond = [k.c.segment_id == s.c.id, k.c.status == "suggested", co.c.id == k.c.code_id]
                if code is not None:
                    cond.append(co.c.path == code)
                if facet is not None:
                    cond.append(co.c.facet == facet)
                if min_score is not None:
                    cond.append(k.c.score >= min_score)
                if max_score is not None:
                    cond.append(k.c.score <= max_score)
                query = query.where(exists().where(and_(*cond)))
            return query

        return candidates

    def scores(self) -> pd.DataFrame:
        sc = t.segment_scores
        query = select(sc.c.segment_id, sc.c.model_version, sc.c.uncertainty, sc.c.relevance)
        with self.journal.engine.connect() as conn:
            return pd.DataFrame(
                conn.execute(query).all(),
                columns=["segment_id", "model_version", "uncertainty", "relevance"],
            )
