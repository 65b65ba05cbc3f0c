"""Expired interactions on SimCord: a command whose token died (10062 on the acknowledgement, 10015 on every
follow-up) still gets its public answer into the channel, for every reading command and /ask alike."""

from __future__ import annotations

import logging

import pytest

from ..conftest import SEED_SLUG
from ..support.botkit import assert_verbatim

QUESTION = "How many White Helmets are still trapped in Syria?"


def _expire_interactions(env) -> None:  # type: ignore[no-untyped-def]
    """From now on Discord says the interaction is unknown (the 3 s window was missed) and so is its webhook."""
    env.inject_error(
        "POST", "/interactions/*/callback", status=404, code=10062, message="Unknown interaction", times=None
    )
    env.inject_error("POST", "/webhooks/*", status=404, code=10015, message="Unknown Webhook", times=None)


@pytest.mark.parametrize(
    ("command", "options", "expect"),
    [
        ("summary", {}, "Summary: White Helmets Trapped in Syria"),
        ("stories", {}, "1 story indexed"),
        ("sources", {"story": SEED_SLUG}, "*White Helmets Trapped in Syria* · Sources: NPR; CNN"),
        ("ask", {"question": QUESTION}, f"“{QUESTION}”"),
    ],
)
async def test_an_expired_command_posts_its_answer_in_the_channel(
    simcord_env, world, library, caplog, command, options, expect
) -> None:
    caplog.set_level(logging.WARNING)
    _, channel, alice = world
    before = channel.last_message
    _expire_interactions(simcord_env)
    result = await alice.slash(channel, command, **options)
    assert not result.acknowledged and not result.followups
    posted = channel.last_message
    assert posted is not None and posted is not before and posted.author.id == simcord_env.bot.user.id
    (embed,) = posted.embeds
    assert expect in f"{embed.title}\n{embed.description}"
    if command in ("summary", "ask"):
        assert_verbatim(library, embed.description)
    assert not posted.mentions and not posted.mention_everyone
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def test_an_unknown_story_after_expiry_is_still_pointed_out_in_the_channel(simcord_env, world) -> None:
    _, channel, alice = world
    _expire_interactions(simcord_env)
    await alice.slash(channel, "summary", story="nope")
    assert "I don't have a story called “nope”" in channel.last_message.content


async def test_the_ask_the_story_menu_after_expiry_answers_in_the_channel(simcord_env, world, library) -> None:
    guild, channel, alice = world
    claim = await guild.add_member(simcord_env.create_user("bob")).send(
        channel, "They saved over 115,000 lives, right?"
    )
    _expire_interactions(simcord_env)
    await alice.context_menu(channel, "Ask the story", claim)
    posted = channel.last_message
    assert posted.author.id == simcord_env.bot.user.id and "115,000" in posted.embeds[0].description
    assert_verbatim(library, posted.embeds[0].description)
