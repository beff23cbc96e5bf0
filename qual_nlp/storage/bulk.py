"""Bulk writes that skip per-row SQL compilation.

A suggestion run writes a row per suggested code and per segment — 200k rows
at 100k segments. SQLAlchemy Core compiles parameters row by row, which costs
more than SQLite's own work; here the rows go as plain tuples to the driver's
``executemany`` with the statement written once, or on PostgreSQL through
``COPY … FROM STDIN``, several times faster there than any INSERT.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

#: Rows from which a write rebuilds a table's indexes instead of updating them, and
#: writes as a bulk write (:func:`~qual_nlp.storage.engine.writing`).
BULK_ROWS = 20_000

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; returns how many.

    Uses the driver directly when its parameter style is positional (SQLite,
    psycopg); other drivers get an ordinary Core insert.
    """
    rows = list(rows)
    if not rows:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    if conn.dialect.name == "postgresql":  # psycopg 3: COPY in the same transaction
        names = ", ".join(quote(c) for c in columns)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return len(rows)
    mark = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    if mark is None:  # pragma: no cover - no such driver in the test matrix
        conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
        return len(rows)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, rows)
    return len(rows)


def fetch_rows(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a trusted, parameterless query as plain tuples, straight from the driver.

    SQLAlchemy's Row objects are slow to turn into a DataFrame at 100k rows.
    """
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def upsert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    key: str,
    rows: Iterable[tuple[Any, ...]],
) -> int:
    """Insert ``rows``, replacing the other columns of rows whose ``key`` already exists.

    ``INSERT … ON CONFLICT (key) DO UPDATE`` — SQLite 3.24+ and PostgreSQL alike.
    """
    rows = list(rows)
    if not rows:
        return 0
    mark = _PLACEHOLDERS.get(conn.dialect.paramstyle, "?")
    quote = conn.dialect.identifier_preparer.quote
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c != key)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({quote(key)}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql(sql, rows)
    return len(rows)


class indexes_dropped:  # noqa: N801 - used as a context manager, like contextlib's
    """Drop ``table``'s secondary indexes inside the current transaction and build
    them again on exit.

    Rewriting most rows of a table with indexes on random floats costs more in
    index upkeep than the writes; one sort per index afterwards is cheaper.
    Both happen in the caller's transaction, so readers never see the table
    without its indexes. On PostgreSQL the indexes stay: dropping one there locks the
    table against every reader until commit.
    """

    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn = conn
        self.indexes = list(table.indexes)
        if conn.dialect.name == "postgresql":  # measured: COPY keeps them up cheaply
            self.indexes = []

    def __enter__(self) -> indexes_dropped:
        for index in self.indexes:
            index.drop(self.conn)
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:  # on error the transaction rolls back and restores them
            for index in self.indexes:
                index.create(self.conn)


def delete_where_in(
    conn: Connection, table: Table, column: str, ids: Sequence[int], extra: str = ""
) -> None:
    """``DELETE FROM table WHERE column IN ids [AND extra]`` through a temporary id table.

    One statement instead of hundreds of 900-id ``IN`` lists; ``extra`` is a
    trusted SQL condition written by the caller (never user text).
    """
    if not ids:
        return
    quote = conn.dialect.identifier_preparer.quote
    unique = sorted({int(i) for i in ids})
    if conn.dialect.name == "postgresql":  # one array parameter, no temporary table
        where = f"{quote(column)} = ANY(%s)" + (f" AND ({extra})" if extra else "")
        conn.exec_driver_sql(f"DELETE FROM {quote(table.name)} WHERE {where}", (unique,))
        return
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS _ids (id INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("DELETE FROM _ids")
    mark = _PLACEHOLDERS.get(conn.dialect.paramstyle, "?")
    conn.exec_driver_sql(f"INSERT INTO _ids (id) VALUES ({mark})", [(i,) for i in unique])
    where = f"{quote(column)} IN (SELECT id FROM _ids)"
    if extra:
        where += f" AND ({extra})"
    conn.exec_driver_sql(f"DELETE FROM {quote(table.name)} WHERE {where}")
    conn.exec_driver_sql("DELETE FROM _ids")
