"""Direct messages: answered like a question (ALLOW_DMS=true, the default) or refused politely (false)."""

from __future__ import annotations

import pytest

from bot.messages import DM_REFUSAL
from index import Library

from ..support.botkit import assert_verbatim

QUESTION = "How many White Helmets are still trapped in Syria?"


async def test_a_direct_message_is_answered_with_quotes(simcord_env, world, library: Library) -> None:
    _, _, alice = world
    asked = await alice.send_dm(QUESTION)
    reply = alice.user.dm_channel.last_message
    assert reply.author.id == simcord_env.bot.user.id and reply.id != asked.id
    assert "300" in assert_verbatim(library, reply.embeds[0].description)[0][0]


@pytest.mark.parametrize("bot_settings", [{"allow_dms": False}], indirect=True)
async def test_direct_messages_are_refused_politely_when_turned_off(simcord_env, world) -> None:
    _, channel, alice = world
    await alice.send_dm(QUESTION)
    reply = alice.user.dm_channel.last_message
    assert reply.author.id == simcord_env.bot.user.id and reply.content == DM_REFUSAL
    await alice.send(channel, f"{simcord_env.bot.user.mention} {QUESTION}")  # in the server: still answered
    assert channel.last_message.author.id == simcord_env.bot.user.id and channel.last_message.embeds
