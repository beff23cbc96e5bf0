"""What SQLite and PostgreSQL spell differently, in one place.

The rest of the store writes SQLAlchemy Core; these few helpers give the same result
on both databases:

* :class:`binary` orders text by code point. SQLite compares strings byte by byte;
  PostgreSQL uses the database's locale (``en_US`` puts ``C01_b`` before ``C01-a``),
  so text sort keys get ``COLLATE "C"`` there and both list documents alike.
* :func:`insert_ignore` and :func:`upsert` are ``INSERT … ON CONFLICT`` for either
  dialect: a row that another coder wrote a moment earlier is neither an error nor
  a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class binary(FunctionElement):  # noqa: N801 - reads as a SQL function
    """A text expression compared by code point, e.g. ``order_by(binary(t.c.name))``."""

    inherit_cache = True
    name = "binary"

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type  # the wrapped column's, so labels and .desc() work


@compiles(binary)
def _binary_default(element: binary, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(binary, "postgresql")
def _binary_postgresql(element: binary, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


# The statements below are built once per shape and run with the rows as parameters:
# SQLAlchemy then reuses the statement's cache key and compiled form, where a statement
# built per call costs more than the write itself on a hot path (a review decision).


@lru_cache(maxsize=256)
def _ignoring(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=list(keys))


@lru_cache(maxsize=256)
def _upserting(dialect: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> Any:
    statement = _insert(dialect, table)
    changes = {c: statement.excluded[c] for c in columns if c not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changes)


def insert_ignore(
    conn: Connection, table: Table, rows: dict[str, Any] | list[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, silently keeping the stored row where ``keys`` already exist."""
    if not rows:
        return
    conn.execute(_ignoring(conn.dialect.name, table, tuple(keys)), rows)


def upsert(conn: Connection, table: Table, row: dict[str, Any], keys: Sequence[str]) -> None:
    """Insert ``row`` or, where ``keys`` exist, update the stored row's other columns.

    On PostgreSQL the conflicting row stays locked until the transaction ends, so two
    transactions upserting the same key run one after the other.
    """
    statement = _upserting(conn.dialect.name, table, tuple(row), tuple(keys))
    conn.execute(statement, row)
