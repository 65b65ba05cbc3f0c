"""For editors: `/report` (what readers asked, with the chart) and `/story set|clear|show` (one story per channel).

The bindings `/story set` writes are read back here too (`bound_story`), by every ask path.

`/report`, `/story set` and `/story clear` are for admins (`admin_only`: ADMIN_ROLE_IDS or Manage Server); everyone
else gets a refusal only they can see. `/story show` is for everyone: readers can see which story a channel answers about.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from index import Library, UnknownStory

from ..editorial.logdb import LogBackend
from ..editorial.questionlog import QuestionLog, open_reader
from ..editorial.report import gather
from ..editorial.report_render import discord_summary, write_report
from ..messages import NO_LOG, NOT_BOUND, STILL_LOADING, UNBOUND, binding, bound_to
from .common import admin_only, find_story, story_autocomplete

if TYPE_CHECKING:
    from ..client import NewsroomBot

log = logging.getLogger("newsroom.editors")


def is_indexed(library: Library | None, slug: str) -> bool:
    if library is None:
        return False
    try:
        library.story(slug)
    except UnknownStory:
        return False
    return True


def bound_story(questions: QuestionLog | None, library: Library, channel: Any) -> str | None:
    """The story `/story set` bound this channel (or the channel a thread sits in) to, if it is still indexed."""
    if questions is None or channel is None:
        return None
    for channel_id in (channel.id, getattr(channel, "parent_id", None)):
        slug = questions.channel_story(channel_id) if channel_id else None
        if slug is not None:
            if is_indexed(library, slug):
                return slug
            log.warning(
                "channel %s is bound to %r, which is no longer indexed; searching all stories", channel_id, slug
            )
    return None


def build_report(library: Library, log: LogBackend, days: float, story: str | None) -> tuple[str, bytes, bytes, str]:
    """(summary post, PNG bytes, Markdown bytes, file stem), computed off the event loop."""
    conn = open_reader(log)
    try:
        data = gather(conn, library.encoder, days=days, story=story, library=library)
    finally:
        conn.close()
    with tempfile.TemporaryDirectory(prefix="newsroom-report-") as folder:
        md, png = write_report(data, Path(folder))
        return discord_summary(data), png.read_bytes(), md.read_bytes(), md.stem


class Editors(commands.Cog):
    def __init__(self, bot: NewsroomBot) -> None:
        self.bot = bot

    # A group has no callback to hold a docstring: its description is the one written here.
    story = app_commands.Group(name="story", description="Which story this channel answers about")

    # ----------------------------------------------------------------- /report
    @app_commands.command(name="report")
    @app_commands.describe(days="How many days back (default 7)", story="Only this story (optional)")
    @app_commands.autocomplete(story=story_autocomplete)
    @admin_only()
    async def report(
        self,
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, 365] = 7,
        story: str | None = None,
    ) -> None:
        """Admins: what readers asked, what the story didn't say, 👍/👎"""
        questions = self.bot.questions
        if questions is None or not questions.enabled:
            await interaction.response.send_message(NO_LOG, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        library = await self.bot.get_library()
        try:
            slug = find_story(library, story)
        except LookupError as exc:
            await interaction.followup.send(str(exc))
            return
        await asyncio.to_thread(questions.flush)  # include the questions asked a moment ago
        summary, png, md, stem = await self.bot.run_blocking(build_report, library, questions.backend, days, slug)
        files = [discord.File(io.BytesIO(png), f"{stem}.png"), discord.File(io.BytesIO(md), f"{stem}.md")]
        await interaction.followup.send(summary, files=files, allowed_mentions=discord.AllowedMentions.none())

    # ----------------------------------------------------------------- /story
    @story.command(name="set")
    @app_commands.describe(story="The story (start typing its title)")
    @app_commands.autocomplete(story=story_autocomplete)
    @admin_only()
    async def story_set(self, interaction: discord.Interaction, story: str) -> None:
        """Admins: questions in this channel are about this one story"""
        library = self.bot.library
        try:
            slug = find_story(library, story) if library is not None else None
        except LookupError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        if slug is None or self.bot.questions is None:
            await interaction.response.send_message(STILL_LOADING, ephemeral=True)
            return
        self.bot.questions.bind_channel(interaction.channel_id or 0, slug, guild_id=interaction.guild_id)
        title = library.story(slug).title if library else slug
        await interaction.response.send_message(bound_to(title))

    @story.command(name="clear")
    @admin_only()
    async def story_clear(self, interaction: discord.Interaction) -> None:
        """Admins: questions in this channel search every story again"""
        if self.bot.questions is not None:
            self.bot.questions.bind_channel(interaction.channel_id or 0, None)
        await interaction.response.send_message(UNBOUND)

    @story.command(name="show")
    async def story_show(self, interaction: discord.Interaction) -> None:
        """Which story questions in this channel are answered from"""
        questions, library = self.bot.questions, self.bot.library
        channel = interaction.channel
        slug = None
        if questions is not None and channel is not None:
            slug = questions.channel_story(channel.id) or questions.channel_story(getattr(channel, "parent_id", 0) or 0)
        if slug is None:
            text = NOT_BOUND
        else:
            known = is_indexed(library, slug)
            title = library.story(slug).title if known and library else slug
            text = binding(title, indexed=known)
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: NewsroomBot) -> None:
    await bot.add_cog(Editors(bot))
