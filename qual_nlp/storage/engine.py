"""Opening a project database: URL handling, SQLite pragmas and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine

from qual_nlp.errors import ProjectNotFoundError, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0005"


def to_url(location: str | Path) -> str:
    """Turn a project file path or database URL into an SQLAlchemy URL.

    >>> to_url("study.qnlp").startswith("sqlite:///")
    True
    >>> to_url(":memory:")
    'sqlite:///:memory:'
    >>> to_url("postgresql://u@localhost/study")
    'postgresql://u@localhost/study'
    """
    text = str(location)
    if "://" in text:
        return text
    if text == ":memory:":  # SQLite's name for a private in-memory database, not a file
        return "sqlite:///:memory:"
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
