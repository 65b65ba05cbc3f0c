"""👍 / 👎 under each answer: buttons whose custom_id carries the question log row, so they outlive a restart.

discord.py's `add_view` needs one registered view per custom_id known at start-up; every answer has its own row id,
so the buttons are `DynamicItem`s instead: one template (`newsroom:vote:up:123`) registered once in setup_hook
(`bot.add_dynamic_items`) answers clicks on any answer ever sent, before or after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import discord

from index import Answer, AnswerStatus, Library, UnknownStory

from .editorial.questionlog import QuestionRecord, UnknownQuestion
from .render import Reply

if TYPE_CHECKING:
    from .client import NewsroomBot

log = logging.getLogger("newsroom.feedback")
VOTES = {"up": (1, "👍", "Helpful"), "down": (-1, "👎", "Not helpful")}


def custom_id(vote: str, question_id: int) -> str:
    return f"newsroom:vote:{vote}:{question_id}"


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"newsroom:vote:(?P<vote>up|down):(?P<id>\d+)"
):
    """One of the two buttons; rebuilt by discord.py from the custom_id on every click."""

    def __init__(self, vote: str, question_id: int) -> None:
        value, emoji, label = VOTES[vote]
        style = discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id(vote, question_id))
        )
        self.vote, self.value, self.question_id = vote, value, question_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["vote"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("NewsroomBot", interaction.client)
        questions = bot.questions
        if questions is None or not questions.enabled:
            await interaction.response.send_message("Feedback is switched off here.", ephemeral=True)
            return
        try:
            tally = await asyncio.wrap_future(questions.vote(self.question_id, interaction.user.id, self.value))
        except UnknownQuestion:
            text = "That answer is too old to rate (the question log has let it go)."
        except Exception:
            log.exception("storing a vote failed")
            text = "Sorry, I couldn't save that just now. Please try again later."
        else:
            emoji = VOTES[self.vote][1]
            text = (
                f"Thanks, noted {emoji}. So far {tally.up} 👍 and {tally.down} 👎 for this answer; "
                "you can change your vote with the other button."
            )
        await interaction.response.send_message(text, ephemeral=True)


def feedback_view(question_id: int) -> discord.ui.View:
    """The two buttons for one logged answer. timeout=None: the view never expires while the bot runs."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton("up", question_id))
    view.add_item(VoteButton("down", question_id))
    return view


# ----------------------------------------------------------------- logging what was asked, from every ask path
@dataclass(frozen=True)
class AskOrigin:
    """Who asked where, and by which path: mention | channel | slash | menu."""

    user_id: int
    guild_id: int | None
    channel_id: int | None
    source: str

    @classmethod
    def from_message(cls, message: discord.Message, source: str) -> AskOrigin:
        return cls(message.author.id, message.guild.id if message.guild else None, message.channel.id, source)

    @classmethod
    def from_interaction(cls, interaction: discord.Interaction, source: str) -> AskOrigin:
        return cls(interaction.user.id, interaction.guild_id, interaction.channel_id, source)


def is_indexed(library: Library | None, slug: str) -> bool:
    if library is None:
        return False
    try:
        library.story(slug)
    except UnknownStory:
        return False
    return True


def bound_story(bot: NewsroomBot, library: Library, channel: Any) -> str | None:
    """The story `/story set` bound this channel (or the channel a thread sits in) to, if it is still indexed."""
    if bot.questions is None or channel is None:
        return None
    for channel_id in (channel.id, getattr(channel, "parent_id", None)):
        slug = bot.questions.channel_story(channel_id) if channel_id else None
        if slug is not None:
            if is_indexed(library, slug):
                return slug
            log.warning(
                "channel %s is bound to %r, which is no longer indexed; searching all stories", channel_id, slug
            )
    return None


def log_and_attach(
    bot: NewsroomBot, answer: Answer, origin: AskOrigin, latency_ms: float, replies: list[Reply]
) -> list[Reply]:
    """Log the question (never blocking: the writer thread stores it) and put 👍 / 👎 under an answer's last message."""
    if bot.questions is None or answer.status is AnswerStatus.EMPTY_QUESTION:
        return replies
    question_id = bot.questions.record(
        QuestionRecord.from_answer(
            answer,
            user_id=origin.user_id,
            guild_id=origin.guild_id,
            channel_id=origin.channel_id,
            source=origin.source,
            latency_ms=latency_ms,
        )
    )
    if question_id is None or not answer.shows_quotes or not replies:  # votes on the closest passage too
        return replies
    return [*replies[:-1], replace(replies[-1], view=feedback_view(question_id))]
