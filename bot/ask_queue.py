"""Questions from the event loop to the engine: queued on the loop, answered in batches by one worker.

Readers' questions arrive as coroutines on the event loop. Each one queues (library, question, story) with a
future and awaits it; a single worker task takes everything queued and hands it to `Library.ask_many` in the
bot's executor, so questions that arrive together share one encode and one search, and only one thread runs
engine Python at a time (threads fighting over the GIL were slower than one: docs/results.md). Nobody
waits on a timer: a lone question goes at once, and those that arrive while a batch runs form the next one.
If a batch fails, its questions are retried one by one, so one bad question costs only its own answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from index import Answer, Library

log = logging.getLogger("newsroom.ask_queue")
MAX_BATCH = 64  # a bigger batch makes its first reader wait longer for little gain per question

RunBlocking = Callable[..., Awaitable[Any]]


@dataclass
class _Question:
    library: Library
    text: str
    story: str | None
    top_k: int
    future: asyncio.Future[Answer] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class AskQueue:
    """`await queue.ask(library, question, story, top_k)` from any coroutine on one event loop."""

    def __init__(self, run_blocking: RunBlocking, *, max_batch: int = MAX_BATCH) -> None:
        self._run_blocking = run_blocking  # runs a function in the bot's executor and awaits it
        self.max_batch = max_batch
        self._queue: list[_Question] = []
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # engine calls made, and questions they answered (benchmarks and tests read these)
        self.questions = 0

    async def ask(self, library: Library, question: str, story: str | None = None, *, top_k: int = 3) -> Answer:
        item = _Question(library, question, story, top_k)
        self._queue.append(item)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain(), name="newsroom-ask-worker")
        return await item.future

    async def _drain(self) -> None:
        """Answer batches until the queue is empty; if this task dies, everyone still waiting hears why."""
        batch: list[_Question] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                batch = [q for q in batch if not q.future.done()]  # a reader that gave up (cancelled) is skipped
                for group in _groups(batch):
                    await self._answer(group)
                batch = []
        except BaseException as exc:
            for item in batch + self._queue:
                _settle(item, exc if isinstance(exc, Exception) else None)
            self._queue = []
            raise

    async def _answer(self, group: list[_Question]) -> None:
        first = group[0]
        try:
            answers = await self._run_blocking(
                first.library.ask_many, [q.text for q in group], [q.story for q in group], top_k=first.top_k
            )
        except Exception as exc:
            if len(group) == 1:
                _settle(first, exc)
                return
            log.warning("a batch of %d questions failed (%r); answering them one by one", len(group), exc)
            for item in group:
                try:
                    _settle(item, await self._run_blocking(item.library.ask, item.text, item.story, top_k=item.top_k))
                except Exception as one:
                    _settle(item, one)
            return
        self.batches += 1
        self.questions += len(group)
        for item, answer in zip(group, answers):
            _settle(item, answer)


def _groups(batch: list[_Question]) -> list[list[_Question]]:
    """Questions for the same Library and `top_k`, in arrival order (a hot swap can leave two libraries)."""
    groups: dict[tuple[int, int], list[_Question]] = {}
    for item in batch:
        groups.setdefault((id(item.library), item.top_k), []).append(item)
    return list(groups.values())


def _settle(item: _Question, outcome: Answer | Exception | None) -> None:
    """Give the waiting reader its answer or error (None: cancelled), unless it stopped waiting."""
    if item.future.done():
        return
    if outcome is None:
        item.future.cancel()
    elif isinstance(outcome, Exception):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)
