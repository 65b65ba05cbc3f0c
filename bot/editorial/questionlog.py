"""The question log: what readers asked, whether a story answered, which paragraphs were quoted, and the 👍/👎.

One SQLite file (WAL) beside the index, or PostgreSQL when DATABASE_URL is set, so bot processes on several
machines share one log (`logdb` holds what differs; the logic here is the same for both). Readers appear only as
salted HMAC-SHA256 digests of their Discord id, never by name. Every write goes through one writer thread, so the
event loop never waits on the disk, and `close()` drains the queue so no row is lost on shutdown. When PostgreSQL
restarts under the bot, the writer reconnects with a backoff and writes the same rows again (every write is
idempotent), so a restart loses none. The log knows nothing of Discord.

A question's `status` is its `index.AnswerStatus` value: `answered`, `closest` (the closest passage shown under a
hedge: its quote refs and votes are kept as an answer's), `not_covered`, `empty_question` or `question_too_long`.
The `closest` tier needed no migration: the column has always held the value, so older rows read as they were.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import Answer, IndexProblem

from ..backoff import delays
from .logdb import LogBackend, LogConnection, QuestionLogError, backend_for
from .migrations import SchemaTooNew
from .questionids import ID_BLOCK, QuestionIds

__all__ = ["QuestionLog", "QuestionLogError", "QuestionRecord", "QuoteRef", "Tally", "UnknownQuestion", "open_reader"]

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600.0
CLOSE_WAIT_SECONDS = 30.0  # closing while the database is down: how long the writer still tries to write the rest
Job = Callable[[LogConnection], Any]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


class UnknownQuestion(LookupError):
    """A vote for a question that is not in the log (pruned, or from another database)."""


class QuestionLog:
    """Append-only question rows, votes and channel→story bindings in one SQLite file or PostgreSQL database.

    Several bot processes may share one log (shards, a restart overlapping the old process, other machines on one
    PostgreSQL), so question ids come from blocks reserved in the database (see `questionids`), never from a count
    kept in memory. `target`: the SQLite file, a postgresql:// URL, or a `logdb` backend.
    """

    def __init__(
        self,
        target: str | Path | LogBackend,
        *,
        salt: str | None = None,
        retention_days: int = 90,
        enabled: bool = True,
        id_block: int = ID_BLOCK,
    ) -> None:
        self.backend = backend_for(target)
        self.where = self.backend.where
        self.enabled = enabled  # False: no question rows (channel bindings are still kept)
        self.retention_days = retention_days
        try:
            conn = self.backend.open()
            self._salt = (salt or self._stored_salt(conn)).encode("utf-8")
            self._bindings = {int(c): s for c, s in conn.execute("SELECT channel_id, story FROM channel_stories")}
            self._ids = QuestionIds(self.backend, id_block, conn)
        except IndexProblem as exc:  # DATABASE_URL: unreachable, or refused (the message says which, no password)
            raise QuestionLogError(str(exc)) from exc
        except (OSError, SchemaTooNew, *self.backend.errors()) as exc:  # type: ignore[misc]  # a tuple of classes
            raise QuestionLogError(f"{self.backend.setting}: cannot use {self.where} ({exc})") from exc
        self._conn = conn
        self._queue: queue.SimpleQueue[tuple[Job, Future[Any]] | None] = queue.SimpleQueue()
        self._last_prune = 0.0
        self._closed = False
        self._given_up = False  # closing, the database stayed away past CLOSE_WAIT_SECONDS: the rest is dropped
        self._thread = threading.Thread(target=self._run, name="question-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        self.prune()

    @property
    def path(self) -> Path:
        """The SQLite file (the default backend); there is none in PostgreSQL."""
        path = getattr(self.backend, "path", None)
        if path is None:
            raise AttributeError(f"the question log in {self.where} is no file")
        return Path(path)

    @staticmethod
    def _stored_salt(conn: LogConnection) -> str:
        """Without QUESTION_LOG_SALT, a random salt made once and kept in the log itself."""
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('salt', ?) ON CONFLICT (key) DO NOTHING", (secrets.token_hex(32),)
        )
        return str(conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0])

    def hash_user(self, user_id: int) -> str:
        return hmac.new(self._salt, str(int(user_id)).encode(), hashlib.sha256).hexdigest()[:32]

    # ----------------------------------------------------------------- writer thread
    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            while True:
                try:
                    future.set_result(self._transaction(job))
                except Exception as exc:
                    if self.backend.lost(exc) and self._reconnect(exc):
                        continue  # the same job again: every write is idempotent
                    if not isinstance(exc, UnknownQuestion):
                        log.exception("question log write failed")
                    future.set_exception(exc)
                break
        self._conn.close()

    def _transaction(self, job: Job) -> Any:
        self._conn.execute(self.backend.begin)
        try:
            result = job(self._conn)
            self._conn.execute("COMMIT")
        except BaseException:
            try:
                self._conn.execute("ROLLBACK")
            except Exception as failed:  # the connection itself is gone: nothing to roll back
                if not self.backend.lost(failed):
                    raise
            raise
        return result

    def _reconnect(self, cause: BaseException) -> bool:
        """The database went away (restarted, network): connect again, one line a try, growing pauses. The queue
        waits meanwhile, so no row is lost. False only when closing and the database stayed away too long."""
        pause, tries, closing_since = delays(0.2, 10.0), 0, None
        while not self._given_up:
            tries += 1
            if self._closed:
                closing_since = closing_since or time.monotonic()
                if time.monotonic() - closing_since > CLOSE_WAIT_SECONDS:
                    log.error("question log: %s still unreachable while closing; unwritten rows are lost", self.where)
                    self._given_up = True
                    break
            try:
                conn = self.backend.connect()
            except Exception as exc:
                delay = pause()
                log.warning(
                    "question log: %s can't be reached (%s); rows wait in memory, trying again in %.2g s (try %d)",
                    self.where, exc, delay, tries,
                )  # fmt: skip
                time.sleep(delay)
                continue
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = conn
            log.info(
                "question log: %s is back after %d tries (%s); writing the rows that waited", self.where, tries, cause
            )
            return True
        return False

    def submit(self, job: Job) -> Future[Any]:
        """Run `job(connection)` in one transaction on the writer thread; never blocks the caller."""
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(RuntimeError(f"question log {self.where} is closed"))
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
        except (IndexProblem, *self.backend.errors()):  # type: ignore[misc]  # no id could be reserved: answer, unlogged
            log.exception("question log: no question id could be reserved in %s; question not logged", self.where)
            return None
        user = self.hash_user(rec.user_id)

        def insert(conn: LogConnection) -> None:
            conn.execute(
                "INSERT INTO questions (id, asked_at, guild_id, channel_id, user_hash, source, question, story,"
                " status, confidence, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    question_id,
                    conn.moment(rec.asked_at),
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
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (question_id, position) DO NOTHING",
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
        user, at = self.hash_user(user_id), utc_now()

        def upsert(conn: LogConnection) -> Tally:
            if conn.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is None:
                raise UnknownQuestion(question_id)
            conn.execute(
                "INSERT INTO feedback (question_id, user_hash, vote, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (question_id, user_hash) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                (question_id, user, vote, conn.moment(at)),
            )
            return tally(conn, question_id)

        return self.submit(upsert)

    # ----------------------------------------------------------------- channel → story
    def channel_story(self, channel_id: int) -> str | None:
        """The story a channel is bound to; answered from memory, so cheap on the event loop."""
        return self._bindings.get(int(channel_id))

    def bind_channel(self, channel_id: int, story: str | None, *, guild_id: int | None = None) -> Future[None]:
        """Bind a channel to one story (None clears it). Memory first, so the next question already sees it."""
        channel_id, at = int(channel_id), utc_now()
        if story is None:
            self._bindings.pop(channel_id, None)
        else:
            self._bindings[channel_id] = story

        def store(conn: LogConnection) -> None:
            if story is None:
                conn.execute("DELETE FROM channel_stories WHERE channel_id = ?", (channel_id,))
                return
            conn.execute(
                "INSERT INTO channel_stories (channel_id, guild_id, story, set_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel_id) DO UPDATE SET story = excluded.story, guild_id = excluded.guild_id,"
                " set_at = excluded.set_at",
                (channel_id, guild_id, story, conn.moment(at)),
            )

        return self.submit(store)

    # ----------------------------------------------------------------- retention
    def prune(self, now: dt.datetime | None = None) -> Future[int]:
        """Delete questions (with their refs and votes) older than the retention period; 0 days keeps all."""
        return self.submit(lambda conn: self._prune(conn, now or utc_now()))

    def _maybe_prune(self, conn: LogConnection) -> None:
        if time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
            self._prune(conn, utc_now())

    def _prune(self, conn: LogConnection, now: dt.datetime) -> int:
        self._last_prune = time.monotonic()
        if self.retention_days <= 0:
            return 0
        cutoff = conn.moment(now - dt.timedelta(days=self.retention_days))
        return int(conn.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount)

    # ----------------------------------------------------------------- reading
    def reader(self) -> LogConnection:
        """A separate connection for reading (SQLite's WAL lets it read while the writer writes); close it after."""
        return self.backend.reader()


def open_reader(target: str | Path | LogBackend) -> LogConnection:
    """A connection for reading the log at `target` (a file, a postgresql:// URL), once it is known to be a question
    log this version can read.

    QuestionLogError, in words an operator can act on, for a log that is damaged, isn't a question log, or has
    a schema other than this version's (the bot upgrades a log when it opens it; a reader never writes);
    FileNotFoundError for a file that isn't there."""
    backend = backend_for(target)
    try:
        return backend.reader()
    except IndexProblem as exc:
        raise QuestionLogError(str(exc)) from exc


def tally(conn: LogConnection, question_id: int) -> Tally:
    up, down = conn.execute(
        "SELECT COALESCE(SUM(CASE WHEN vote = 1 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN vote = -1 THEN 1 ELSE 0 END), 0) FROM feedback WHERE question_id = ?",
        (question_id,),
    ).fetchone()
    return Tally(int(up), int(down))
