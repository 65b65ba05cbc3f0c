"""Load through the real discord.py client: questions as MESSAGE_CREATE events from the loopback fake Discord.

One at a time (each question waits for its reply before the next is sent) against all in flight at once
(every event dispatched, then every reply awaited). Each question comes from a different reader, so the
per-user cooldown never refuses one. By default the fake Discord runs in a process of its own
(`benchmarks.discord_load.RemoteDiscord`), as Discord does; `process=False` runs it in the bot's process and
event loop, where its own work counts against the bot's (the figure measured before, kept for comparison).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from bot.client import NewsroomBot
from bot.lifecycle import thread_switch_interval
from bot.settings import Settings
from index import Library

from .discord_load import HEARTBEAT_MS, LaggyDiscord, RemoteDiscord, ask_all
from .perf_engine import ROOT, distinct_questions

T = TypeVar("T")
Ask = Callable[..., Awaitable[dict[str, Any]]]  # ask(questions, concurrent=..., channels=...) -> ask_all's figures


class _Patch:
    """`install` wants a monkeypatch: this one undoes itself outside pytest."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def setattr(self, target: Any, name: str, value: Any) -> None:
        self._undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        for target, name, value in reversed(self._undo):
            setattr(target, name, value)


async def with_bot(
    index_dir: Path,
    library: Library,
    fn: Callable[[Ask, NewsroomBot], Awaitable[T]],
    *,
    latency_ms: float = 0.0,
    process: bool = True,
    **bot: Any,
) -> T:
    """Run `fn(ask, bot)` with the real bot connected to a fresh fake Discord (in a child process, or in this one
    with `process=False`); always closes both."""
    patch = _Patch()
    fake: RemoteDiscord | LaggyDiscord
    if process:
        fake = RemoteDiscord(latency_ms=latency_ms, heartbeat_interval_ms=HEARTBEAT_MS, lifetime=1800)
    else:
        fake = LaggyDiscord(latency_ms=latency_ms, heartbeat_interval_ms=HEARTBEAT_MS, lifetime=1800)
    async with fake:
        fake.install(patch)
        ask: Ask = fake.ask_all if isinstance(fake, RemoteDiscord) else lambda qs, **kw: ask_all(fake, qs, **kw)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, index_dir=index_dir, content_dir=ROOT / "content", discord_token=SecretStr(fake.token)
        )
        client = NewsroomBot(settings, library, **bot)  # the shipped defaults unless a benchmark asks otherwise
        with thread_switch_interval(settings.thread_switch_ms):  # as `run_bot` runs it
            runner = asyncio.create_task(client.start(fake.token))
            try:
                await asyncio.wait_for(client.wait_until_ready(), 60)
                return await fn(ask, client)
            finally:
                await client.close()
                await asyncio.wait_for(runner, 60)
                patch.undo()


def load(
    index_dir: Path,
    library: Library,
    *,
    in_flight: int = 200,
    one_by_one: int = 40,
    rounds: int = 3,
    latency_ms: float = 0.0,
    channels: int = 1,
    process: bool = True,
    **bot: Any,
) -> dict[str, Any]:
    """Throughput one at a time and with `in_flight` questions at once, through the real client and gateway.

    Both are measured `rounds` times, alternating, on one connected bot; the medians are reported, because
    on a shared machine a single run can be off by 2x either way. The bot gets a copy of `library` with an
    empty question cache, so no question is answered from an earlier run's cache.
    """
    questions = distinct_questions(rounds * (one_by_one + in_flight), seed=11)
    library = Library(library.data, library.encoder)

    async def run(ask: Ask, client: NewsroomBot) -> dict[str, Any]:
        singles, manies = [], []
        for r in range(rounds):
            chunk = questions[r * (one_by_one + in_flight) : (r + 1) * (one_by_one + in_flight)]
            singles.append(await _timed(ask, chunk[:one_by_one], concurrent=False))
            batches, asked = _batches(client, library)
            manies.append(await _timed(ask, chunk[one_by_one:], concurrent=True, channels=channels))
            batches_after, asked_after = _batches(client, library)
            manies[-1]["mean_batch"] = (asked_after - asked) / max(1, batches_after - batches)
        return {"one_at_a_time": _median(singles), "in_flight": _median(manies), "rounds": rounds}

    return asyncio.run(with_bot(index_dir, library, run, latency_ms=latency_ms, process=process, **bot))


async def _timed(ask: Ask, questions: list[str], **options: Any) -> dict[str, Any]:
    """`ask`'s figures plus the CPU this process (the bot's, all threads) spent per question meanwhile."""
    cpu = time.process_time()
    result = await ask(questions, **options)
    return result | {"bot_cpu_ms_per_question": (time.process_time() - cpu) * 1000 / len(questions)}


def _batches(client: NewsroomBot, library: Library) -> tuple[int, int]:
    """Engine calls and questions so far: the bot's ask queue's counters."""
    return client.ask_queue.batches, client.ask_queue.questions


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate, with every run's answers and late heartbeats summed in."""
    middle = sorted(runs, key=lambda r: r["per_second"])[len(runs) // 2]
    return {
        **middle,
        "answered": sum(r["answered"] for r in runs),
        "asked": sum(r["asked"] for r in runs),
        "late_heartbeats": sum(r["late_heartbeats"] for r in runs),
        "max_heartbeat_gap_s": max(r["max_heartbeat_gap_s"] for r in runs),
        "rates": [round(r["per_second"], 1) for r in runs],
    }


def engine_load(library: Library, *, in_flight: int = 200, workers: int = 16) -> dict[str, float]:
    """Questions per second through the engine alone: one at a time (`ask`), `in_flight` at once from `workers`
    threads each calling `ask` (a web server's way), and the same questions in `ask_many` batches of 64 as the
    bot's ask queue makes them. Fresh question caches each time."""
    from concurrent.futures import ThreadPoolExecutor

    questions = distinct_questions(in_flight, seed=5)
    out: dict[str, float] = {}
    for name, threads in (("one_at_a_time", 1), ("threads", workers), ("ask_many", 0)):
        fresh = Library(library.data, library.encoder)
        fresh.ask("warm up")
        started = time.perf_counter()
        if threads:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(fresh.ask, questions))
        else:
            for start in range(0, len(questions), 64):  # the ask queue's batches
                fresh.ask_many(questions[start : start + 64])
        out[name] = len(questions) / (time.perf_counter() - started)
    return out
