"""Load through the real discord.py client: questions as MESSAGE_CREATE events from the loopback fake Discord.

One at a time (each question waits for its reply before the next is sent) against all in flight at once
(every event dispatched, then every reply awaited). Each question comes from a different reader, so the
per-user cooldown never refuses one. The fake server shares the process and event loop with the bot, so
its own work counts against the bot's: real Discord would leave the bot more CPU, not less.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.client import NewsroomBot
from bot.settings import Settings
from index import Library
from tests.fake_discord import FakeDiscord

from .perf_engine import ROOT, distinct_questions

HEARTBEAT_MS = 1000
T = TypeVar("T")


class _Patch:
    """`FakeDiscord.install` wants a monkeypatch: this one undoes itself outside pytest."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def setattr(self, target: Any, name: str, value: Any) -> None:
        self._undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        for target, name, value in reversed(self._undo):
            setattr(target, name, value)


async def with_bot(
    index_dir: Path, library: Library, fn: Callable[[FakeDiscord, NewsroomBot], Awaitable[T]], *, workers: int = 2
) -> T:
    """Run `fn(fake, bot)` with the real bot connected to a fresh fake Discord; always closes both."""
    patch = _Patch()
    async with FakeDiscord(heartbeat_interval_ms=HEARTBEAT_MS, lifetime=1800) as fake:
        fake.install(patch)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, index_dir=index_dir, content_dir=ROOT / "content", discord_token=fake.token
        )
        bot = NewsroomBot(settings, library, workers=workers)
        runner = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 60)
            return await fn(fake, bot)
        finally:
            await bot.close()
            await asyncio.wait_for(runner, 60)
            patch.undo()


def _replies(fake: FakeDiscord, after: int, ids: set[str]) -> set[str]:
    path = f"/channels/{fake.channel_id}/messages"
    return {
        str(r.json["message_reference"]["message_id"])
        for r in fake.requests[after:]
        if r.method == "POST" and r.path == path and isinstance(r.json, dict) and r.json.get("message_reference")
    } & ids


async def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not answer every question in time")
        await asyncio.sleep(0.005)


async def ask_all(fake: FakeDiscord, questions: list[str], *, concurrent: bool, timeout: float = 600) -> dict:
    """Send `questions` (all at once, or each after the last reply); seconds, answers and heartbeat gaps."""
    payloads = [
        fake.message_payload(
            f"<@{fake.bot_id}> {q}",
            author=fake.user_payload(fake.snowflake(), f"reader{i}"),
            mentions=[fake.bot_user],
        )
        for i, q in enumerate(questions)
    ]
    ids = {p["id"] for p in payloads}
    mark, frames = len(fake.requests), len(fake.frames)
    started = time.perf_counter()
    if concurrent:
        for payload in payloads:
            await fake.dispatch("MESSAGE_CREATE", payload)
        await _until(lambda: len(_replies(fake, mark, ids)) == len(ids), timeout)
    else:
        for payload in payloads:
            await fake.dispatch("MESSAGE_CREATE", payload)
            await _until(lambda p=payload: p["id"] in _replies(fake, mark, ids), timeout)  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    await asyncio.sleep(HEARTBEAT_MS / 1000 * 1.2)  # let the heartbeat due during the run arrive (or not)
    beats = [f.at for f in fake.frames[frames:] if f.op == 1 and f.direction == "in"]
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    late = sum(gap > HEARTBEAT_MS / 1000 * 1.5 for gap in gaps)
    return {
        "seconds": elapsed,
        "per_second": len(questions) / elapsed,
        "answered": len(_replies(fake, mark, ids)),
        "asked": len(questions),
        "heartbeats": len(beats),
        "late_heartbeats": late,
        "max_heartbeat_gap_s": max(gaps, default=0.0),
    }


def load(index_dir: Path, library: Library, *, in_flight: int = 200, one_by_one: int = 40, workers: int = 2) -> dict:
    """Throughput one at a time and with `in_flight` questions at once, through the real client and gateway."""
    questions = distinct_questions(one_by_one + in_flight, seed=11)

    async def run(fake: FakeDiscord, bot: NewsroomBot) -> dict:
        single = await ask_all(fake, questions[:one_by_one], concurrent=False)
        batcher = library._batcher
        batches, asked = batcher.batches, batcher.questions
        together = await ask_all(fake, questions[one_by_one:], concurrent=True)
        together["mean_batch"] = (batcher.questions - asked) / max(1, batcher.batches - batches)
        return {"one_at_a_time": single, "in_flight": together}

    return asyncio.run(with_bot(index_dir, library, run, workers=workers))


def engine_load(library: Library, *, in_flight: int = 200, workers: int = 16) -> dict[str, float]:
    """Questions per second through `Library.ask` alone: one at a time, and `in_flight` at once from `workers`
    threads with micro-batching on (and, for comparison, off: max_batch=1). Fresh question caches each time."""
    from concurrent.futures import ThreadPoolExecutor

    questions = distinct_questions(in_flight, seed=5)
    out: dict[str, float] = {}
    for name, max_batch, threads in (("one_at_a_time", 1, 1), ("unbatched", 1, workers), ("batched", 64, workers)):
        fresh = Library(library.data, library.encoder.inner)  # type: ignore[attr-defined]
        fresh._batcher.max_batch = max_batch
        fresh.ask("warm up")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(fresh.ask, questions))
        out[name] = len(questions) / (time.perf_counter() - started)
        if name == "batched":
            out["mean_batch"] = fresh._batcher.questions / max(1, fresh._batcher.batches)
    return out
