"""The write path every part of the store shares: one transaction plus its event.

Every write runs in one transaction together with its entry in the append-only
event log, so a failed import or edit leaves nothing half-written. The lookups that
several tables' writers need (coders by name, codes and documents by path and name)
live here too, so the parts of the store depend on this module and never on each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection, Engine

from qual_nlp.errors import StorageError
from qual_nlp.storage import schema as t
from qual_nlp.storage.dialect import insert_ignore
from qual_nlp.storage.engine import writing


def now() -> str:
    """The current time as ISO 8601 in UTC (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def coder_role(name: str) -> str:
    """The default role of a coder name (``model:…`` coders are models)."""
    if name.startswith("model:"):
        return "model"
    if name == "consensus":
        return "consensus"
    return "analyst"


# statements of every write, built once (see dialect.py)
_CODER_ID = select(t.coders.c.id).where(t.coders.c.name == bindparam("name"))
_CODE_IDS = select(t.codes.c.path, t.codes.c.id)
_EVENT = insert(t.events)


def ensure_coder(conn: Connection, name: str, role: str = "analyst") -> int:
    """The id of coder ``name``, created with ``role`` when new."""
    found = conn.execute(_CODER_ID, {"name": name}).scalar()
    if found is None:  # another writer may add the same name at once: keep theirs
        insert_ignore(conn, t.coders, {"name": name, "role": role}, ["name"])
        found = conn.execute(_CODER_ID, {"name": name}).scalar_one()
    return int(found)


def code_ids(conn: Connection) -> dict[str, int]:
    """Code path -> id."""
    return {p: i for p, i in conn.execute(_CODE_IDS).all()}


def document_ids(conn: Connection) -> dict[str, int]:
    """Document name -> id."""
    return {n: i for n, i in conn.execute(select(t.documents.c.name, t.documents.c.id)).all()}


def _fit(column: Any, value: str) -> str:
    """``value`` cut to the column's length: the log names a long document, never refuses it
    (PostgreSQL enforces VARCHAR lengths; SQLite does not)."""
    length = getattr(column.type, "length", None)
    return value if length is None else value[:length]


class Journal:
    """Transactions with their event, over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def write(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: Any = None,
        before: Any = None,
        after: Any = None,
        *,
        bulk: bool = False,
    ) -> Iterator[Connection]:
        """One transaction plus its event; everything inside commits or nothing does.

        ``bulk``: many rows whose keys the caller read in this transaction (see
        :func:`~qual_nlp.storage.engine.writing`).
        """
        from sqlalchemy.exc import DataError

        try:
            with writing(self.engine, bulk=bulk) as conn, conn.begin():
                yield conn
                self.log(conn, actor, action, entity, entity_id, before, after)
        except DataError as exc:  # PostgreSQL checks lengths and types SQLite lets through
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StorageError(
                f"{entity} {entity_id if entity_id is not None else ''}: the database refused "
                f"a value ({reason}); nothing was written. Shorten the name or label."
            ) from exc

    def log(
        self,
        conn: Connection,
        actor: str,
        action: str,
        entity: str,
        entity_id: Any = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Append one event inside the caller's transaction."""
        conn.execute(
            _EVENT,
            {
                "at": now(),
                "actor": _fit(t.events.c.actor, actor),
                "action": _fit(t.events.c.action, action),
                "entity": _fit(t.events.c.entity, entity),
                "entity_id": None
                if entity_id is None
                else _fit(t.events.c.entity_id, str(entity_id)),
                "before": None if before is None else to_json(before),
                "after": None if after is None else to_json(after),
            },
        )

    def last_event(self) -> int:
        """The id of the newest event: it changes with every write to the project."""
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(t.events.c.id))).scalar() or 0)

    def events(self, limit: int | None = None) -> pd.DataFrame:
        """The event log, newest first."""
        query = select(t.events).order_by(t.events.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all())
