"""PostgreSQL restarting under a bot that serves its index from it (DATABASE_URL), on SimCord: questions in that
moment get the polite "not ready", not an apology for a bug, and the next ones are answered again, on connections
made anew."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.messages import NOT_READY, SORRY
from index import DatabaseIndex, Encoder, EngineOptions, Library, build_index

from ..conftest import CONTENT
from ..support.botkit import make_settings
from ..support.postgres import ThrowawayPostgres

QUESTION = "How many White Helmets are still trapped in Syria?"


@pytest.fixture(scope="module")
def restartable():  # type: ignore[no-untyped-def]
    server = ThrowawayPostgres()
    yield server
    server.close()


@pytest.fixture
def bot_settings(tmp_path: Path, restartable: ThrowawayPostgres):  # type: ignore[no-untyped-def]
    url = restartable.new_database()
    return make_settings(tmp_path / "index", CONTENT, database_url=url, question_log_path=tmp_path / "q.sqlite3")


@pytest.fixture
def bot_library(bot_settings, encoder: Encoder, tmp_path: Path) -> Library:  # type: ignore[no-untyped-def]
    url = bot_settings.database
    build_index(CONTENT, tmp_path / "builder", EngineOptions(database=url), encoder=encoder)
    return Library.load(bot_settings.index_dir, encoder=encoder, database=DatabaseIndex(url, bot_settings.index_dir))


async def test_a_restart_of_the_database_is_not_ready_then_answered(  # type: ignore[no-untyped-def]
    simcord_env, world, restartable: ThrowawayPostgres
) -> None:
    _, channel, alice = world
    me = simcord_env.bot.user
    await alice.send(channel, f"{me.mention} {QUESTION}")
    assert "300" in channel.last_message.embeds[0].description  # from the database
    restartable.stop()
    try:
        await alice.send(channel, f"{me.mention} {QUESTION} Really?")
        reply = channel.last_message
        assert reply.author.id == me.id and reply.content == NOT_READY and reply.content != SORRY
    finally:
        restartable.start()
    await alice.send(channel, f"{me.mention} {QUESTION} Now?")
    assert "300" in channel.last_message.embeds[0].description  # reconnected by itself
