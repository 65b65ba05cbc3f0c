"""The bot's other commands on SimCord: /summary, /stories, /sources, /reindex; stories that try to ping or overflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import discord
import pytest
from discord import app_commands

from index import Encoder, Library, parse_story

from ..conftest import CONTENT, SEED_SLUG
from ..support.botkit import (
    answered_after_defer,
    assert_verbatim,
    last_callback_type,
    quoted_passages,
    refused_by_checks,
)

HOSTILE = b"""---
title: Council *Update*
url: https://news.example/council
sources: [Town Hall]
---
The council announced that @everyone in the valley must evacuate by noon on Friday. The order came from <@&123456789012345678> and was read out by **the mayor** at the square.

Buses will leave from the market square every hour until the evening.
"""

LONG_SENTENCE = (
    "The committee reported that the volunteers of the northern district, working in shifts through every night "
    "of the winter, repaired {n} bridges, cleared the mountain roads, rebuilt the schools and the clinics, and "
    "carried supplies to the villages that the floods had cut off from the rest of the province for many weeks."
)
LONG_STORY = ("# The Long Report\n\n" + "\n\n".join(LONG_SENTENCE.format(n=n) for n in range(1, 9))).encode()


def _library_of(tmp_path: Path, encoder: Encoder, name: str, raw: bytes) -> Library:
    path = tmp_path / name
    path.write_bytes(raw)
    return Library.from_stories([parse_story(path)], encoder)


def _text(messages) -> str:  # type: ignore[no-untyped-def]
    return "\n".join((m.content or "") + "".join(e.description or "" for e in m.embeds) for m in messages)


def test_each_slash_command_is_described_by_its_docstring_and_admin_ones_are_checked(simcord_env) -> None:
    """The help a reader sees in Discord is the command's docstring (written once); the four admin commands, and
    only they, carry the `admin_only` check."""
    top = simcord_env.bot.tree.get_commands(type=discord.AppCommandType.chat_input)
    commands = [c for t in top for c in (t.commands if isinstance(t, app_commands.Group) else [t])]
    assert {c.qualified_name for c in commands} >= {"ask", "summary", "stories", "sources", "story show"}
    for command in commands:
        assert command.description == " ".join(command.callback.__doc__.split()), command.qualified_name
    checked = {c.qualified_name for c in commands if c.checks}
    assert checked == {"reindex", "report", "story set", "story clear"}


# ----------------------------------------------------------------- reading commands
@pytest.mark.parametrize(("length", "count"), [("short", 3), ("long", 6)])
async def test_summary_quotes_sentences_verbatim_in_story_order(simcord_env, world, library, length, count) -> None:
    _, channel, alice = world
    result = await alice.slash(channel, "summary", length=length)
    (message,) = answered_after_defer(simcord_env, result)
    (embed,) = message.embeds
    assert embed.title == "Summary: White Helmets Trapped in Syria"
    assert embed.footer.text.startswith("Sources: NPR; CNN")
    quotes = assert_verbatim(library, embed.description)
    assert len(quotes) == count
    assert [n for _, n in quotes] == sorted(n for _, n in quotes)  # story order


async def test_summary_of_an_unknown_story_is_a_polite_pointer(simcord_env, world) -> None:
    _, channel, alice = world
    (message,) = answered_after_defer(simcord_env, await alice.slash(channel, "summary", story="nope"))
    assert "I don't have a story called “nope”" in message.content and "/stories" in message.content


async def test_stories_lists_title_slug_and_sources(simcord_env, world) -> None:
    _, channel, alice = world
    (message,) = answered_after_defer(simcord_env, await alice.slash(channel, "stories"))
    (embed,) = message.embeds
    assert embed.title == "1 story indexed"
    assert f"`{SEED_SLUG}` · 4 paragraphs · Sources: NPR; CNN" in embed.description


async def test_sources_for_a_story_picked_by_autocomplete(simcord_env, world) -> None:
    _, channel, alice = world
    choices = await alice.autocomplete(channel, "sources", "story", "syria")
    assert [c["value"] for c in choices] == [SEED_SLUG]
    assert [c["value"] for c in await alice.autocomplete(channel, "summary", "story", "")] == [SEED_SLUG]
    (message,) = answered_after_defer(simcord_env, await alice.slash(channel, "sources", story=choices[0]["value"]))
    assert "*White Helmets Trapped in Syria* · Sources: NPR; CNN" in message.embeds[0].description


# ----------------------------------------------------------------- /reindex
@pytest.fixture
def fresh_dirs(tmp_path: Path) -> tuple[Path, Path]:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    return content, tmp_path / "index"


async def test_reindex_is_refused_to_readers_privately(simcord_env, world) -> None:
    _, channel, alice = world
    before = simcord_env.bot.library
    result = await alice.slash(channel, "reindex")
    assert result.ephemeral and last_callback_type(simcord_env) == 4
    assert result.response.content.startswith("Sorry, only the newsroom's admins can do that")
    assert refused_by_checks(simcord_env) == 1
    assert simcord_env.bot.library is before


@pytest.mark.simcord(settle_timeout=300)
@pytest.mark.parametrize("admin_kind", ["role", "manage_server"])
async def test_reindex_by_an_admin_swaps_in_new_stories_without_restart(
    simcord_env, world, fresh_dirs, admin_kind
) -> None:
    guild, channel, alice = world
    bot = simcord_env.bot
    content, index_dir = fresh_dirs
    if admin_kind == "role":
        role = guild.create_role("newsdesk")
        bot.settings = bot.settings.model_copy(update={"admin_role_ids": [role.id]})
    else:
        role = guild.create_role("mods", permissions=discord.Permissions(manage_guild=True))
    bot.settings = bot.settings.model_copy(update={"content_dir": content, "index_dir": index_dir})
    editor = guild.add_member(simcord_env.create_user("editor"), roles=[role])
    (content / "council.md").write_bytes(HOSTILE)
    before = bot.library

    result = await editor.slash(channel, "reindex")
    (message,) = answered_after_defer(simcord_env, result)
    assert result.ephemeral
    assert message.content.startswith("Rebuilt the index: 2 stories")
    assert bot.library is not before and {s.slug for s in bot.library.stories()} == {SEED_SLUG, "council"}

    (listing,) = answered_after_defer(simcord_env, await alice.slash(channel, "stories"))
    assert listing.embeds[0].title == "2 stories indexed"
    assert {c["value"] for c in await alice.autocomplete(channel, "summary", "story", "")} == {SEED_SLUG, "council"}
    (which,) = answered_after_defer(simcord_env, await alice.slash(channel, "summary"))
    assert which.content.startswith("Which story?") and "*Council \\*Update\\**" in which.content
    (council,) = answered_after_defer(simcord_env, await alice.slash(channel, "summary", story="council"))
    assert council.embeds[0].title == "Summary: Council \\*Update\\*"
    (again,) = answered_after_defer(simcord_env, await editor.slash(channel, "reindex"))
    assert again.content.startswith("The index was already up to date (2 stories)")


# ----------------------------------------------------------------- hostile and oversized stories
@pytest.fixture
def bot_library(request: pytest.FixtureRequest, library: Library, encoder: Encoder, tmp_path: Path) -> Library:
    kind = getattr(request, "param", "seed")
    if kind == "hostile":
        return _library_of(tmp_path, encoder, "council.md", HOSTILE)
    if kind == "long":
        return _library_of(tmp_path, encoder, "long-report.md", LONG_STORY)
    return library


@pytest.mark.parametrize("bot_settings", [{"reply_style": "plain"}, {"reply_style": "embed"}], indirect=True)
@pytest.mark.parametrize("bot_library", ["hostile"], indirect=True)
async def test_a_story_full_of_markup_and_mentions_pings_nobody(simcord_env, world, bot_library) -> None:
    _, channel, alice = world
    await alice.send(channel, f"{simcord_env.bot.user.mention} Who must evacuate by noon?")
    reply = channel.last_message
    assert reply.author.id == simcord_env.bot.user.id
    text = _text([reply])
    assert "evacuate" in text and "@everyone" not in text and "<@&1" not in text and "**the mayor**" not in text
    quotes = assert_verbatim(bot_library, text, "council")
    assert any("@everyone" in body for body, _ in quotes)  # escaped for display, verbatim when read back
    assert reply.mentions == [] and reply.role_mentions == [] and not reply.mention_everyone
    assert "(<https://news.example/council>)" in text and "Council \\*Update\\*" in text


@pytest.mark.parametrize("bot_settings", [{"reply_style": "plain"}, {"reply_style": "embed"}], indirect=True)
@pytest.mark.parametrize("bot_library", ["long"], indirect=True)
async def test_long_summaries_stay_within_discord_limits(simcord_env, world, bot_library, bot_settings) -> None:
    _, channel, alice = world
    messages = answered_after_defer(simcord_env, await alice.slash(channel, "summary", length="long"))
    quotes = [q for m in messages for q in quoted_passages(_text([m]))]
    assert len(quotes) == 6
    for message in messages:  # SimCord rejects anything over Discord's limits; check the margins too
        assert len(message.content or "") <= 2000
        assert all(len(e) <= 6000 and len(e.description or "") <= 4096 for e in message.embeds)
    if bot_settings.reply_style == "plain":
        assert len(messages) >= 2  # six ~330-character sentences do not fit one 2,000-character message
