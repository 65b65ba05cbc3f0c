"""Logging what was asked, from every ask path: who asked where (`AskOrigin`), and the question log's row for each
answer, with 👍 / 👎 (bot/feedback.py) put under the answer's last message."""

from __future__ import annotations

from dataclasses import dataclass, replace

import discord

from index import Answer, AnswerStatus

from .editorial.questionlog import QuestionLog, QuestionRecord
from .feedback import feedback_view
from .render import Reply


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


def log_and_attach(
    questions: QuestionLog | None, answer: Answer, origin: AskOrigin, latency_ms: float, replies: list[Reply]
) -> list[Reply]:
    """Log the question (never blocking: the writer thread stores it) and put 👍 / 👎 under an answer's last message."""
    if questions is None or answer.status is AnswerStatus.EMPTY_QUESTION:
        return replies
    question_id = questions.record(
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
