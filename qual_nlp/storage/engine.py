"""Opening a project database: URL handling, SQLite pragmas and migrations.

SQLite (a project file) and PostgreSQL (``postgresql://user@host:port/db``, through
psycopg 3) are both first-class. On SQLite every write transaction begins with
``BEGIN IMMEDIATE``, so concurrent writers wait for each other (``busy_timeout``)
instead of failing when a read inside the transaction is upgraded to a write. Writers
of one process (the API's request threads) first queue on a lock of the file, so the
next one starts as soon as the last commits instead of sleeping in SQLite's busy
handler, whose waits grow to 100 ms and let a writer starve behind others.

On PostgreSQL a connection reads in autocommit mode (one round trip per query, no
``BEGIN`` and ``ROLLBACK`` around it; under the server's READ COMMITTED each statement
had its own snapshot anyway) and :func:`writing` opens a real transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine

from qual_nlp.errors import ProjectNotFoundError, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0008"


def to_url(location: str | Path) -> str:
    """Turn a project file path or database URL into an SQLAlchemy URL.

    >>> to_url("study.qnlp").startswith("sqlite:///")
    True
    >>> to_url(":memory:")
    'sqlite:///:memory:'
    >>> to_url("postgresql://u@localhost/study")
    'postgresql+psycopg://u@localhost/study'
    """
    text = str(location)
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme in ("postgresql", "postgres"):  # psycopg 3, not SQLAlchemy's psycopg2 default
            return f"postgresql+psycopg://{rest}"
        return text
    if text == ":memory:":  # SQLite's name for a private in-memory database, not a file
        return "sqlite:///:memory:"
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # let SQLAlchemy's "begin" event below emit BEGIN, not the sqlite3 module
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Execution option of a connection whose transaction will write (see :func:`writing`).
WRITE_OPTION = "qual_nlp_write"
#: Execution option of a write that rewrites many rows at once (see :func:`writing`).
BULK_OPTION = "qual_nlp_bulk"
#: SQLite's page cache for a bulk write (KiB, as ``PRAGMA cache_size`` takes it negated):
#: the default 2 MB spills index pages to the log many times over in a 100k-row rewrite.
BULK_CACHE_KIB = 131_072


def _sqlite_begin(conn: Any) -> None:
    """BEGIN IMMEDIATE for writes (take the write lock first, waiting up to busy_timeout);
    a plain deferred BEGIN for reads, which never block anyone under WAL."""
    options = conn.get_execution_options()
    if options.get(BULK_OPTION):
        _bulk_pragmas(conn, on=True)
    if options.get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _bulk_pragmas(conn: Any, *, on: bool) -> None:
    """Before a bulk write's BEGIN (``on``) and after its end: a large page cache, and no
    per-row foreign-key lookups. Both are connection settings outside any transaction
    (SQLite ignores ``foreign_keys`` inside one), set on the driver's connection so no
    transaction is opened for them. The bulk writers build every key they write from rows
    they read in the same transaction (segments, codes, coders), which is what the
    lookups would check; SQLite serialises writers, so none of those rows can go meanwhile.
    """
    raw = conn.connection.dbapi_connection
    if on:
        raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        raw.execute("PRAGMA foreign_keys=OFF")
    else:
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA cache_size=-2000")


#: seconds a writer queues on its process's lock of the file before going on to SQLite's
#: own wait (``busy_timeout``), which then decides
LOCK_WAIT = 10.0

_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(engine: Engine) -> threading.RLock | None:
    """The lock the writers of this process share for an SQLite file (one per file, whatever
    the engine: a job's store reopened on other connections queues with the requests);
    None for PostgreSQL, whose rows lock themselves, and for private in-memory databases."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    key = str(Path(database).resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.RLock())


@contextmanager
def writing(engine: Engine, *, bulk: bool = False) -> Iterator[Any]:
    """A connection for one write transaction: ``with writing(engine) as conn,
    conn.begin():``. On SQLite the writers of this process take turns first (see the
    module's notes); a writer that waited :data:`LOCK_WAIT` seconds goes on to SQLite's
    own wait.

    ``bulk``: a write of many rows whose keys the writer read itself (see
    :func:`_bulk_pragmas`); on SQLite the connection's settings are restored afterwards,
    whatever happened, before it goes back to the pool.
    """
    bulk = bulk and engine.dialect.name == "sqlite"
    options: dict[str, Any] = {WRITE_OPTION: True}
    if bulk:
        options[BULK_OPTION] = True
    if engine.dialect.name == "postgresql":  # reads autocommit; a write is one transaction
        options["isolation_level"] = engine.dialect.default_isolation_level or "READ COMMITTED"
    lock = _file_lock(engine)
    held = lock.acquire(timeout=LOCK_WAIT) if lock is not None else False
    try:
        with engine.connect().execution_options(**options) as conn:
            try:
                yield conn
            finally:
                if bulk and not conn.closed and not conn.invalidated:
                    _bulk_pragmas(conn, on=False)
    finally:
        if held and lock is not None:
            lock.release()


def make_engine(location: str | Path, *, create: bool) -> Engine:
    """Create an engine for ``location``; a missing SQLite file is an error unless ``create``."""
    url = to_url(location)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            if not create:
                raise ProjectNotFoundError(
                    f"{path}: no project file there. Create one with "
                    f"'qual-nlp init {path}' or check the path."
                )
            if not path.parent.exists():
                raise StorageError(
                    f"{path}: the folder {path.parent} does not exist. Create it first."
                )
        elif path.is_dir():
            raise StorageError(f"{path} is a folder; a project is a single file. Name a file.")
    try:
        engine = create_engine(url, **_pool_options(url))
    except ModuleNotFoundError as exc:  # the driver of a database URL is not installed
        raise StorageError(
            f"{_safe(url)}: the database driver {exc.name!r} is not installed. For PostgreSQL "
            "install the extra: pip install 'qual_nlp[postgres]'"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


#: connections an engine keeps open: as many as the API's request threads use at once, so
#: a busy server does not open (and, on SQLite, set up) a new connection per request
POOL_SIZE = 20


def _pool_options(url: str) -> dict[str, Any]:
    if url == "sqlite:///:memory:":  # one private database, kept by SQLAlchemy's own pool
        return {}
    if url.startswith("sqlite"):
        return {"pool_size": POOL_SIZE, "max_overflow": 2 * POOL_SIZE}
    # PostgreSQL counts connections against max_connections (often 100) for every worker;
    # reads run in autocommit (see the module's notes and :func:`writing`)
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    if url.startswith("postgresql"):
        options["isolation_level"] = "AUTOCOMMIT"
    return options


def _safe(url: str) -> str:
    """``url`` with its password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # a malformed URL: show only its scheme
        return url.split("://", 1)[0] + "://…"


def check_reachable(engine: Engine) -> None:
    """Connect once, turning a refused or failed login into a StorageError that says what to do."""
    if engine.dialect.name == "sqlite":
        return
    from sqlalchemy.exc import OperationalError

    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(
            f"{engine.url.render_as_string(hide_password=True)}: cannot connect ({reason}). "
            "Check that the server runs, that the database exists (createdb NAME) and that "
            "the user may log in."
        ) from exc


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, *, create: bool) -> None:
    """Bring the database to the newest schema (a no-op when it is already there)."""
    revision = current_revision(engine)
    if revision == HEAD:
        return
    if revision is None:
        tables = set(inspect(engine).get_table_names())
        if tables and not create:
            raise ProjectNotFoundError(
                f"{engine.url.render_as_string(hide_password=True)} holds tables but no qual_nlp "
                "project. Point at a project file, or create a new one with 'qual-nlp init'."
            )
        if not create:
            raise ProjectNotFoundError(
                f"{engine.url.render_as_string(hide_password=True)} holds no qual_nlp project. "
                "Create one with 'qual-nlp init'."
            )
    from alembic import command

    with writing(engine) as connection, connection.begin():
        command.upgrade(_alembic_config(connection), "head")
