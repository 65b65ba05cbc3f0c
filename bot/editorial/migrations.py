"""The question log's schema, as numbered migrations applied once each and recorded in `schema_version`.

Add a migration by appending to MIGRATIONS; never edit one that has shipped, since databases in the field
have already run it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from index import SchemaTooNew

__all__ = ["MIGRATIONS", "POSTGRES_MIGRATIONS", "SchemaTooNew", "current_version", "migrate", "stored_version"]

MIGRATIONS: list[str] = [
    # 1: questions, the paragraphs their answers quoted, votes, and channel → story bindings.
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        asked_at TEXT NOT NULL,            -- ISO 8601 UTC, fixed width
        guild_id INTEGER,
        channel_id INTEGER,
        user_hash TEXT NOT NULL,           -- salted HMAC-SHA256 of the Discord user id
        source TEXT NOT NULL,              -- mention | channel | slash | menu
        question TEXT NOT NULL,
        story TEXT,                        -- the story the question was scoped to, if any
        status TEXT NOT NULL,              -- index.AnswerStatus value
        confidence REAL NOT NULL,
        latency_ms REAL NOT NULL
    );
    CREATE INDEX questions_asked_at ON questions (asked_at);
    CREATE TABLE quote_refs (
        question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        story TEXT NOT NULL,
        paragraph INTEGER NOT NULL,
        paragraph_hash TEXT,               -- index.paragraph_hash of the quoted paragraph at answer time
        PRIMARY KEY (question_id, position)
    );
    CREATE TABLE feedback (
        question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        user_hash TEXT NOT NULL,
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        voted_at TEXT NOT NULL,
        PRIMARY KEY (question_id, user_hash)
    );
    CREATE TABLE channel_stories (
        channel_id INTEGER PRIMARY KEY,
        guild_id INTEGER,
        story TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]

# The same schema in PostgreSQL (DATABASE_URL), migration for migration: the number of entries must stay equal to
# MIGRATIONS' (a log's version means the same in both). Moments are timestamptz; question ids come from the
# 'questions' row of question_id_sequence (SQLite's sqlite_sequence), reserved in blocks (see questionids).
POSTGRES_MIGRATIONS: list[str] = [
    """
    CREATE TABLE questions (
        id BIGINT PRIMARY KEY,
        asked_at TIMESTAMPTZ NOT NULL,
        guild_id BIGINT,
        channel_id BIGINT,
        user_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        question TEXT NOT NULL,
        story TEXT,
        status TEXT NOT NULL,
        confidence REAL NOT NULL,
        latency_ms REAL NOT NULL
    );
    CREATE INDEX questions_asked_at ON questions (asked_at);
    CREATE TABLE quote_refs (
        question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        story TEXT NOT NULL,
        paragraph INTEGER NOT NULL,
        paragraph_hash TEXT,
        PRIMARY KEY (question_id, position)
    );
    CREATE TABLE feedback (
        question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        user_hash TEXT NOT NULL,
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        voted_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (question_id, user_hash)
    );
    CREATE TABLE channel_stories (
        channel_id BIGINT PRIMARY KEY,
        guild_id BIGINT,
        story TEXT NOT NULL,
        set_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE question_id_sequence (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
    INSERT INTO question_id_sequence (name, seq) VALUES ('questions', 0);
    """,
]


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def stored_version(conn: sqlite3.Connection) -> int | None:
    """The schema version a log records, without writing (a reader's connection is read-only); None if the file
    has no `schema_version` table, so isn't a question log."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if found is None:
        return None
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to the latest schema, each migration in its own transaction. Returns the version.

    The version is read inside each write transaction, so processes opening one log at once (shards sharing
    QUESTION_LOG_PATH) each apply only what no other has applied yet."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = current_version(conn)
            if version > len(MIGRATIONS):
                raise SchemaTooNew(
                    f"question log has schema {version}; this version of the bot knows up to {len(MIGRATIONS)}"
                )
            if version == len(MIGRATIONS):
                conn.execute("COMMIT")
                break
            for statement in (s.strip() for s in MIGRATIONS[version].split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version + 1, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
