"""The real discord.py client over real HTTP and a real websocket, against the fake Discord on 127.0.0.1.

SimCord replaces discord.py's HTTP client and gateway; this test keeps both, so the handshake (HELLO, IDENTIFY,
READY, heartbeats), command sync, a reply to a MESSAGE_CREATE and a deferred, followed-up INTERACTION_CREATE are
exercised on the wire, the way Discord sees them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import discord
import pytest

from bot import create_bot, runner
from bot.messages import NOT_READY_ADMIN
from index import Encoder, IndexMissing, Library, build_index

from ..conftest import CONTENT
from ..support.botkit import connected, make_settings, quoted_passages
from ..support.fake_discord import FakeDiscord

QUESTION = "How many White Helmets are still trapped in Syria?"


async def test_real_client_handshake_reply_and_deferred_interaction(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    async with FakeDiscord(heartbeat_interval_ms=500) as fake:
        fake.install(monkeypatch)
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=fake.token), library)
        runner = asyncio.create_task(bot.start(fake.token))
        try:
            identify = await fake.wait_for_frame(op=2)
            assert identify.d["token"] == fake.token
            assert not discord.Intents._from_value(identify.d["intents"]).message_content
            await asyncio.wait_for(bot.wait_until_ready(), 30)
            assert bot.user is not None and bot.user.id == fake.bot_id
            assert bot.get_channel(fake.channel_id) is not None

            sync = await fake.wait_for_request("PUT", f"/applications/{fake.application_id}/commands")
            names = {c["name"] for c in sync.json}
            assert {"ask", "summary", "stories", "sources", "reindex", "Ask the story"} <= names
            await fake.wait_for_frame(op=11, direction="out")  # a heartbeat was acknowledged

            # A reader @mentions the bot: it replies in the channel, as a reply, pinging nobody.
            mark = len(fake.requests)
            question = fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            await fake.dispatch("MESSAGE_CREATE", question)
            sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", after=mark)
            assert str(sent.json["message_reference"]["message_id"]) == question["id"]
            assert sent.json["allowed_mentions"] == {"parse": []}  # replied_user absent: false by default
            quotes = quoted_passages(sent.json["embeds"][0]["description"])
            assert quotes[0][1] == 1 and "300" in quotes[0][0]

            # /ask arrives as an INTERACTION_CREATE: deferred (type 5), then followed up on the webhook.
            mark = len(fake.requests)
            interaction = fake.interaction_payload("ask", {"question": QUESTION})
            await fake.dispatch("INTERACTION_CREATE", interaction)
            token = interaction["token"]
            callback = await fake.wait_for_request(
                "POST", f"/interactions/{interaction['id']}/{token}/callback", after=mark
            )
            assert callback.json["type"] == 5
            followup = await fake.wait_for_request("POST", f"/webhooks/{fake.application_id}/{token}", after=mark)
            assert fake.requests.index(callback) < fake.requests.index(followup)
            embed = followup.json["embeds"][0]
            assert embed["title"] == f"“{QUESTION}”" and quotes[0][0] in embed["description"]
            assert followup.json["allowed_mentions"]["parse"] == []
        finally:
            await bot.close()
            await asyncio.wait_for(runner, 30)
    assert fake.identify_count == 1
    assert not [r for r in fake.requests if r.path.startswith("/api")]  # every call went through Route.BASE


async def test_commands_sync_to_the_guild_when_one_is_set(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        async with connected(fake, built_index, library, discord_guild_id=fake.guild_id):
            route = f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
            sync = await fake.wait_for_request("PUT", route)
            assert "ask" in {c["name"] for c in sync.json}
    assert not [r for r in fake.requests if r.path == f"/applications/{fake.application_id}/commands"]


async def test_fake_discord_faults_rate_limit_and_dropped_gateway(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    """The fault hooks later load and fault tests rely on: a 429 is retried, a dropped gateway is resumed."""
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        async with connected(fake, built_index, library):
            path = f"/channels/{fake.channel_id}/messages"
            fake.fail("POST", "/channels/*/messages", status=429, retry_after=0.05)
            mark = len(fake.requests)
            await fake.dispatch(
                "MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            )
            first = await fake.wait_for_request("POST", path, after=mark)
            retried = await fake.wait_for_request("POST", path, after=fake.requests.index(first) + 1)
            assert retried.json == first.json  # the same reply, sent again after retry_after

            await fake.close_gateway(code=4000)
            await fake.wait_for_frame(op=6)  # RESUME on a new connection
            mark = len(fake.requests)
            await fake.dispatch(
                "MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            )
            await fake.wait_for_request("POST", path, after=mark)
    assert fake.identify_count == 1 and fake.resume_count == 1


async def test_the_library_loads_while_the_gateway_connects(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    """Without a library, create_bot loads INDEX_DIR in the executor; a question asked meanwhile waits for it."""
    release = threading.Event()

    def slow_load(path: Path, *args: object, **kwargs: object) -> Library:
        assert Path(path).resolve().is_relative_to(built_index.resolve()) and release.wait(30)
        return library

    monkeypatch.setattr(Library, "load", staticmethod(slow_load))
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=fake.token))
        runner = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
            assert bot.library is None  # connected before the index finished loading
            mark = len(fake.requests)
            await fake.dispatch(
                "MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            )
            await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/typing", after=mark)
            release.set()
            sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", after=mark)
            assert bot.library is library and "300" in sent.json["embeds"][0]["description"]
        finally:
            release.set()
            await bot.close()
            await asyncio.wait_for(runner, 30)


async def test_without_an_index_the_bot_stays_up_says_how_to_build_and_picks_up_the_first_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, encoder: Encoder
) -> None:
    """The newsroom's choice (bot/serving.py): not ready beats a crash loop; the first build is picked up."""
    index_dir = tmp_path / "index"
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        settings = make_settings(index_dir, CONTENT, discord_token=fake.token, index_watch_seconds=0.2)
        bot = create_bot(settings)
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
            await asyncio.wait_for(bot.served.wait_loaded(), 30)
            assert isinstance(bot.load_error, IndexMissing) and not bot.is_closed()
            mark = len(fake.requests)
            await fake.dispatch(
                "MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            )
            sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", after=mark)
            # The fake's reader owns the server (Manage Server), so is told how to build; plain readers are not
            # (tests/bot/test_not_ready.py).
            assert sent.json["content"] == NOT_READY_ADMIN

            await asyncio.to_thread(build_index, CONTENT, index_dir, encoder=encoder)  # `newsroom-bot build`
            for _ in range(300):  # the watch serves the library, then swap() clears the load error
                if bot.library is not None and bot.load_error is None:
                    break
                await asyncio.sleep(0.1)
            assert bot.library is not None and bot.load_error is None
            mark = len(fake.requests)
            await fake.dispatch(
                "MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user])
            )
            sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", after=mark)
            assert "300" in sent.json["embeds"][0]["description"]
        finally:
            await bot.close()
            await asyncio.wait_for(task, 30)


async def test_run_bot_connects_and_explains_a_fatal_close_without_leaking_the_token(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`newsroom-bot run` end to end: settings, logging (DEBUG), the library loaded from INDEX_DIR, the gateway."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    seen: list[str] = []
    watcher = logging.Handler()
    watcher.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    for name in ("newsroom.bot", "discord.gateway"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [watcher])
    async with FakeDiscord(token="MTIzNDU2Nzg5.fake-but-shaped.token-value") as fake:
        fake.install(monkeypatch)
        settings = make_settings(
            built_index, CONTENT, discord_token=fake.token, answer_channel_ids="1", log_level="DEBUG"
        )
        try:
            run = asyncio.create_task(asyncio.to_thread(runner.run_bot, settings))
            for _ in range(600):  # bounded: until the index is loaded and the gateway session is up
                if any("loaded the index" in m for m in seen) and any("connected to Gateway" in m for m in seen):
                    break
                await asyncio.sleep(0.1)
            await fake.close_gateway(code=4014)  # Discord's "disallowed intents": the portal toggle is off
            code = await asyncio.wait_for(run, 60)
        finally:
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
    assert code == runner.EXIT_ERROR
    err = capsys.readouterr().err
    assert "ANSWER_CHANNEL_IDS needs the Message Content intent" in err
    assert "has connected to Gateway" in err and "loaded the index" in err and "DEBUG" in err  # the log really ran
    assert fake.token not in err
