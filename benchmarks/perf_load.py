"""Load through the real discord.py client: questions as MESSAGE_CREATE events from the loopback fake Discord.

One at a time (each question waits for its reply before the next is sent) against all in flight at once
(every event dispatched, then every reply awaited). Each question comes from a different reader, so the
per-user cooldown never refuses one. The fake server shares the process and event loop with the bot, so
its own work counts against the bot's: real Discord would leave the bot more CPU, not less.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from bot.client import NewsroomBot
from bot.lifecycle import thread_switch_interval
from bot.settings import Settings
from index import Library
from tests.fake_discord import FakeDiscord

from .perf_engine import ROOT, distinct_questions

HEARTBEAT_MS = 1000
T = TypeVar("T")


class LaggyDiscord(FakeDiscord):
    """The fake Discord answering each REST call after `latency_ms`, as a real API a continent away does
    (Discord's own API typically answers in 30-100 ms). The wait is a sleep: it costs the bot no CPU."""

    def __init__(self, *, latency_ms: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.latency_s = latency_ms / 1000

    async def _rest(self, request: Any) -> Any:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return await super()._rest(request)


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
    index_dir: Path,
    library: Library,
    fn: Callable[[FakeDiscord, NewsroomBot], Awaitable[T]],
    *,
    latency_ms: float = 0.0,
    **client: Any,
) -> T:
    """Run `fn(fake, bot)` with the real bot connected to a fresh fake Discord; always closes both."""
    patch = _Patch()
    async with LaggyDiscord(latency_ms=latency_ms, heartbeat_interval_ms=HEARTBEAT_MS, lifetime=1800) as fake:
        fake.install(patch)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, index_dir=index_dir, content_dir=ROOT / "content", discord_token=SecretStr(fake.token)
        )
        bot = NewsroomBot(settings, library, **client)  # the shipped defaults unless a benchmark asks otherwise
        with thread_switch_interval(settings.thread_switch_ms):  # as `run_bot` runs it
            runner = asyncio.create_task(bot.start(fake.token))
            try:
                await asyncio.wait_for(bot.wait_until_ready(), 60)
                return await fn(fake, bot)
            finally:
                await bot.close()
                await asyncio.wait_for(runner, 60)
            patch.undo()


class _Replies:
    """Which of `ids` the bot has replied to, read incrementally from the fake's request log."""

    def __init__(self, fake: FakeDiscord, ids: set[str]) -> None:
        self.fake, self.ids, self.seen, self._next = fake, ids, set[str](), len(fake.requests)

    def update(self) -> set[str]:
        for r in self.fake.requests[self._next :]:
            if r.method == "POST" and r.path.endswith("/messages") and isinstance(r.json, dict):
                reference = (r.json.get("message_reference") or {}).get("message_id")
                if str(reference) in self.ids:
                    self.seen.add(str(reference))
        self._next = len(self.fake.requests)
        return self.seen

    def has(self, message_id: str) -> bool:
        return message_id in self.update()


async def _until(fake: FakeDiscord, check: Callable[[], bool], timeout: float) -> None:
    """Wake on every request the fake records (no polling interval to add to a round trip)."""

    async def wait() -> None:
        async with fake._changed:
            while not check():
                await fake._changed.wait()

    await asyncio.wait_for(wait(), timeout)


async def ask_all(
    fake: FakeDiscord, questions: list[str], *, concurrent: bool, channels: int = 1, timeout: float = 600
) -> dict:
    """Send `questions` (all at once, or each after the last reply) from different readers spread over
    `channels` channels of the guild; seconds, answers and heartbeat gaps."""
    channel_ids = [fake.channel_id] + [fake.snowflake() for _ in range(channels - 1)]
    payloads = [
        fake.message_payload(
            f"<@{fake.bot_id}> {q}",
            author=fake.user_payload(fake.snowflake(), f"reader{i}"),
            channel_id=channel_ids[i % channels],
            mentions=[fake.bot_user],
        )
        for i, q in enumerate(questions)
    ]
    ids = {p["id"] for p in payloads}
    replies = _Replies(fake, ids)
    frames = len(fake.frames)
    started = time.perf_counter()
    if concurrent:
        for payload in payloads:
            await fake.dispatch("MESSAGE_CREATE", payload)
        await _until(fake, lambda: len(replies.update()) == len(ids), timeout)
    else:
        for payload in payloads:
            await fake.dispatch("MESSAGE_CREATE", payload)
            await _until(fake, functools.partial(replies.has, payload["id"]), timeout)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(HEARTBEAT_MS / 1000 * 1.2)  # let the heartbeat due during the run arrive (or not)
    beats = [f.at for f in fake.frames[frames:] if f.op == 1 and f.direction == "in"]
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    late = sum(gap > HEARTBEAT_MS / 1000 * 1.5 for gap in gaps)
    return {
        "seconds": elapsed,
        "per_second": len(questions) / elapsed,
        "answered": len(replies.update()),
        "asked": len(questions),
        "heartbeats": len(beats),
        "late_heartbeats": late,
        "max_heartbeat_gap_s": max(gaps, default=0.0),
    }


def load(
    index_dir: Path,
    library: Library,
    *,
    in_flight: int = 200,
    one_by_one: int = 40,
    rounds: int = 3,
    latency_ms: float = 0.0,
    channels: int = 1,
    **bot: Any,
) -> dict:
    """Throughput one at a time and with `in_flight` questions at once, through the real client and gateway.

    Both are measured `rounds` times, alternating, on one connected bot; the medians are reported, because
    on a shared machine a single run can be off by 2x either way.
    """
    questions = distinct_questions(rounds * (one_by_one + in_flight), seed=11)

    async def run(fake: FakeDiscord, bot: NewsroomBot) -> dict:
        singles, manies = [], []
        batcher = library._batcher
        for r in range(rounds):
            chunk = questions[r * (one_by_one + in_flight) : (r + 1) * (one_by_one + in_flight)]
            singles.append(await ask_all(fake, chunk[:one_by_one], concurrent=False))
            batches, asked = batcher.batches, batcher.questions
            manies.append(await ask_all(fake, chunk[one_by_one:], concurrent=True, channels=channels))
            manies[-1]["mean_batch"] = (batcher.questions - asked) / max(1, batcher.batches - batches)
        return {"one_at_a_time": _median(singles), "in_flight": _median(manies), "rounds": rounds}

    return asyncio.run(with_bot(index_dir, library, run, latency_ms=latency_ms, **bot))


def _median(runs: list[dict]) -> dict:
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
    """Questions per second through `Library.ask` alone: one at a time, and `in_flight` at once from `workers`
    threads with micro-batching on (and, for comparison, off: max_batch=1). Fresh question caches each time."""
    from concurrent.futures import ThreadPoolExecutor

    questions = distinct_questions(in_flight, seed=5)
    out: dict[str, float] = {}
    for name, max_batch, threads in (("one_at_a_time", 1, 1), ("unbatched", 1, workers), ("batched", 64, workers)):
        fresh = Library(library.data, library.encoder.inner)
        fresh._batcher.max_batch = max_batch
        fresh.ask("warm up")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(fresh.ask, questions))
        out[name] = len(questions) / (time.perf_counter() - started)
        if name == "batched":
            out["mean_batch"] = fresh._batcher.questions / max(1, fresh._batcher.batches)
    return out
