"""Where the question log lives: one SQLite file (the default) or PostgreSQL (DATABASE_URL), behind one interface.

The log's logic (`questionlog`, `questionids`, `report`) is written once, in SQL both engines speak, with `?`
placeholders and rows read by column name. A backend supplies only what differs: the connection, the schema
(`migrations`), how a write transaction begins, the table that counts question ids, how a moment is stored, and
which failures mean the connection was lost (PostgreSQL restarting: the writer reconnects and writes the row again)
rather than a mistake.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from index import postgres

from .migrations import MIGRATIONS, POSTGRES_MIGRATIONS, migrate, stored_version

POSTGRES_VERSION_TABLE = "schema_version"


class QuestionLogError(RuntimeError):
    """The log cannot be opened or is not a question log this version understands; the message says which."""


def iso(moment: dt.datetime) -> str:
    """UTC, fixed width, so text order is time order and `substr(asked_at, 1, 10)` is the day."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day(value: str | dt.datetime) -> str:
    """YYYY-MM-DD (UTC) of a stored moment, whichever backend stored it."""
    return value[:10] if isinstance(value, str) else value.astimezone(dt.UTC).strftime("%Y-%m-%d")


class LogConnection:
    """A connection of either backend as the log's code uses it: `?` placeholders, rows by name or position."""

    def __init__(self, raw: Any, backend: LogBackend) -> None:
        self.raw = raw
        self.backend = backend

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(self.backend.sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            self.raw.cursor().executemany(self.backend.sql(sql), rows)

    def moment(self, value: dt.datetime) -> Any:
        return self.backend.moment(value)

    def close(self) -> None:
        self.raw.close()


class LogBackend(ABC):
    """What differs between the two places a question log can live."""

    where: str  # for messages: the file, or the database URL without its password
    setting: str  # the variable an operator changes: QUESTION_LOG_PATH or DATABASE_URL
    begin: str  # a write transaction that excludes other writers to the log
    counter: str  # table (name, seq) whose 'questions' row counts the ids handed out
    lock_row: str  # appended to the counter's SELECT inside a write transaction so two processes queue there

    @abstractmethod
    def open(self) -> LogConnection:
        """The writer's connection, the schema brought up to date."""

    @abstractmethod
    def connect(self) -> LogConnection:
        """Another connection to the same log (ids reserved beside the writer, a reconnect)."""

    @abstractmethod
    def reader(self) -> LogConnection:
        """A connection for reports, once the log is known to be one this version reads; QuestionLogError if not."""

    def sql(self, text: str) -> str:
        return text

    def moment(self, value: dt.datetime) -> Any:
        return iso(value)

    def lost(self, exc: BaseException) -> bool:
        """True when `exc` is the connection going away, so the same write may be tried again once it is back."""
        return False

    def errors(self) -> tuple[type[BaseException], ...]:
        """The driver's errors: what a failing read or write raises."""
        return (sqlite3.Error,)


def _check_version(version: int | None, where: str) -> None:
    if version is None:
        raise QuestionLogError(f"{where} is not a question log (it has no schema_version table)")
    if version > len(MIGRATIONS):
        raise QuestionLogError(
            f"{where} was written by a newer newsroom-bot (log schema {version}; this one reads up to "
            f"{len(MIGRATIONS)}): update newsroom-bot to read it"
        )
    if version < len(MIGRATIONS):
        raise QuestionLogError(
            f"{where} has log schema {version} and this version reads {len(MIGRATIONS)}: start the bot once "
            "with it (the bot upgrades the log), then run this again"
        )


class SqliteLog(LogBackend):
    """One SQLite file (WAL): the default, for bot processes on one machine."""

    setting, begin, counter, lock_row = "QUESTION_LOG_PATH", "BEGIN IMMEDIATE", "sqlite_sequence", ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)

    def connect(self) -> LogConnection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
        conn.row_factory = sqlite3.Row
        return LogConnection(conn, self)

    def open(self) -> LogConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.connect()
        _write_ahead_log(conn.raw)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        migrate(conn.raw)
        return conn

    def reader(self) -> LogConnection:
        """Read-only. A log in a folder this process can't write is read as an immutable snapshot: SQLite's
        read-only mode still needs to create the WAL index file beside it."""
        path = self.path
        if not path.exists():
            raise FileNotFoundError(f"no question log at {path}: the bot writes it once readers ask questions")
        uri = path.resolve().as_uri()
        try:
            try:
                return self._checked(f"{uri}?mode=ro")
            except sqlite3.OperationalError:  # "unable to open database file": no -shm can be made beside it
                return self._checked(f"{uri}?mode=ro&immutable=1")
        except sqlite3.DatabaseError as exc:
            raise QuestionLogError(
                f"{path} is not a readable question log ({exc}): restore it from a backup, or move it aside and "
                "the bot starts a new one"
            ) from exc

    def _checked(self, uri: str) -> LogConnection:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            _check_version(stored_version(conn), str(self.path))
            conn.execute("SELECT 1 FROM questions LIMIT 1").fetchall()  # the tables themselves are readable
        except BaseException:
            conn.close()
            raise
        conn.row_factory = sqlite3.Row
        return LogConnection(conn, self)


class Row(tuple[Any, ...]):
    """A PostgreSQL row read like sqlite3.Row: by position or by column name."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


class PostgresLog(LogBackend):
    """The log in PostgreSQL (DATABASE_URL): every bot process on every machine writes one log."""

    setting, begin, counter, lock_row = "DATABASE_URL", "BEGIN", "question_id_sequence", " FOR UPDATE"

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = postgres.redacted(url)

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")  # the log's SQL has no other ? (nor any %)

    def moment(self, value: dt.datetime) -> Any:
        return value.astimezone(dt.UTC)

    def lost(self, exc: BaseException) -> bool:
        return postgres.lost(exc)

    def errors(self) -> tuple[type[BaseException], ...]:
        return (*postgres.driver_errors(), postgres.DatabaseUnavailable)

    def connect(self) -> LogConnection:
        import psycopg

        # client-side binding: the report's CREATE TEMP TABLE ... AS SELECT takes parameters too
        raw = postgres.connect(self.url, cursor_factory=psycopg.ClientCursor, row_factory=_row_factory)
        return LogConnection(raw, self)

    def open(self) -> LogConnection:
        conn = self.connect()
        try:
            postgres.migrate(conn.raw, POSTGRES_MIGRATIONS, POSTGRES_VERSION_TABLE, f"the question log in {self.where}")
        except BaseException:
            conn.close()
            raise
        return conn

    def reader(self) -> LogConnection:
        conn = self.connect()
        try:
            _check_version(postgres.stored_version(conn.raw, POSTGRES_VERSION_TABLE), f"the database {self.where}")
        except BaseException:
            conn.close()
            raise
        return conn


def backend_for(target: str | Path | LogBackend) -> LogBackend:
    """A backend for a log file's path, a postgresql:// URL, or a backend already made."""
    if isinstance(target, LogBackend):
        return target
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        return PostgresLog(target)
    return SqliteLog(target)


def _write_ahead_log(conn: sqlite3.Connection, wait_s: float = 5.0) -> None:
    """Put the file in WAL mode. SQLite answers "database is locked" at once, without its busy timeout, while
    another connection is switching the same new file: processes opening one log together (shards) try again."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
