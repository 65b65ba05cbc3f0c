"""Asking the engine about one story at a time, as the bot serves a story: the reader set and SQuAD 2.0 share it.

A benchmark gets back only what a reader sees first (the first quote and its paragraph, or silence), so each
data set scores it by its own rule. Only a confident answer counts as a quote here: a CLOSEST reply (the closest
passage under a hedge) scores as silence, as a decline did before the closest tier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.cross_encoder_onnx import OnnxCrossEncoder
from index.embedder import Encoder
from index.library import Library
from index.models import Answer, AnswerStatus, Story
from index.ranking import Weights


@dataclass(frozen=True)
class Reply:
    """What the engine said: the first quote and its paragraph, or nothing (declined); whether it said so with
    confidence (the answered tier, not the closest passage under a hedge) and the confidence itself."""

    quote: str | None = None
    paragraph: int | None = None
    confident: bool = False
    confidence: float = 0.0


def reply_of(answer: Answer) -> Reply:
    """The benchmark's view of an answer: its first quote, tier and confidence."""
    if not answer.quotes:
        return Reply(confidence=answer.confidence)
    first = answer.quotes[0]
    return Reply(first.text, first.paragraph, answer.status is AnswerStatus.ANSWERED, answer.confidence)


Asker = Callable[[Story, Sequence[str]], list[Reply]]
BATCH = 32  # questions per ask_many: the CLI's chunk (bot.cli.batch.CHUNK); the bot's batches are at most 64


def quote_holds_answer(quote: str | None, answers: Sequence[str]) -> bool:
    """The quote contains one of the gold answers (any case; blank gold never matches, silence is a miss)."""
    return quote is not None and any(a.strip() and a.strip().lower() in quote.lower() for a in answers)


def engine_asker(
    encoder: Encoder, weights: Weights | None = None, cross_encoder: OnnxCrossEncoder | None = None
) -> Asker:
    """The engine on a library of this one story, asked in batches of BATCH (`ask_many`, as the bot and the CLI).

    Not a whole article at once: with the cross-encoder, one `ask_many` reads every question's candidate pairs in one
    session call, and 418 questions took 13 GB (killed by the OOM killer on 2026-11-30)."""

    def ask(story: Story, questions: Sequence[str]) -> list[Reply]:
        library = Library.from_stories([story], encoder, weights, cross_encoder)
        answers = [a for i in range(0, len(questions), BATCH) for a in library.ask_many(list(questions[i : i + BATCH]))]
        return [reply_of(a) for a in answers]

    return ask
