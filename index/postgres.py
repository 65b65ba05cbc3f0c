"""PostgreSQL (DATABASE_URL) for the index and the question log: connecting, failures in words, schema versions.

psycopg is imported by this module only, and only when DATABASE_URL is set: the embedded FAISS path never loads
it. Every failure to connect becomes one of two errors, each one line that never shows the password:
`DatabaseUnavailable` (the server is down or restarting, the network: the bot tries again with a backoff) and
`DatabaseMisconfigured` (a wrong password or database name, no pgvector: the operator must change something).

Schemas are numbered migrations applied once each and recorded in a version table, as the SQLite question log's
are (`bot/editorial/migrations.py`); here two processes starting at once are kept apart by an advisory lock.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import TYPE_CHECKING, Any

from .errors import DatabaseMisconfigured, DatabaseUnavailable, IndexProblem, SchemaTooNew

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 5
# sqlstates for a login the server refused, and for a database that doesn't exist (PostgreSQL's error codes)
REFUSED_LOGIN = {"28P01", "28000"}
NO_DATABASE = "3D000"


def redacted(url: str) -> str:
    """The URL as it may be printed: the password (in the address or as ?password=) replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name, sep, _password = user.partition(":")
        netloc = f"{name}{':***' if sep else ''}@{host}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    hidden = [(k, "***" if k.lower() == "password" else v) for k, v in query]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=urllib.parse.urlencode(hidden, safe="/")))


def _password(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    return parts.password or query.get("password")


def _scrubbed(url: str, text: str) -> str:
    """An error text with the password taken out, should a driver ever echo it; on one line."""
    password = _password(url)
    if password:
        text = text.replace(password, "***").replace(urllib.parse.quote(password, safe=""), "***")
    return " ".join(text.split())


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency; a broken install says so
        raise DatabaseMisconfigured(
            "DATABASE_URL is set but psycopg is not installed: pip install 'psycopg[binary]' pgvector"
        ) from None
    return psycopg


def failure(url: str, exc: BaseException) -> IndexProblem:
    """What a psycopg error means for an operator: DatabaseMisconfigured or DatabaseUnavailable, in one line."""
    where = redacted(url)
    state = getattr(exc, "sqlstate", None)
    text = _scrubbed(url, str(exc)) or type(exc).__name__
    if state in REFUSED_LOGIN or "password authentication failed" in text or "no password supplied" in text:
        user = urllib.parse.urlsplit(url).username or "the user"
        return DatabaseMisconfigured(
            f"DATABASE_URL: PostgreSQL at {where} refused the login of {user} (wrong password or user?): "
            "correct DATABASE_URL"
        )
    if state == NO_DATABASE or ("database" in text and "does not exist" in text):
        name = urllib.parse.urlsplit(url).path.lstrip("/") or "the database"
        return DatabaseMisconfigured(
            f"DATABASE_URL: the database {name} does not exist on {where}: create it (createdb {name}) or correct "
            "DATABASE_URL"
        )
    if "invalid" in text and ("dsn" in text or "connection option" in text or "URI" in text):
        return DatabaseMisconfigured(f"DATABASE_URL is not a valid PostgreSQL URL ({text}): see docs/configuration.md")
    return DatabaseUnavailable(f"PostgreSQL at {where} can't be reached ({text})")


def connect(url: str, *, autocommit: bool = True, **options: Any) -> psycopg.Connection[Any]:
    """A connection to DATABASE_URL, or DatabaseUnavailable / DatabaseMisconfigured saying why not."""
    psycopg = _driver()
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S, **options)
    except psycopg.Error as exc:
        raise failure(url, exc) from None


def lost(exc: BaseException) -> bool:
    """Is this the connection going away (server restarted, network), as opposed to a mistake in a statement?"""
    psycopg = _driver()
    return isinstance(exc, (psycopg.OperationalError | psycopg.InterfaceError, DatabaseUnavailable))


def driver_errors() -> tuple[type[BaseException], ...]:
    """psycopg's base error, for callers that catch database failures without importing psycopg themselves."""
    return (_driver().Error,)


def ensure_vector(conn: psycopg.Connection[Any], url: str) -> None:
    """The pgvector extension, created if the role may; else DatabaseMisconfigured saying what an admin must do."""
    psycopg = _driver()
    try:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
            return
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.errors.InsufficientPrivilege:
        name = urllib.parse.urlsplit(url).path.lstrip("/") or "the database"
        raise DatabaseMisconfigured(
            f"DATABASE_URL: the vector extension is not enabled in {name} and this user may not enable it: ask an "
            f"admin to run CREATE EXTENSION vector; in {name}"
        ) from None
    except psycopg.Error as exc:
        if lost(exc):
            raise failure(url, exc) from None
        raise DatabaseMisconfigured(
            f"DATABASE_URL: PostgreSQL at {redacted(url)} has no pgvector ({_scrubbed(url, str(exc))}): install it "
            "on the server (e.g. the postgresql-16-pgvector package) or use a server that has it"
        ) from None


def stored_version(conn: psycopg.Connection[Any], table: str) -> int | None:
    """The schema version `table` records; None when there is no such table (nothing made here yet)."""
    if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:  # type: ignore[index]
        return None
    return int(conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {table}").fetchone()[0])  # type: ignore[index]


def migrate(conn: psycopg.Connection[Any], migrations: list[str], table: str, what: str) -> int:
    """Bring the schema `table` versions up to date, all in one transaction under an advisory lock (two processes
    starting at once: the second waits, then finds nothing to do). SchemaTooNew for a newer database."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
        )
        version = stored_version(conn, table) or 0
        if version > len(migrations):
            raise SchemaTooNew(f"{what} has schema {version}; this version of the bot knows up to {len(migrations)}")
        for number, script in enumerate(migrations[version:], start=version + 1):
            conn.execute(script)  # a literal script of ours, several statements
            conn.execute(
                f"INSERT INTO {table} (version, applied_at) VALUES (%s, %s)", (number, dt.datetime.now(dt.UTC))
            )
    return len(migrations)
