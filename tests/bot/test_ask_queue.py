"""The bot's ask queue: questions queued together are answered in one engine call; failures stay per question."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import pytest

from bot.ask_queue import AskQueue
from index import Answer, AnswerStatus, Library

QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",
    "Who led the evacuation?",
    "What is the capital of Peru?",
    "How many lives have the White Helmets saved?",
]


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """What the bot's run_blocking does: the engine runs off the event loop."""
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


async def test_questions_queued_together_share_one_engine_call(library: Library) -> None:
    queue = AskQueue(in_thread)
    answers = await asyncio.gather(*(queue.ask(library, q) for q in QUESTIONS))
    assert queue.batches == 1 and queue.questions == len(QUESTIONS)
    alone = [library.ask(q) for q in QUESTIONS]
    assert [(a.status, [q.text for q in a.quotes]) for a in answers] == [
        (a.status, [q.text for q in a.quotes]) for a in alone
    ]


async def test_questions_arriving_during_a_batch_form_the_next_one(library: Library) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    async def gated(fn: Any, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            calls.append(len(args[0]))
            if len(calls) == 1:
                started.set()
                release.wait(30)
            return fn(*args, **kwargs)

        return await asyncio.to_thread(run)

    queue = AskQueue(gated, max_batch=2)
    first = asyncio.ensure_future(queue.ask(library, QUESTIONS[0]))
    await asyncio.to_thread(started.wait, 30)  # the first question is in the engine, alone
    rest = [asyncio.ensure_future(queue.ask(library, q)) for q in QUESTIONS[1:]]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *rest)
    assert calls == [1, 2, 1]  # the three that waited, in batches of at most max_batch


class Flaky:
    """A library whose batch call always fails and whose single call fails for one question only."""

    def ask_many(self, questions: list[str], stories: list[str | None], *, top_k: int) -> list[Answer]:
        raise RuntimeError("batch broke")

    def ask(self, question: str, story: str | None = None, *, top_k: int = 3) -> Answer:
        if question == "bad":
            raise ValueError("this one is bad")
        return Answer(question=question, status=AnswerStatus.NOT_COVERED, message="no")


async def test_a_failed_batch_is_retried_one_by_one_so_only_the_bad_question_fails() -> None:
    queue = AskQueue(in_thread)
    flaky: Any = Flaky()
    results = await asyncio.gather(*(queue.ask(flaky, q) for q in ("good", "bad", "fine")), return_exceptions=True)
    assert isinstance(results[0], Answer) and results[0].question == "good"
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], Answer) and results[2].question == "fine"
    with pytest.raises(RuntimeError, match="batch broke"):  # alone, the batch's own error reaches the reader
        await queue.ask(flaky, "good")


async def test_a_reader_who_stops_waiting_is_skipped(library: Library) -> None:
    release = threading.Event()
    seen: list[list[str]] = []

    async def gated(fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(list(args[0]))
        await asyncio.to_thread(release.wait, 30)
        return await in_thread(fn, *args, **kwargs)

    queue = AskQueue(gated)
    first = asyncio.ensure_future(queue.ask(library, QUESTIONS[0]))
    await asyncio.sleep(0.01)
    gone = asyncio.ensure_future(queue.ask(library, QUESTIONS[1]))
    kept = asyncio.ensure_future(queue.ask(library, QUESTIONS[2]))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(first, kept)
    assert seen == [[QUESTIONS[0]], [QUESTIONS[2]]]
