"""Memos: what analysts write about the project, its documents, cases, codes and passages.

Part of :class:`~qual_nlp.storage.store.Store` (``store.memos``). Links are kept by code
path and document or case name (the names users see and exports carry), so a memo
survives a codebook re-save; a passage link keeps its character offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from qual_nlp.errors import RecordNotFoundError
from qual_nlp.records import Memo, MemoLink
from qual_nlp.storage import schema as t
from qual_nlp.storage.journal import Journal, now


class Memos:
    """The memos of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def add(self, memo: Memo, actor: str) -> int:
        stamp = now()
        after = {"title": memo.title, "links": [link.label() for link in memo.links]}
        with self.journal.write(actor, "add", "memo", memo.title, after=after) as conn:
            memo_id = int(
                conn.execute(
                    insert(t.memos).values(
                        title=memo.title,
                        text=memo.text,
                        author=memo.author,
                        created_at=memo.created_at or stamp,
                        updated_at=memo.updated_at or stamp,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            self._links(conn, memo_id, memo.links)
        return memo_id

    def update(
        self,
        memo_id: int,
        actor: str,
        *,
        title: str | None = None,
        text: str | None = None,
        links: Sequence[MemoLink] | None = None,
    ) -> None:
        before = self.get(memo_id)
        values = {"updated_at": now()}
        if title is not None:
            values["title"] = title
        if text is not None:
            values["text"] = text
        after = {k: v for k, v in values.items() if k != "updated_at"}
        with self.journal.write(
            actor, "update", "memo", memo_id, before={"title": before.title}, after=after
        ) as conn:
            conn.execute(update(t.memos).where(t.memos.c.id == memo_id).values(**values))
            if links is not None:
                conn.execute(delete(t.memo_links).where(t.memo_links.c.memo_id == memo_id))
                self._links(conn, memo_id, links)

    def delete(self, memo_id: int, actor: str) -> None:
        before = self.get(memo_id)
        with self.journal.write(
            actor, "delete", "memo", memo_id, before={"title": before.title}
        ) as conn:
            conn.execute(delete(t.memo_links).where(t.memo_links.c.memo_id == memo_id))
            conn.execute(delete(t.memos).where(t.memos.c.id == memo_id))

    @staticmethod
    def _links(conn: Connection, memo_id: int, links: Sequence[MemoLink]) -> None:
        rows = [
            {
                "memo_id": memo_id,
                "kind": link.kind,
                "target": link.target,
                "start": link.start,
                "end": link.end,
            }
            for link in dict.fromkeys(links)
        ]
        if rows:
            conn.execute(insert(t.memo_links), rows)

    # ------------------------------------------------------------------ read
    def get(self, memo_id: int) -> Memo:
        found = self.all(ids=[memo_id])
        if not found:
            raise RecordNotFoundError(
                f"memo {memo_id} is not in the project. List them with 'qual-nlp memo PROJECT list'."
            )
        return found[0]

    def all(self, *, ids: Sequence[int] | None = None) -> list[Memo]:
        """Every memo with its links, oldest first."""
        m, ln = t.memos, t.memo_links
        memos = select(m).order_by(m.c.id)
        links = select(ln).order_by(ln.c.id)
        if ids is not None:
            memos = memos.where(m.c.id.in_(list(ids)))
            links = links.where(ln.c.memo_id.in_(list(ids)))
        with self.journal.engine.connect() as conn:
            rows = conn.execute(memos).mappings().all()
            by_memo: dict[int, list[MemoLink]] = {}
            for r in conn.execute(links).mappings():
                by_memo.setdefault(int(r["memo_id"]), []).append(
                    MemoLink(str(r["kind"]), str(r["target"]), r["start"], r["end"])
                )
        return [
            Memo(
                r["title"],
                r["text"],
                r["author"],
                tuple(by_memo.get(int(r["id"]), ())),
                r["created_at"],
                r["updated_at"],
                int(r["id"]),
            )
            for r in rows
        ]
