"""Reading the stories: `/summary`, `/stories`, `/sources`. Each defers first (the library may still be loading)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from index import Library

from ..render import Reply, escape, render_sources, render_stories, render_summary
from .common import find_story, send_followups, story_autocomplete

if TYPE_CHECKING:
    from ..client import NewsroomBot

SENTENCES = {"short": 3, "long": 6}


class Reading(commands.Cog):
    def __init__(self, bot: NewsroomBot) -> None:
        self.bot = bot

    async def _story(self, interaction: discord.Interaction, typed: str | None) -> tuple[Library, str | None] | None:
        """Defer, wait for the library, resolve the story option; None once a polite refusal was sent."""
        await interaction.response.defer(thinking=True)
        library = await self.bot.get_library()
        try:
            return library, find_story(self.bot.stories, typed)
        except LookupError as exc:
            await interaction.followup.send(str(exc))
            return None

    @app_commands.command(name="summary", description="The story's key sentences, quoted word for word")
    @app_commands.describe(story="Which story (optional when there is only one)", length="short: 3, long: 6 sentences")
    @app_commands.autocomplete(story=story_autocomplete)
    async def summary(
        self, interaction: discord.Interaction, story: str | None = None, length: Literal["short", "long"] = "short"
    ) -> None:
        found = await self._story(interaction, story)
        if found is None:
            return
        library, slug = found
        stories = self.bot.stories
        if slug is None and len(stories) != 1:
            titles = ", ".join(f"*{escape(s.title)}*" for s in stories[:10]) or "none yet"
            await interaction.followup.send(f"Which story? Pick one in the `story` option: {titles}.")
            return
        result = await self.bot.run_blocking(library.summary, slug, sentences=SENTENCES[length])
        await send_followups(interaction, render_summary(result, self.bot.settings.reply_style))

    @app_commands.command(name="stories", description="The stories I can answer questions about")
    async def stories(self, interaction: discord.Interaction) -> None:
        found = await self._story(interaction, None)
        if found is None:
            return
        await send_followups(interaction, render_stories(self.bot.stories, self.bot.settings.reply_style))

    @app_commands.command(name="sources", description="Where a story's reporting comes from")
    @app_commands.describe(story="Which story (optional: all of them)")
    @app_commands.autocomplete(story=story_autocomplete)
    async def sources(self, interaction: discord.Interaction, story: str | None = None) -> None:
        found = await self._story(interaction, story)
        if found is None:
            return
        chosen = [s for s in self.bot.stories if found[1] is None or s.slug == found[1]]
        replies: list[Reply] = render_sources(chosen, self.bot.settings.reply_style)
        await send_followups(interaction, replies)


async def setup(bot: NewsroomBot) -> None:
    await bot.add_cog(Reading(bot))
