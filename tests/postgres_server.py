"""A throwaway PostgreSQL server for the tests, and the ``backend`` fixture.

One cluster is made with ``initdb`` in a temporary folder the first time a test asks
for PostgreSQL, listens on a free port of 127.0.0.1 only (trust authentication: it is
reachable from this machine alone and lives for one test run) and is stopped and
deleted when the session ends. PostgreSQL refuses to run as root, so under root the
server runs as the ``postgres`` OS user (``runuser``), which the Debian packages create.

Each test gets its own new database, made with ICU's ``en-US`` collation rather than
byte order, as a real server's databases usually are: whatever the store sorts must
come out as on SQLite anyway.

Tests opt in with ``pytestmark = pytest.mark.backends`` (or the mark on one test):
every test of theirs that uses the ``backend`` fixture — directly or through
``project_location`` or ``store`` — runs once on SQLite and once on PostgreSQL. When
the PostgreSQL binaries are missing, the PostgreSQL runs fail under CI (``CI=true``)
with the command that installs them, and are skipped elsewhere.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are needed for the PostgreSQL runs of the "
    "storage tests. Install them: 'apt-get install -y postgresql' (Debian/Ubuntu; "
    "scripts/setup.sh does it when run as root), or point QUAL_NLP_PG_BIN at the folder "
    "that holds initdb."
)


def pg_bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: $QUAL_NLP_PG_BIN, Debian's newest, or PATH."""
    if os.environ.get("QUAL_NLP_PG_BIN"):
        folder = Path(os.environ["QUAL_NLP_PG_BIN"])
        return folder if (folder / "initdb").exists() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running cluster; :meth:`create_database` hands out fresh databases."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # under root, /tmp rather than $TMPDIR, which the postgres user may not reach
        where = "/tmp" if self.as_root and os.path.isdir("/tmp") else None
        self.folder = Path(tempfile.mkdtemp(prefix="qual_nlp_pg_", dir=where))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self._names = itertools.count(1)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{log}"
            )

    def start(self) -> None:
        if self.as_root:  # the server's files belong to the unprivileged user running it
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-c unix_socket_directories={self.folder}",
                "-c max_connections=60",
                "-c fsync=off",  # a throwaway cluster: durability buys nothing here
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE) as the superuser."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"qn_{os.getpid()}_{next(self._names)}"
        self.admin(
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
        return self.url(name)

    def copy_database(self, url: str) -> str:
        """A copy of the database at ``url`` (like copying a project file); returns its URL.

        PostgreSQL copies only a database nobody is connected to, so the other sessions
        on it are ended first; their engines reconnect on next use (pool_pre_ping).
        """
        source = url.rsplit("/", 1)[1]
        name = f"qn_{os.getpid()}_{next(self._names)}"
        self.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{source}' AND pid <> pg_backend_pid()"
        )
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return self.url(name)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"{reason} {INSTALL_HINT}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL cluster (started on first use, stopped at the end)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'qual_nlp[postgres]').")
    bindir = pg_bindir()
    if bindir is None:
        _unavailable("PostgreSQL is not installed.")
    assert bindir is not None
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends: run the test on SQLite and on a real PostgreSQL server"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite``, or ``postgresql`` in tests marked ``backends`` (their second run)."""
    name = str(getattr(request, "param", "sqlite"))
    if name == "postgresql":
        request.getfixturevalue("postgres_server")
    return name


@pytest.fixture
def project_location(backend: str, project_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a test's new project goes: the SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return str(project_path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
