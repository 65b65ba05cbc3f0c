"""Question ids that stay unique when several processes write one question log.

The 👍/👎 buttons under an answer carry its question id, and the answer is sent before the writer thread has
stored the row, so the id must be known on the event loop at once, in microseconds, and be unique among every
process sharing the file (shards, or a restart that overlaps the old process). Three ways were weighed:

- SQLite's AUTOINCREMENT in the write transaction: unique, but the id exists only once the writer thread has
  stored the row, so every reply would wait for the disk, and for another process's write lock (up to
  busy_timeout) whenever two processes write at once.
- A random 63-bit id (or one cut from a UUID) chosen by the caller: free, but unique only by luck. A collision
  loses a row and files its votes under another question, the very failure being fixed; the odds grow with the
  square of the rows kept (about 1 in 200,000 with 10 million), and the ids are 19 digits in no order.
- Blocks reserved in a transaction (this module): a process reserves `ID_BLOCK` ids at once by moving the
  questions' `sqlite_sequence` forward inside BEGIN IMMEDIATE (SQLite's own lock between processes) and hands
  them out from memory. Unique by construction; ids stay small and roughly in time order. The reservation is one
  short transaction per block, made on the writer thread while half the block is still left, so `take` costs a
  lock and an addition. Only if the writer falls half a block behind does `take` reserve on a connection of its
  own, once per block. The price is gaps: `give_back` returns a block's unused tail on close when no process has
  reserved since; after a crash the tail is skipped. Nothing relies on ids being dense.

`sqlite_sequence` is the counter AUTOINCREMENT keeps anyway, so the schema is unchanged: an old log opens with its
rows and its sequence, and new ids start above both. In PostgreSQL (DATABASE_URL) the same counter is a row of
`question_id_sequence`, locked with SELECT ... FOR UPDATE for the reservation (one process at a time, whichever
machine it runs on); the logic is the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .logdb import LogBackend, LogConnection

ID_BLOCK = 1000
Submit = Callable[[Callable[[LogConnection], Any]], "Future[Any]"]


def reserve(conn: LogConnection, size: int) -> range:
    """Move the questions' sequence `size` ids forward and return them; call inside a write transaction."""
    counter, lock = conn.backend.counter, conn.backend.lock_row
    row = conn.execute(f"SELECT seq FROM {counter} WHERE name = 'questions'{lock}").fetchone()
    stored = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM questions").fetchone()[0])
    top = max(int(row[0]) if row else 0, stored)
    if conn.execute(f"UPDATE {counter} SET seq = ? WHERE name = 'questions'", (top + size,)).rowcount == 0:
        conn.execute(f"INSERT INTO {counter} (name, seq) VALUES ('questions', ?)", (top + size,))
    return range(top + 1, top + size + 1)


def _in_transaction(conn: LogConnection, size: int) -> range:
    conn.execute(conn.backend.begin)
    try:
        block = reserve(conn, size)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return block


class QuestionIds:
    """This process's reserved ids: the block being handed out and, once half of it is gone, the next one."""

    def __init__(self, backend: LogBackend, size: int, conn: LogConnection) -> None:
        if size < 2:
            raise ValueError("an id block holds at least 2 ids")
        self.backend, self.size = backend, size
        self._lock = threading.Lock()
        block = _in_transaction(conn, size)  # conn: the log's own, before its writer thread starts
        self._next, self._end = block.start, block.stop
        self._spare: range | None = None
        self._refilling = False
        self._top = block.stop - 1  # the highest id reserved by this process

    def take(self, submit: Submit) -> int:
        """The next id. Raises the backend's error only when a block had to be reserved here and could not be."""
        with self._lock:
            if self._next >= self._end:
                block = self._spare or self._reserve_now()
                self._spare = None
                self._next, self._end = block.start, block.stop
            question_id = self._next
            self._next += 1
            refill = not self._refilling and self._spare is None and self._end - self._next <= self.size // 2
            self._refilling = self._refilling or refill
        if refill:  # outside the lock: a log already closed completes the future (and calls back) at once
            submit(lambda conn: reserve(conn, self.size)).add_done_callback(self._refilled)
        return question_id

    def _refilled(self, future: Future[range]) -> None:
        """Runs on the writer thread after the reserving transaction committed."""
        with self._lock:
            self._refilling = False
            if not future.cancelled() and future.exception() is None:
                self._spare = future.result()
                self._top = max(self._top, self._spare.stop - 1)

    def _reserve_now(self) -> range:
        """The writer is half a block behind: reserve on a connection of our own rather than wait for it."""
        conn = self.backend.connect()
        try:
            block = _in_transaction(conn, self.size)
        finally:
            conn.close()
        self._top = max(self._top, block.stop - 1)
        return block

    def give_back(self, conn: LogConnection) -> None:
        """On close (on the writer thread, in its transaction): return the unused ids at the top of the sequence,
        unless another process has reserved since, so one process restarting keeps its ids dense."""
        with self._lock:
            unused = [(self._next, self._end)] + ([(self._spare.start, self._spare.stop)] if self._spare else [])
            top = self._top
        low = top + 1
        for start, stop in sorted(unused, reverse=True):
            if stop == low:
                low = start
        if low <= top:
            conn.execute(
                f"UPDATE {conn.backend.counter} SET seq = ? WHERE name = 'questions' AND seq = ?", (low - 1, top)
            )
