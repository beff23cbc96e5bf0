"""Assignments: which segments each coder is to code, and whether blind.

Part of :class:`~qual_nlp.storage.store.Store` (``store.assignments``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import and_, delete, func, insert, select, update

from qual_nlp.storage import schema as t
from qual_nlp.storage.dialect import binary
from qual_nlp.storage.journal import Journal, coder_role, ensure_coder, now


class Assignments:
    """The assignments of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def create(
        self,
        name: str,
        coders: Sequence[str],
        segment_ids: Sequence[int],
        *,
        blind: bool = True,
        actor: str = "system",
    ) -> None:
        after = {"coders": list(coders), "segments": len(segment_ids), "blind": blind}
        with self.journal.write(actor, "assign", "assignment", name, after=after) as conn:
            for coder in coders:
                coder_id = ensure_coder(conn, coder, coder_role(coder))
                found = conn.execute(
                    select(t.assignments.c.id).where(
                        and_(t.assignments.c.name == name, t.assignments.c.coder_id == coder_id)
                    )
                ).scalar()
                if found is None:
                    found = conn.execute(
                        insert(t.assignments).values(
                            name=name, coder_id=coder_id, blind=blind, created_at=now()
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                conn.execute(
                    delete(t.assignment_items).where(t.assignment_items.c.assignment_id == found)
                )
                rows = [
                    {"assignment_id": found, "segment_id": int(s)}
                    for s in dict.fromkeys(segment_ids)
                ]
                if rows:
                    conn.execute(insert(t.assignment_items), rows)

    def finish(self, name: str, coder: str) -> None:
        with self.journal.write(coder, "finish", "assignment", name) as conn:
            coder_id = conn.execute(select(t.coders.c.id).where(t.coders.c.name == coder)).scalar()
            conn.execute(
                update(t.assignments)
                .where(and_(t.assignments.c.name == name, t.assignments.c.coder_id == coder_id))
                .values(finished_at=now())
            )

    def frame(self) -> pd.DataFrame:
        a, i, cd, rv = t.assignments, t.assignment_items, t.coders, t.reviews
        done = (
            select(func.count())
            .select_from(i.join(rv, i.c.segment_id == rv.c.segment_id))
            .where(and_(i.c.assignment_id == a.c.id, rv.c.coder_id == a.c.coder_id))
            .scalar_subquery()
        )
        total = select(func.count()).where(i.c.assignment_id == a.c.id).scalar_subquery()
        query = select(
            a.c.name,
            cd.c.name.label("coder"),
            a.c.blind,
            a.c.created_at,
            a.c.finished_at,
            total.label("segments"),
            done.label("reviewed"),
        ).join(cd, a.c.coder_id == cd.c.id)
        cols = ["name", "coder", "blind", "created_at", "finished_at", "segments", "reviewed"]
        with self.journal.engine.connect() as conn:
            return pd.DataFrame(
                conn.execute(query.order_by(binary(a.c.name), binary(cd.c.name))).all(),
                columns=cols,
            )

    def segments(self, name: str, coder: str) -> list[int]:
        a, i, cd = t.assignments, t.assignment_items, t.coders
        query = (
            select(i.c.segment_id)
            .join(a, i.c.assignment_id == a.c.id)
            .join(cd, a.c.coder_id == cd.c.id)
            .where(and_(a.c.name == name, cd.c.name == coder))
            .order_by(i.c.segment_id)
        )
        with self.journal.engine.connect() as conn:
            return [int(s) for (s,) in conn.execute(query).all()]

    def is_blind(self, coder: str) -> bool:
        """True while the coder has an unfinished blind assignment."""
        a, cd = t.assignments, t.coders
        query = (
            select(func.count())
            .select_from(a.join(cd, a.c.coder_id == cd.c.id))
            .where(and_(cd.c.name == coder, a.c.blind.is_(True), a.c.finished_at.is_(None)))
        )
        with self.journal.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def segment_ids(self, coder: str, *, open_only: bool = False) -> list[int]:
        """Every segment assigned to ``coder`` (only unfinished assignments' with
        ``open_only``)."""
        a, i, cd = t.assignments, t.assignment_items, t.coders
        query = (
            select(i.c.segment_id)
            .join(a, i.c.assignment_id == a.c.id)
            .join(cd, a.c.coder_id == cd.c.id)
            .where(cd.c.name == coder)
            .distinct()
        )
        if open_only:
            query = query.where(a.c.finished_at.is_(None))
        with self.journal.engine.connect() as conn:
            return sorted(int(s) for (s,) in conn.execute(query).all())
