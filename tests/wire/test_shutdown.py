"""SIGTERM: the answers in flight finish and are delivered, new questions are turned away, then the bot closes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
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
    replies = [r for r in fake.answered("POST", f"/channels/{fake.channel_id}/messages")]
    assert [str(r.json["message_reference"]["message_id"]) for r in replies] == [asked["id"]]
    assert "300" in replies[0].json["embeds"][0]["description"]
    assert bot.is_closed() and bot.executor._shutdown  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in caplog.records]
    assert "SIGTERM received" in messages and "closed cleanly" in messages
    assert any("finishing 1 answer(s) in flight" in m for m in messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
