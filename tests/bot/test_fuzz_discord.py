"""Hostile questions through SimCord (discord.py's real machinery on a simulated Discord that enforces its limits):
every one gets a polite reply that pings nobody, stays inside Discord's limits, and logs no exception.
"""

from __future__ import annotations

import logging

import discord
import pytest
from hypothesis import given

from ..support.strategies import fuzz, hostile_question

NO_COOLDOWN = {"cooldown_questions": 1000, "cooldown_seconds": 0.001}  # the settings allow no less
QUESTION_COUNT: list[int] = []  # questions fuzzed in this module, for the report


def _pings(env, message) -> tuple[list[int], list[int], bool]:  # type: ignore[no-untyped-def]
    """Whom the stored message notified, as SimCord worked it out from allowed_mentions and permissions."""
    channel_id = getattr(message, "channel_id", None) or message.channel.id
    stored = env.backend.get_message(channel_id, message.id)
    return stored.ping_user_ids, stored.ping_role_ids, stored.mention_everyone


def _check_reply(env, reply, bot_id: int) -> None:  # type: ignore[no-untyped-def]
    """A channel reply (discord.Message) or an interaction response (SimCord's ResponseMessage)."""
    if isinstance(reply, discord.Message):
        assert reply.author.id == bot_id
        assert not reply.mentions and not reply.role_mentions and not reply.mention_everyone
    assert _pings(env, reply) == ([], [], False), "the reply pinged someone"
    assert len(reply.content) <= 2000 and len(reply.embeds) <= 10
    text = reply.content + "".join((e.title or "") + (e.description or "") for e in reply.embeds)
    assert text.strip(), "an empty reply"
    for embed in reply.embeds:
        assert len(embed) <= 6000 and len(embed.description or "") <= 4096 and len(embed.title or "") <= 256


@pytest.fixture
def everyone_pingable(world):  # type: ignore[no-untyped-def]
    """A role anyone may mention and @everyone allowed: a reply that let mentions through WOULD ping."""
    guild, channel, alice = world
    role = guild.create_role("readers", mentionable=True)
    return guild, channel, alice, role


@pytest.mark.parametrize("bot_settings", [NO_COOLDOWN], indirect=True)
async def test_the_ping_check_can_fail(simcord_env, everyone_pingable) -> None:
    """Control: the same channel, a message that allows mentions, does ping, so the checks below mean something."""
    _, channel, alice, role = everyone_pingable
    sent = await simcord_env.bot.get_channel(channel.id).send(
        f"{alice.mention} <@&{role.id}>", allowed_mentions=discord.AllowedMentions.all()
    )
    users, roles, _ = _pings(simcord_env, sent)
    assert users == [alice.id] and roles == [role.id]


@pytest.mark.parametrize("bot_settings", [NO_COOLDOWN], indirect=True)
async def test_fuzzed_questions_by_mention_get_polite_replies_that_ping_nobody(
    simcord_env, everyone_pingable, caplog: pytest.LogCaptureFixture
) -> None:
    _, channel, alice, role = everyone_pingable
    bot = simcord_env.bot
    caplog.set_level(logging.WARNING)

    @fuzz(120)
    @given(question=hostile_question())
    async def ask(question: str) -> None:
        question = question.replace(f"<@{bot.user.id}>", "")[:1900]  # stays one Discord message with the mention
        text = f"{bot.user.mention} {question} <@&{role.id}> {alice.mention} @everyone"
        asked = await alice.send(channel, text)
        reply = channel.last_message
        assert reply.id != asked.id, f"no reply to {question!r}"
        assert reply.reference is not None and reply.reference.message_id == asked.id
        _check_reply(simcord_env, reply, bot.user.id)
        QUESTION_COUNT.append(1)

    await _run_async_hypothesis(ask)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:3]]


@pytest.mark.parametrize("bot_settings", [NO_COOLDOWN], indirect=True)
async def test_fuzzed_questions_by_slash_command_get_polite_replies(
    simcord_env, everyone_pingable, caplog: pytest.LogCaptureFixture
) -> None:
    _, channel, alice, _ = everyone_pingable
    bot = simcord_env.bot
    caplog.set_level(logging.WARNING)

    @fuzz(60)
    @given(question=hostile_question())
    async def ask(question: str) -> None:
        question = question[:6000] or " "  # Discord caps a string option at 6,000 characters
        result = await alice.slash(channel, "ask", question=question)
        messages = [m for m in [result.response, *result.followups] if m is not None]
        assert messages, f"no reply to /ask {question!r}"
        for message in messages:
            _check_reply(simcord_env, message, bot.user.id)
        QUESTION_COUNT.append(1)

    await _run_async_hypothesis(ask)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:3]]


async def _run_async_hypothesis(test) -> None:  # type: ignore[no-untyped-def]
    """Hypothesis drives a sync function; each example runs on this test's (SimCord's) event loop."""
    import asyncio

    loop = asyncio.get_running_loop()
    inner = test.hypothesis.inner_test

    def sync(**kwargs):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(inner(**kwargs), loop).result(timeout=60)

    test.hypothesis.inner_test = sync
    await asyncio.to_thread(test)
