"""👍 / 👎 under each answer: buttons whose custom_id carries the question log row, so they outlive a restart.

discord.py's `add_view` needs one registered view per custom_id known at start-up; every answer has its own row id,
so the buttons are `DynamicItem`s instead: one template (`newsroom:vote:up:123`) registered once in setup_hook
(`bot.add_dynamic_items`) answers clicks on any answer ever sent, before or after a restart. (Logging the question
whose answer gets the buttons is bot/asklog.py's.)
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord

from .editorial.questionlog import QuestionLog, UnknownQuestion
from .messages import VOTE_NOT_SAVED, VOTE_TOO_OLD, VOTES_OFF, vote_noted

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
        questions: QuestionLog | None = getattr(interaction.client, "questions", None)  # the bot's question log
        if questions is None or not questions.enabled:
            await interaction.response.send_message(VOTES_OFF, ephemeral=True)
            return
        try:
            tally = await asyncio.wrap_future(questions.vote(self.question_id, interaction.user.id, self.value))
        except UnknownQuestion:
            text = VOTE_TOO_OLD
        except Exception:
            log.exception("storing a vote failed")
            text = VOTE_NOT_SAVED
        else:
            text = vote_noted(VOTES[self.vote][1], tally.up, tally.down)
        await interaction.response.send_message(text, ephemeral=True)


def feedback_view(question_id: int) -> discord.ui.View:
    """The two buttons for one logged answer. timeout=None: the view never expires while the bot runs."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton("up", question_id))
    view.add_item(VoteButton("down", question_id))
    return view
