"""Asking: messages in answer channels, @mentions anywhere, `/ask`, and the "Ask the story" message menu.

Every path ends in the same place, `Ask.answer`: the question is cleaned by the engine's `clean_question`
(mentions, links, chat markup and pasted code gone, so the log and the reply show what the engine read) and goes
to the engine through the bot's ask queue (answered together with whatever else is waiting, in the bot's
executor), and the rendered answer is sent as a reply. Each path checks the per-user cooldown first and answers
politely.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import Answer, clean_question

from ..asklog import AskOrigin, log_and_attach
from ..messages import DM_REFUSAL, NOTHING_TO_CHECK, RESTARTING, SORRY, cooldown_text, not_ready
from ..render import Reply, render_answer
from ..resilience import typing
from ..serving import LibraryUnavailable
from .common import (
    answer_interaction,
    find_story,
    reply_to_message,
    story_autocomplete,
)
from .editors import bound_story

if TYPE_CHECKING:
    from ..client import NewsroomBot

log = logging.getLogger("newsroom.ask")


class Ask(commands.Cog):
    def __init__(self, bot: NewsroomBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Ask the story", callback=self.ask_about_message)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def answer(
        self, question: str, story: str | None = None, *, show_question: bool, origin: AskOrigin, channel: object = None
    ) -> list[Reply]:
        """Answer (scoped to `story`, else to the story `/story set` bound the channel to), log it, render it.

        Raises LibraryUnavailable when there is no usable index: the caller knows who asked, and so what to say.
        """
        started = time.perf_counter()
        question = clean_question(question)
        library = await self.bot.get_library()
        story = story or bound_story(self.bot.questions, library, channel)
        answer: Answer = await self.bot.ask_queue.ask(library, question, story, top_k=self.bot.settings.top_k)
        replies = render_answer(
            answer, self.bot.settings.reply_style, show_question=show_question, story_count=len(self.bot.stories)
        )
        return log_and_attach(self.bot.questions, answer, origin, (time.perf_counter() - started) * 1000, replies)

    # ----------------------------------------------------------------- messages
    def is_question(self, message: discord.Message) -> bool:
        """In an answer channel (or a thread under one), or mentioning the bot itself (not a role, not @everyone)."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return False
        if message.guild is None:
            return True  # a direct message is a question to the bot: answered, or refused politely (ALLOW_DMS)
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None)
        if channel.id in self.bot.answer_channel_ids or parent_id in self.bot.answer_channel_ids:
            return True
        return any(user.id == me.id for user in message.mentions)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.is_question(message):
            return
        assert self.bot.user is not None
        if self.bot.draining:  # shutting down: said to the reader, as to a slash command (bot/lifecycle.py)
            self.bot.turned_away += 1
            await reply_to_message(message, [Reply(content=RESTARTING)])
            return
        retry = self.bot.retry_after(message.author.id)
        if retry:
            await reply_to_message(message, [Reply(content=cooldown_text(retry))])
            return
        if message.guild is None and not self.bot.settings.allow_dms:
            await reply_to_message(message, [Reply(content=DM_REFUSAL)])
            return
        mentioned = any(user.id == self.bot.user.id for user in message.mentions)
        origin = AskOrigin.from_message(message, "mention" if mentioned else "channel")
        try:
            async with typing(message.channel):
                replies = await self.answer(
                    message.content, show_question=False, origin=origin, channel=message.channel
                )
        except LibraryUnavailable:
            replies = [Reply(content=not_ready(self.bot.is_admin(message.author)))]
        except Exception:  # the reader still hears back; the cause goes to the log
            log.exception("answering message %s failed", message.id)
            replies = [Reply(content=SORRY)]
        await reply_to_message(message, replies)

    # ----------------------------------------------------------------- interactions
    async def _answer_interaction(
        self, interaction: discord.Interaction, question: str, story: str | None, source: str
    ) -> None:
        retry = self.bot.retry_after(interaction.user.id)
        if retry:
            await interaction.response.send_message(cooldown_text(retry), ephemeral=True)
            return
        if interaction.guild is None and not self.bot.settings.allow_dms:
            await interaction.response.send_message(DM_REFUSAL, ephemeral=True)
            return
        origin = AskOrigin.from_interaction(interaction, source)

        async def work() -> list[Reply]:
            await self.bot.get_library()
            slug = find_story(self.bot.stories, story)
            return await self.answer(question, slug, show_question=True, origin=origin, channel=interaction.channel)

        await answer_interaction(interaction, work)  # if the token expired, the answer goes to the channel

    @app_commands.command(name="ask")
    @app_commands.describe(question="Your question", story="Only this story (optional)")
    @app_commands.autocomplete(story=story_autocomplete)
    async def ask(self, interaction: discord.Interaction, question: str, story: str | None = None) -> None:
        """Ask about the story: answered with quotes, word for word"""
        await self._answer_interaction(interaction, question, story, "slash")

    async def ask_about_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The selected message is the question: readers check a claim someone made against the story."""
        if not message.content.strip():
            await interaction.response.send_message(NOTHING_TO_CHECK, ephemeral=True)
            return
        await self._answer_interaction(interaction, message.content, None, "menu")


async def setup(bot: NewsroomBot) -> None:
    await bot.add_cog(Ask(bot))
