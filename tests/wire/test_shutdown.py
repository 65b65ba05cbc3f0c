"""SIGTERM: the answers in flight finish and are delivered, new questions are turned away, then the bot closes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from bot import create_bot, lifecycle
from bot.messages import RESTARTING
from index import Answer, Library

from ..conftest import CONTENT
from ..support.botkit import make_settings
from ..support.fake_discord import FakeDiscord

QUESTION = "How many White Helmets are still trapped in Syria?"


class SlowLibrary:
    """The real Library, whose `ask` and `ask_many` (the bot's) wait for the test to let them finish: an answer
    held in flight."""

    def __init__(self, inner: Library) -> None:
        self.inner = inner
        self.started = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ask(self, *args: Any, **kwargs: Any) -> Answer:
        self.started.set()
        assert self.release.wait(30)
        return self.inner.ask(*args, **kwargs)

    def ask_many(self, *args: Any, **kwargs: Any) -> list[Answer]:
        self.started.set()
        assert self.release.wait(30)
        return self.inner.ask_many(*args, **kwargs)


async def test_sigterm_lets_the_answer_in_flight_finish_then_closes_cleanly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, built_index: Path, library: Library
) -> None:
    caplog.set_level(logging.INFO)
    slow = SlowLibrary(library)
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=fake.token), slow)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        remove = lifecycle.install_signal_handlers(bot, loop)  # what `newsroom-bot run` installs
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
            mark = len(fake.requests)
            asked = fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            await fake.dispatch("MESSAGE_CREATE", asked)
            assert await asyncio.to_thread(slow.started.wait, 30)  # the answer is being worked out

            os.kill(os.getpid(), signal.SIGTERM)  # docker stop, systemctl stop
            for _ in range(100):
                if bot.draining:
                    break
                await asyncio.sleep(0.02)
            assert bot.draining and not bot.is_closed()  # waiting for the answer in flight
            late = fake.message_payload(f"<@{fake.bot_id}> a question after SIGTERM", mentions=[fake.bot_user])
            await fake.dispatch("MESSAGE_CREATE", late)
            interaction = fake.interaction_payload("ask", {"question": QUESTION})
            await fake.dispatch("INTERACTION_CREATE", interaction)
            refusal = await fake.wait_for_request(
                "POST", f"/interactions/{interaction['id']}/{interaction['token']}/callback", after=mark
            )
            assert refusal.json["type"] == 4 and refusal.json["data"]["content"] == RESTARTING

            slow.release.set()
            await asyncio.wait_for(task, 30)  # start() returns as the bot closes
            assert bot.shutdown_task is not None
            await asyncio.wait_for(bot.shutdown_task, 30)  # as `newsroom-bot run` does (bot/runner.py)
        finally:
            slow.release.set()
            remove()
            await bot.close()
    replies = {
        str(r.json["message_reference"]["message_id"]): r.json
        for r in fake.answered("POST", f"/channels/{fake.channel_id}/messages")
    }
    assert sorted(replies) == sorted([asked["id"], late["id"]])
    assert "300" in replies[asked["id"]]["embeds"][0]["description"]
    assert replies[late["id"]]["content"] == RESTARTING  # the mention after SIGTERM hears why, as /ask does
    assert bot.is_closed() and bot.executor._shutdown  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in caplog.records]
    assert "SIGTERM received" in messages and "closed cleanly" in messages
    assert any("finishing 1 answer(s) in flight" in m for m in messages)
    assert any("turned away 2 question(s)" in m for m in messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_sigterm_while_the_index_loads_answers_the_waiting_and_tells_the_rest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path, built_index: Path
) -> None:
    """Issue 19 item 6: a SIGTERM while the bot was still starting left 10 of 40 mentions with neither a reply nor a
    log row. The mentions that came before it wait for the index and are answered (and logged); those after it are
    told the bot is restarting; none is left without a reply."""
    caplog.set_level(logging.INFO)
    log_path = tmp_path / "questions.sqlite3"
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        settings = make_settings(
            built_index, CONTENT, discord_token=fake.token, question_log_path=log_path, cooldown_questions=1000
        )
        bot = create_bot(settings)  # no library: it is loaded from INDEX_DIR, held below until the test says
        loading, release = threading.Event(), threading.Event()
        open_live = bot.served._live

        def held(library: Library | None = None) -> Any:
            if library is None:  # the start-up load (on the executor), not a swap
                loading.set()
                assert release.wait(30)
            return open_live(library)

        monkeypatch.setattr(bot.served, "_live", held)
        remove = lifecycle.install_signal_handlers(bot, asyncio.get_running_loop())
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
            assert await asyncio.to_thread(loading.wait, 30)

            def mention(n: int) -> dict[str, Any]:
                author = fake.user_payload(1000 + n, f"reader{n}")
                return fake.message_payload(
                    f"<@{fake.bot_id}> {QUESTION} ({n})", author=author, mentions=[fake.bot_user]
                )

            early = [mention(n) for n in range(20)]
            for message in early:
                await fake.dispatch("MESSAGE_CREATE", message)
            for _ in range(200):  # every early mention is in the bot, waiting for the index
                if len(lifecycle.answers_in_flight()) >= 20:
                    break
                await asyncio.sleep(0.02)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):
                if bot.draining:
                    break
                await asyncio.sleep(0.02)
            late = [mention(n) for n in range(20, 40)]
            for message in late:
                await fake.dispatch("MESSAGE_CREATE", message)
            await asyncio.sleep(0.2)
            release.set()
            await asyncio.wait_for(task, 60)
            assert bot.shutdown_task is not None
            await asyncio.wait_for(bot.shutdown_task, 60)
        finally:
            release.set()
            remove()
            await bot.close()
    replies = {
        str(r.json["message_reference"]["message_id"]): r.json
        for r in fake.answered("POST", f"/channels/{fake.channel_id}/messages")
    }
    assert sorted(replies) == sorted(m["id"] for m in early + late)  # every mention has its reply
    assert all(replies[m["id"]].get("embeds") for m in early)  # answered from the index once it loaded
    assert all(replies[m["id"]]["content"] == RESTARTING for m in late)
    with sqlite3.connect(log_path) as conn:
        logged = [row[0] for row in conn.execute("SELECT question FROM questions")]
    assert sorted(logged) == sorted(f"{QUESTION} ({n})" for n in range(20))  # each answer has its log row
    messages = [r.getMessage() for r in caplog.records]
    assert any("turned away 20 question(s)" in m for m in messages) and "closed cleanly" in messages
