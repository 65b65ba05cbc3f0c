"""A build on one machine and a bot on another, sharing nothing but DATABASE_URL: two OS processes, each with a
folder of its own, one PostgreSQL. The bot (the real `newsroom-bot run`, on the loopback fake Discord) answers
from the database, logs there, and picks up the next build without a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from ..conftest import CONTENT
from ..support.bot_process import ROOT, spawn, stop
from ..support.fake_discord import FakeDiscord

QUESTION = "How many White Helmets are still trapped in Syria?"
RIVER = """---
title: River floods the old town
slug: river-flood
---

The river rose 3.5 m overnight, officials said. Two bridges were closed.
"""


def _build(url: str, machine: Path, content: Path) -> str:
    """`newsroom-bot build` on the build machine: its own INDEX_DIR, the stories, the database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SHARD_"))}
    env |= {"DATABASE_URL": url, "INDEX_DIR": str(machine / "index"), "CONTENT_DIR": str(content)}
    env |= {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "build"], cwd=machine, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


async def test_a_bot_and_a_builder_on_two_machines_work_through_one_database(  # type: ignore[no-untyped-def]
    postgres_server, tmp_path: Path
) -> None:
    url = postgres_server.new_database()
    builder, server = tmp_path / "build-machine", tmp_path / "bot-machine"
    content = builder / "content"
    shutil.copytree(CONTENT, content)
    server.mkdir()
    assert "embedded 1" in _build(url, builder, content)

    async with FakeDiscord(lifetime=300) as fake:
        env = {
            "DISCORD_TOKEN": fake.token, "DATABASE_URL": url, "INDEX_DIR": str(server / "index"),
            "CONTENT_DIR": str(server / "no-stories-here"), "INDEX_WATCH_SECONDS": "0.5", "LOG_LEVEL": "INFO",
            "COOLDOWN_QUESTIONS": "1000", "COOLDOWN_SECONDS": "0.001",
        }  # fmt: skip
        log = server / "bot.log"
        process = await spawn(fake.http_url, fake.ws_url, env, log=log, cwd=server)
        try:
            await fake.wait_for_frame(2, timeout=180)  # IDENTIFY: the bot is up
            asked = fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            await fake.dispatch("MESSAGE_CREATE", asked)
            reply = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", timeout=180)
            assert "300" in reply.json["embeds"][0]["description"], reply.json

            (content / "river-flood.md").write_text(RIVER, encoding="utf-8")
            assert "embedded 1, reused 1" in _build(url, builder, content)  # only the new story is embedded
            for _ in range(60):  # the bot's watch polls the database for the new build
                mark = len(fake.requests)
                await fake.dispatch(
                    "MESSAGE_CREATE",
                    fake.message_payload(f"<@{fake.bot_id}> How far did the river rise?", mentions=[fake.bot_user]),
                )
                sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", after=mark)
                if "3.5 m" in str(sent.json):
                    break
                await asyncio.sleep(1.0)
            assert "3.5 m" in str(sent.json), sent.json
        finally:
            code = await stop(process)
    out = log.read_text()
    assert code == 0, out
    assert "a new index build appeared" in out, out
    assert not (server / "index" / "builds").exists()  # no FAISS build on the bot's machine: only its cache
    assert (server / "index" / "models").is_dir()  # the ONNX export came from the database
    with psycopg.connect(url) as conn:  # the bot's question log is in the same database
        logged = [r[0] for r in conn.execute("SELECT question FROM questions ORDER BY id")]
    assert logged[0] == QUESTION and "How far did the river rise?" in logged
