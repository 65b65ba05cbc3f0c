"""The stories: `/summary`, `/stories`, `/sources`. Each defers first (the library may still be loading)
and delivers through `answer_interaction`, which posts in the channel if the interaction expired."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from ..messages import which_story
from ..render import Reply, render_sources, render_stories, render_summary
from .common import answer_interaction, find_story, story_autocomplete

if TYPE_CHECKING:
    from ..client import NewsroomBot

SENTENCES = {"short": 3, "long": 6}


class Stories(commands.Cog):
    """Each command's work is a coroutine returning its replies; `answer_interaction` defers, runs it and delivers."""

    def __init__(self, bot: NewsroomBot) -> None:
        self.bot = bot

    @app_commands.command(name="summary")
    @app_commands.describe(story="Which story (optional when there is only one)", length="short: 3, long: 6 sentences")
    @app_commands.autocomplete(story=story_autocomplete)
    async def summary(
        self, interaction: discord.Interaction, story: str | None = None, length: Literal["short", "long"] = "short"
    ) -> None:
        """The story's key sentences, quoted word for word"""
        await answer_interaction(interaction, functools.partial(self._summary, story, SENTENCES[length]))

    async def _summary(self, typed: str | None, sentences: int) -> list[Reply]:
        library = await self.bot.get_library()
        slug = find_story(self.bot.stories, typed)
        stories = self.bot.stories
        if slug is None and len(stories) != 1:
            return [Reply(content=which_story(stories))]
        result = await self.bot.run_blocking(library.summary, slug, sentences=sentences)
        return render_summary(result, self.bot.settings.reply_style)

    @app_commands.command(name="stories")
    async def stories(self, interaction: discord.Interaction) -> None:
        """The stories I can answer questions about"""
        await answer_interaction(interaction, self._stories)

    async def _stories(self) -> list[Reply]:
        await self.bot.get_library()
        return render_stories(self.bot.stories, self.bot.settings.reply_style)

    @app_commands.command(name="sources")
    @app_commands.describe(story="Which story (optional: all of them)")
    @app_commands.autocomplete(story=story_autocomplete)
    async def sources(self, interaction: discord.Interaction, story: str | None = None) -> None:
        """Where a story's reporting comes from"""
        await answer_interaction(interaction, functools.partial(self._sources, story))

    async def _sources(self, typed: str | None) -> list[Reply]:
        await self.bot.get_library()
        slug = find_story(self.bot.stories, typed)
        chosen = [s for s in self.bot.stories if slug is None or s.slug == slug]
        return render_sources(chosen, self.bot.settings.reply_style)


async def setup(bot: NewsroomBot) -> None:
    await bot.add_cog(Stories(bot))
