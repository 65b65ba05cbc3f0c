"""No usable index on SimCord: readers are asked to come back shortly; only members who may run /reindex (an admin
role or Manage Server, as the admin commands check) are told how to fix it, by mention and by command alike."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.messages import NOT_READY, NOT_READY_ADMIN
from bot.settings import Settings
from index import IndexMissing

from ..conftest import CONTENT
from ..support.botkit import answered_after_defer, make_settings


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    """An index folder nothing was ever built in."""
    return make_settings(tmp_path / "index", CONTENT)


@pytest.fixture
def bot_library() -> None:
    """No Library handed over: the bot loads INDEX_DIR at start-up, and fails."""
    return None


@pytest.fixture
def members(simcord_env, world):  # type: ignore[no-untyped-def]
    """(channel, a reader, a member with Manage Server, a member with a role in ADMIN_ROLE_IDS)."""
    guild, channel, alice = world
    bot = simcord_env.bot
    mods = guild.create_role("mods", permissions=discord.Permissions(manage_guild=True))
    desk = guild.create_role("newsdesk")
    bot.settings = bot.settings.model_copy(update={"admin_role_ids": [desk.id]})
    manager = guild.add_member(simcord_env.create_user("manager"), roles=[mods])
    editor = guild.add_member(simcord_env.create_user("editor"), roles=[desk])
    return channel, alice, manager, editor


def test_the_messages_differ_in_what_they_tell() -> None:
    assert "/reindex" not in NOT_READY and "newsroom-bot" not in NOT_READY and "try again" in NOT_READY
    assert "/reindex" in NOT_READY_ADMIN and "newsroom-bot build" in NOT_READY_ADMIN


@pytest.mark.parametrize("command", ["ask", "summary", "stories", "sources"])
async def test_commands_tell_readers_to_come_back_and_admins_how_to_build(simcord_env, members, command) -> None:
    channel, alice, manager, editor = members
    assert isinstance(simcord_env.bot.load_error, IndexMissing) and simcord_env.bot.library is None
    options = {"question": "How many are trapped?"} if command == "ask" else {}
    for member, expected in ((alice, NOT_READY), (manager, NOT_READY_ADMIN), (editor, NOT_READY_ADMIN)):
        (message,) = answered_after_defer(simcord_env, await member.slash(channel, command, **options))
        assert message.content == expected, member


async def test_mentions_tell_readers_to_come_back_and_admins_how_to_build(simcord_env, members) -> None:
    channel, alice, manager, _ = members
    me = simcord_env.bot.user
    for member, expected in ((alice, NOT_READY), (manager, NOT_READY_ADMIN)):
        await member.send(channel, f"{me.mention} How many are trapped?")
        reply = channel.last_message
        assert reply.author.id == me.id and reply.content == expected
