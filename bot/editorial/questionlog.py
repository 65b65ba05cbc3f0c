"""The question log: what readers asked, whether a story answered, which paragraphs were quoted, and the 👍/👎.

One SQLite file (WAL) beside the index. Readers appear only as salted HMAC-SHA256 digests of their Discord
id, never by name. Every write goes through one writer thread, so the event loop never waits on the disk,
and `close()` drains the queue so no row is lost on shutdown. The log knows nothing of Discord.

A question's `status` is its `index.AnswerStatus` value: `answered`, `closest` (the closest passage shown under a
hedge: its quote refs and votes are kept as an answer's), `not_covered`, `empty_question` or `question_too_long`.
The `closest` tier needed no migration: the column has always held the value, so older rows read as they were.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import hmac
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import Answer

from .migrations import MIGRATIONS, SchemaTooNew, migrate, stored_version
from .questionids import ID_BLOCK, QuestionIds

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600.0
Job = Callable[[sqlite3.Connection], Any]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """UTC, fixed width, so text order is time order and `substr(asked_at, 1, 10)` is the day."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class QuoteRef:
    story: str
    paragraph: int
    paragraph_hash: str | None


@dataclass(frozen=True)
class QuestionRecord:
    """One asked question, as the log keeps it (the user id is hashed on the way in)."""

    question: str
    status: str
    user_id: int
    source: str = "slash"  # mention | channel | slash | menu
    story: str | None = None  # the story the question was scoped to
    guild_id: int | None = None
    channel_id: int | None = None
    latency_ms: float = 0.0
    confidence: float = 0.0
    refs: tuple[QuoteRef, ...] = ()
    asked_at: dt.datetime = field(default_factory=utc_now)

    @classmethod
    def from_answer(cls, answer: Answer, *, user_id: int, **where: Any) -> QuestionRecord:
        """The record for an Answer; `where` takes the other fields (source, guild_id, channel_id, latency_ms)."""
        refs = tuple(QuoteRef(q.story, q.paragraph, q.paragraph_hash) for q in answer.quotes)
        return cls(
            question=answer.question,
            status=answer.status.value,
            user_id=user_id,
            story=answer.story,
            confidence=answer.confidence,
            refs=refs,
            **where,
        )


@dataclass(frozen=True)
class Tally:
    up: int
    down: int


class QuestionLogError(RuntimeError):
    """The log file cannot be opened or is not a question log this version understands; the message says which."""


class UnknownQuestion(LookupError):
    """A vote for a question that is not in the log (pruned, or from another database)."""


class QuestionLog:
    """Append-only question rows, votes and channel→story bindings in one SQLite file.

    Several bot processes may share one file (shards, a restart overlapping the old process), so question ids
    come from blocks reserved in the database (see `questionids`), never from a count kept in memory.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        salt: str | None = None,
        retention_days: int = 90,
        enabled: bool = True,
        id_block: int = ID_BLOCK,
    ) -> None:
        self.path = Path(path)
        self.enabled = enabled  # False: no question rows (channel bindings are still kept)
        self.retention_days = retention_days
        try:
            conn = self._open(self.path)
            self._salt = (salt or self._stored_salt(conn)).encode("utf-8")
            self._bindings = {int(c): s for c, s in conn.execute("SELECT channel_id, story FROM channel_stories")}
            self._ids = QuestionIds(self.path, id_block, conn)
        except (OSError, sqlite3.Error, SchemaTooNew) as exc:
            raise QuestionLogError(f"QUESTION_LOG_PATH: cannot use {self.path} ({exc})") from exc
        self._conn = conn
        self._queue: queue.SimpleQueue[tuple[Job, Future[Any]] | None] = queue.SimpleQueue()
        self._last_prune = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="question-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        self.prune()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        migrate(conn)
        return conn

    @staticmethod
    def _stored_salt(conn: sqlite3.Connection) -> str:
        """Without QUESTION_LOG_SALT, a random salt made once and kept in the file itself."""
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(32),))
        return str(conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0])

    def hash_user(self, user_id: int) -> str:
        return hmac.new(self._salt, str(int(user_id)).encode(), hashlib.sha256).hexdigest()[:32]

    # ----------------------------------------------------------------- writer thread
    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = job(self._conn)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                future.set_result(result)
            except Exception as exc:
                if not isinstance(exc, UnknownQuestion):
                    log.exception("question log write failed")
                future.set_exception(exc)
        self._conn.close()

    def submit(self, job: Job) -> Future[Any]:
        """Run `job(connection)` in one transaction on the writer thread; never blocks the caller."""
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(RuntimeError(f"question log {self.path} is closed"))
            return future
        self._queue.put((job, future))
        return future

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until everything queued so far is on disk (tests, shutdown)."""
        self.submit(lambda conn: None).result(timeout)

    def close(self) -> None:
        """Write every queued row, then stop the writer. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._queue.put((self._ids.give_back, Future()))
        self._queue.put(None)
        self._thread.join()
        atexit.unregister(self.close)

    # ----------------------------------------------------------------- questions
    def record(self, rec: QuestionRecord) -> int | None:
        """Queue one question; returns its id at once (buttons under the answer carry it), None when logging is off."""
        if not self.enabled or self._closed:
            return None
        try:
            question_id = self._ids.take(self.submit)
        except sqlite3.Error:  # no id could be reserved (the file is locked or gone): answer anyway, unlogged
            log.exception("question log: no question id could be reserved in %s; question not logged", self.path)
            return None
        user = self.hash_user(rec.user_id)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO questions (id, asked_at, guild_id, channel_id, user_hash, source, question, story,"
                " status, confidence, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    question_id,
                    iso(rec.asked_at),
                    rec.guild_id,
                    rec.channel_id,
                    user,
                    rec.source,
                    rec.question,
                    rec.story,
                    rec.status,
                    round(float(rec.confidence), 4),
                    round(float(rec.latency_ms), 1),
                ),
            )
            conn.executemany(
                "INSERT INTO quote_refs (question_id, position, story, paragraph, paragraph_hash)"
                " VALUES (?, ?, ?, ?, ?)",
                [(question_id, i, r.story, r.paragraph, r.paragraph_hash) for i, r in enumerate(rec.refs)],
            )
            self._maybe_prune(conn)

        self.submit(insert)
        return question_id

    # ----------------------------------------------------------------- feedback
    def vote(self, question_id: int, user_id: int, vote: int) -> Future[Tally]:
        """One vote per reader per answer (+1 👍, -1 👎); voting again replaces it. Resolves to the new tally."""
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        user, at = self.hash_user(user_id), iso(utc_now())

        def upsert(conn: sqlite3.Connection) -> Tally:
            if conn.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is None:
                raise UnknownQuestion(question_id)
            conn.execute(
                "INSERT INTO feedback (question_id, user_hash, vote, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (question_id, user_hash) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                (question_id, user, vote, at),
            )
            return tally(conn, question_id)

        return self.submit(upsert)

    # ----------------------------------------------------------------- channel → story
    def channel_story(self, channel_id: int) -> str | None:
        """The story a channel is bound to; answered from memory, so cheap on the event loop."""
        return self._bindings.get(int(channel_id))

    def bind_channel(self, channel_id: int, story: str | None, *, guild_id: int | None = None) -> Future[None]:
        """Bind a channel to one story (None clears it). Memory first, so the next question already sees it."""
        channel_id, at = int(channel_id), iso(utc_now())
        if story is None:
            self._bindings.pop(channel_id, None)
        else:
            self._bindings[channel_id] = story

        def store(conn: sqlite3.Connection) -> None:
            if story is None:
                conn.execute("DELETE FROM channel_stories WHERE channel_id = ?", (channel_id,))
                return
            conn.execute(
                "INSERT INTO channel_stories (channel_id, guild_id, story, set_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel_id) DO UPDATE SET story = excluded.story, guild_id = excluded.guild_id,"
                " set_at = excluded.set_at",
                (channel_id, guild_id, story, at),
            )

        return self.submit(store)

    # ----------------------------------------------------------------- retention
    def prune(self, now: dt.datetime | None = None) -> Future[int]:
        """Delete questions (with their refs and votes) older than the retention period; 0 days keeps all."""
        return self.submit(lambda conn: self._prune(conn, now or utc_now()))

    def _maybe_prune(self, conn: sqlite3.Connection) -> None:
        if time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
            self._prune(conn, utc_now())

    def _prune(self, conn: sqlite3.Connection, now: dt.datetime) -> int:
        self._last_prune = time.monotonic()
        if self.retention_days <= 0:
            return 0
        cutoff = iso(now - dt.timedelta(days=self.retention_days))
        return conn.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount

    # ----------------------------------------------------------------- reading
    def reader(self) -> sqlite3.Connection:
        """A separate read-only connection (WAL lets it read while the writer writes); close it after use."""
        return open_reader(self.path)


def open_reader(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to the log at `path`, once it is known to be a question log this version can read.

    QuestionLogError, in words an operator can act on, for a file that is damaged, isn't a question log, or has
    a schema other than this version's (the bot upgrades a log when it opens it; a reader never writes). A log in
    a folder this process can't write is read as an immutable snapshot: SQLite's read-only mode still needs to
    create the WAL index file beside it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no question log at {path}: the bot writes it once readers ask questions")
    uri = path.resolve().as_uri()
    try:
        try:
            conn = _checked_reader(f"{uri}?mode=ro", path)
        except sqlite3.OperationalError:  # "unable to open database file": no -shm can be made beside it
            conn = _checked_reader(f"{uri}?mode=ro&immutable=1", path)
    except sqlite3.DatabaseError as exc:
        raise QuestionLogError(
            f"{path} is not a readable question log ({exc}): restore it from a backup, or move it aside and "
            "the bot starts a new one"
        ) from exc
    return conn


def _checked_reader(uri: str, path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        version = stored_version(conn)
        if version is None:
            raise QuestionLogError(f"{path} is not a question log (it has no schema_version table)")
        if version > len(MIGRATIONS):
            raise QuestionLogError(
                f"{path} was written by a newer newsroom-bot (log schema {version}; this one reads up to "
                f"{len(MIGRATIONS)}): update newsroom-bot to read it"
            )
        if version < len(MIGRATIONS):
            raise QuestionLogError(
                f"{path} has log schema {version} and this version reads {len(MIGRATIONS)}: start the bot once "
                "with it (the bot upgrades the log), then run this again"
            )
        conn.execute("SELECT 1 FROM questions LIMIT 1").fetchall()  # the tables themselves are readable
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


def tally(conn: sqlite3.Connection, question_id: int) -> Tally:
    up, down = conn.execute(
        "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM feedback WHERE question_id = ?",
        (question_id,),
    ).fetchone()
    return Tally(int(up), int(down))
