"""The bot on a simulated Discord (SimCord): questions by @mention, in answer channels, /ask and the message menu.

The bot is built with `create_bot(settings, library)` around the session's real Library, so every answer here
comes from the real engine over discord.py's real machinery; SimCord enforces Discord's limits and intents.
"""

from __future__ import annotations

import discord
import pytest

from index import Library

from ..conftest import SEED_SLUG
from ..support.botkit import ATTRIBUTION, answered_after_defer, assert_verbatim, last_callback_type
from ..support.tiers import sure_of

QUESTION = "How many White Helmets are still trapped in Syria?"
OFF_TOPIC = "Who painted the Mona Lisa?"
PLACEHOLDER_CHANNEL = 1  # any id: turns the message content intent on; tests then point it at a real channel


@pytest.fixture
def bot_library(library: Library) -> Library:
    """The session's index confident in QUESTION: this module tests what an answer does; test_closest.py the hedge."""
    return sure_of(library, QUESTION)


def _only_embed(message: discord.Message) -> discord.Embed:
    assert len(message.embeds) == 1, message
    return message.embeds[0]


async def test_mention_gets_a_reply_with_verbatim_attributed_quotes(simcord_env, world, library: Library) -> None:
    _, channel, alice = world
    bot = simcord_env.bot
    assert not bot.intents.message_content  # no answer channels: mentions must work without the privileged intent
    asked = await alice.send(channel, f"{bot.user.mention} {QUESTION}")

    reply = channel.last_message
    assert reply.author.id == bot.user.id
    assert reply.reference is not None and reply.reference.message_id == asked.id
    description = _only_embed(reply).description
    quotes = assert_verbatim(library, description)
    assert quotes[0][1] == 1 and "300" in quotes[0][0]
    first_cite = description.split("\n")[1]
    match = ATTRIBUTION.match(first_cite)
    assert match, first_cite
    assert match["title"] == "White Helmets Trapped in Syria" and match["para"] == "1" and match["src"] == "NPR; CNN"
    assert "<@" not in description  # the mention was stripped from the question, nothing echoes it


async def test_plain_messages_outside_answer_channels_are_ignored(simcord_env, world) -> None:
    _, channel, alice = world
    await alice.send(channel, QUESTION)
    assert channel.last_message.author.id == alice.id


@pytest.mark.parametrize("bot_settings", [{"answer_channel_ids": [PLACEHOLDER_CHANNEL]}], indirect=True)
async def test_every_message_in_an_answer_channel_is_a_question(simcord_env, world, library: Library) -> None:
    guild, general, alice = world
    bot = simcord_env.bot
    assert bot.intents.message_content
    answers = guild.create_text_channel("ask-the-story")
    bot.answer_channel_ids = {answers.id}

    await alice.send(answers, "How many lives have the White Helmets saved?")
    reply = answers.last_message
    assert reply.author.id == bot.user.id
    quotes = assert_verbatim(library, _only_embed(reply).description)
    assert quotes[0][1] == 3 and "115,000" in quotes[0][0]

    await alice.send(general, "How many lives have the White Helmets saved?")  # not an answer channel
    assert general.last_message.author.id == alice.id


@pytest.mark.parametrize("bot_settings", [{"answer_channel_ids": [PLACEHOLDER_CHANNEL]}], indirect=True)
async def test_other_bots_are_ignored(simcord_env, world) -> None:
    guild, channel, _ = world
    simcord_env.bot.answer_channel_ids = {channel.id}
    other = guild.add_member(simcord_env.create_user("newsfeed", bot=True))
    await other.send(channel, f"{simcord_env.bot.user.mention} {QUESTION}")
    assert channel.last_message.author.id == other.id
    assert not any(r.method == "POST" and r.path.endswith("/messages") for r in simcord_env.http_requests)


async def test_off_topic_question_gets_a_friendly_abstention_without_quotes(simcord_env, world) -> None:
    _, channel, alice = world
    await alice.send(channel, f"{simcord_env.bot.user.mention} {OFF_TOPIC}")
    reply = channel.last_message
    assert reply.author.id == simcord_env.bot.user.id
    assert reply.content.startswith("The story doesn't say that")
    assert not reply.embeds and "> " not in reply.content and "¶" not in reply.content


async def test_empty_mention_gets_a_hint(simcord_env, world) -> None:
    _, channel, alice = world
    await alice.send(channel, simcord_env.bot.user.mention)
    assert channel.last_message.content.startswith("Ask me a question about the story")


async def test_a_question_full_of_mentions_pings_nobody(simcord_env, world) -> None:
    guild, channel, alice = world
    bot = simcord_env.bot
    editors = guild.create_role("editors", mentionable=True)
    bob = guild.add_member(simcord_env.create_user("bob"))
    await alice.send(channel, f"@everyone @here {editors.mention} {bob.mention} {bot.user.mention} {QUESTION}")
    reply = channel.last_message
    assert reply.author.id == bot.user.id and reply.embeds
    assert reply.mentions == [] and reply.role_mentions == [] and not reply.mention_everyone
    sent = [r for r in simcord_env.http_requests if r.method == "POST" and r.path.endswith("/messages")]
    assert sent and all(r.json["allowed_mentions"]["parse"] == [] for r in sent)
    assert all(not r.json["allowed_mentions"].get("replied_user") for r in sent)


@pytest.mark.parametrize("bot_settings", [{"reply_style": "plain"}], indirect=True)
async def test_plain_style_replies_with_text_within_limits(simcord_env, world, library: Library) -> None:
    _, channel, alice = world
    await alice.send(channel, f"{simcord_env.bot.user.mention} {QUESTION}")
    reply = channel.last_message
    assert not reply.embeds and 0 < len(reply.content) <= 2000
    assert_verbatim(library, reply.content)
    assert "— *White Helmets Trapped in Syria*, ¶1 · Sources: NPR; CNN" in reply.content


async def test_slash_ask_defers_then_answers_with_the_question_shown(simcord_env, world, library: Library) -> None:
    _, channel, alice = world
    result = await alice.slash(channel, "ask", question=QUESTION)
    messages = answered_after_defer(simcord_env, result)
    assert not result.ephemeral
    embeds = [e for m in messages for e in m.embeds]
    assert len(embeds) == 1
    assert embeds[0].title == f"“{QUESTION}”"
    assert assert_verbatim(library, embeds[0].description)[0][1] == 1


async def test_a_pasted_link_and_markup_are_not_part_of_the_question(simcord_env, world, library: Library) -> None:
    """The bot asks and shows what the engine reads (index.clean_question), by /ask and by @mention alike."""
    _, channel, alice = world
    (plain,) = answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=QUESTION))
    wrapped = f"https://www.npr.org/2018/07/24/white-helmets **{QUESTION}** <:thonk:845123456789012345>"
    (message,) = answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=wrapped))
    assert message.embeds[0].title == plain.embeds[0].title == f"“{QUESTION}”"
    assert message.embeds[0].description == plain.embeds[0].description
    await alice.send(channel, f"{simcord_env.bot.user.mention} {wrapped}")
    assert _only_embed(channel.last_message).description == plain.embeds[0].description


async def test_slash_ask_scoped_to_a_story_and_to_an_unknown_one(simcord_env, world, library: Library) -> None:
    _, channel, alice = world
    result = await alice.slash(channel, "ask", question="Who backs the Syrian government?", story=SEED_SLUG)
    text = "".join(e.description for m in answered_after_defer(simcord_env, result) for e in m.embeds)
    assert "Russia" in text and assert_verbatim(library, text)

    result = await alice.slash(channel, "ask", question=QUESTION, story="the moon landing")
    message = result.response or result.followups[0]
    assert "I don't have a story called “the moon landing”" in message.content


async def test_story_autocomplete_offers_titles_with_slugs(simcord_env, world) -> None:
    _, channel, alice = world
    choices = await alice.autocomplete(channel, "ask", "story", "helmets", question=QUESTION)
    assert choices == [{"name": "White Helmets Trapped in Syria", "value": SEED_SLUG}]
    assert await alice.autocomplete(channel, "ask", "story", "zzz", question=QUESTION) == []


async def test_ask_the_story_menu_checks_a_claim_someone_made(simcord_env, world, library: Library) -> None:
    guild, channel, alice = world
    bob = guild.add_member(simcord_env.create_user("bob"))
    claim = await bob.send(channel, "The White Helmets have saved over 115,000 lives, right?")
    result = await alice.context_menu(channel, "Ask the story", claim)
    embed = answered_after_defer(simcord_env, result)[0].embeds[0]
    assert "115,000" in embed.description and assert_verbatim(library, embed.description)


@pytest.mark.parametrize("bot_settings", [{"cooldown_questions": 2, "cooldown_seconds": 60}], indirect=True)
async def test_cooldown_answers_politely_and_resets(simcord_env, world) -> None:
    _, channel, alice = world
    bot = simcord_env.bot
    for _ in range(2):
        answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=QUESTION))
    refused = await alice.slash(channel, "ask", question=QUESTION)
    assert refused.ephemeral and last_callback_type(simcord_env) == 4
    assert refused.response.content.startswith("You're asking faster than I can keep up")

    await alice.send(channel, f"{bot.user.mention} {QUESTION}")  # the same bucket covers mentions
    assert channel.last_message.content.startswith("You're asking faster")

    bob = world[0].add_member(simcord_env.create_user("bob"))  # cooldowns are per user
    answered_after_defer(simcord_env, await bob.slash(channel, "ask", question=QUESTION))

    await simcord_env.advance_time(61)
    answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=QUESTION))


async def test_an_engine_failure_still_gets_a_polite_answer(simcord_env, world, monkeypatch) -> None:
    _, channel, alice = world
    bot = simcord_env.bot

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine down")

    monkeypatch.setattr(bot.library, "ask", broken)
    monkeypatch.setattr(bot.library, "ask_many", broken)  # the bot asks in batches (bot/ask_queue.py)
    (message,) = answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=QUESTION))
    assert message.content.startswith("Sorry, something went wrong on my side")
    failures = simcord_env.errors
    assert any(isinstance(getattr(e, "original", e), RuntimeError) for e in failures), failures

    await alice.send(channel, f"{bot.user.mention} {QUESTION}")
    assert channel.last_message.content.startswith("Sorry, something went wrong on my side")
