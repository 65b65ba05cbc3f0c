"""Discord unreachable at start-up (DNS or network down while a server boots): one line saying why, retries with a
growing pause, and the bot connects once Discord is there. Against the fake Discord started late."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path

import discord
import pytest

from bot import reach

from ..conftest import CONTENT
from ..support import bot_process
from ..support.fake_discord import FakeDiscord


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


def test_the_reason_is_one_line_an_operator_can_act_on(caplog: pytest.LogCaptureFixture) -> None:
    async def tries(base: str, count: int) -> bool:
        discord.http.Route.BASE = base
        return await reach.wait_until_reachable(lambda: len(caplog.records) >= count, first=0.01)

    real = discord.http.Route.BASE
    try:
        with caplog.at_level(logging.WARNING, logger="bot.reach"):
            assert not asyncio.run(tries("http://discord-down.invalid/api/v10", 1))
            assert not asyncio.run(tries(f"http://127.0.0.1:{free_port()}/api/v10", 2))
    finally:
        discord.http.Route.BASE = real
    dns, refused = (r.getMessage() for r in caplog.records)
    assert dns.startswith("Discord can't be reached: the name discord-down.invalid does not resolve")
    assert "connection refused; trying again in" in refused
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in caplog.records)


def test_pauses_double_up_to_the_cap() -> None:
    pause = reach.delays(1.0, 8.0)
    for expected in [1, 2, 4, 8, 8, 8, 8]:
        assert 0.9 * expected <= pause() <= 1.1 * expected  # ±10 % jitter


async def test_the_bot_process_waits_for_discord_started_late_then_connects(tmp_path: Path, built_index: Path) -> None:
    port = free_port()
    http_url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/gateway"
    log = tmp_path / "bot.log"
    env = {"DISCORD_TOKEN": "fake-token", "INDEX_DIR": str(built_index), "CONTENT_DIR": str(CONTENT),
           "INDEX_WATCH_SECONDS": "0", "QUESTION_LOG_PATH": str(tmp_path / "q.sqlite3")}  # fmt: skip
    process = await bot_process.spawn(http_url, ws_url, env, log=log, cwd=tmp_path)
    try:
        await wait_for(lambda: log.read_text().count("Discord can't be reached") >= 2 or process.returncode is not None)
        assert process.returncode is None, log.read_text()
        async with FakeDiscord(port=port) as fake:
            identify = await fake.wait_for_frame(op=2, timeout=60)
            assert identify.d["token"] == "fake-token"
            code = await bot_process.stop(process)
    finally:
        if process.returncode is None:
            await bot_process.stop(process)
    text = log.read_text()
    assert code == 0, text
    lines = [line for line in text.splitlines() if "Discord can't be reached" in line]
    assert len(lines) >= 2 and all("cannot connect to 127.0.0.1" in line for line in lines), text
    assert "Traceback" not in text and "ClientConnector" not in text, text
    assert "voice will NOT be supported" not in text, text  # a text bot never uses voice
    assert os.environ.get("DISCORD_TOKEN") is None or "fake-token" not in text
