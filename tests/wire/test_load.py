"""Load and sharding through the real discord.py client against the loopback fake Discord (no timing asserted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.discord_load import LaggyDiscord, RemoteDiscord, ask_all
from benchmarks.perf_engine import distinct_questions
from bot import create_bot
from bot.client import ShardedNewsroomBot
from index import Library

from ..conftest import CONTENT
from ..support.botkit import make_settings

QUESTION = "How many White Helmets are still trapped in Syria?"


async def test_two_hundred_questions_in_flight_are_all_answered(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    fresh = Library(library.data, library.encoder)  # an empty question cache
    async with LaggyDiscord(latency_ms=5, heartbeat_interval_ms=500, lifetime=300) as fake:
        fake.install(monkeypatch)
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=fake.token), fresh)
        runner = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 60)
            result = await ask_all(fake, distinct_questions(200, seed=21), concurrent=True, channels=20, timeout=240)
        finally:
            await bot.close()
            await asyncio.wait_for(runner, 60)
    assert result["answered"] == result["asked"] == 200
    assert result["heartbeats"] >= 1  # the gateway kept its heartbeat going through the burst
    assert fake.identify_count == 1 and fake.resume_count == 0  # no dropped or zombie connection
    assert bot.ask_queue.questions == 200  # every question went through the ask queue's batches


async def test_shard_count_auto_runs_an_auto_sharded_bot(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    async with LaggyDiscord() as fake:
        fake.install(monkeypatch)
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=fake.token, shard_count="auto"), library)
        assert isinstance(bot, ShardedNewsroomBot)
        runner = asyncio.create_task(bot.start(fake.token))
        try:
            identify = await fake.wait_for_frame(op=2)
            assert identify.d["shard"] == [0, 1]  # Discord (the fake) recommended one shard
            await asyncio.wait_for(bot.wait_until_ready(), 60)
            result = await ask_all(fake, [QUESTION], concurrent=True)
            assert result["answered"] == 1
        finally:
            await bot.close()
            await asyncio.wait_for(runner, 60)


def test_no_shard_count_means_one_plain_connection(built_index: Path, library: Library) -> None:
    bot = create_bot(make_settings(built_index, CONTENT), library)
    assert not isinstance(bot, ShardedNewsroomBot) and bot.shard_count is None
    fixed = create_bot(make_settings(built_index, CONTENT, shard_count=3), library)
    assert isinstance(fixed, ShardedNewsroomBot) and fixed.shard_count == 3


async def test_the_fake_discord_in_its_own_process_serves_the_real_client(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    """The load benchmark's honest setup: Discord's work runs in another process, not in the bot's."""
    async with RemoteDiscord(heartbeat_interval_ms=500, lifetime=300) as fake:
        assert fake.info["http_url"].startswith("http://127.0.0.1:")
        fake.install(monkeypatch)
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=fake.token), library)
        runner = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 60)
            questions = distinct_questions(12, seed=4)
            one = await fake.ask_all(questions[:2], concurrent=False)
            many = await fake.ask_all(questions[2:], concurrent=True, channels=3)
            counts = await fake.call("counts")
        finally:
            await bot.close()
            await asyncio.wait_for(runner, 60)
    assert (one["answered"], many["answered"]) == (2, 10)
    assert counts["identify"] == 1 and counts["resume"] == 0
    assert bot.ask_queue.questions == 12  # every question went through the bot's ask queue
    with pytest.raises(RuntimeError, match="unknown command"):
        async with RemoteDiscord() as idle:
            await idle.call("no-such-command")
