"""The reader-style question set (benchmarks/readers/): questions as readers type them, and how the engine does.

SQuAD's questions are written by people looking at the paragraph, so they reuse its words; readers don't. This
set is what the engine is really asked: paraphrases, chat spelling, pasted links and Discord markup, questions the
story's subject raises but the story doesn't answer (near_topic), and off-topic ones. It is test data: measure on
it, never fit on it. Each story is asked on its own, as the bot serves one story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from training.reader_questions import (
    QUESTIONS_FILE,
    READERS,
    STORY_FOLDERS,
    Kind,
    ReaderQuestion,
    ReaderSet,
    ReaderSetError,
    read_reader_set,
)

from .story_asker import Asker, Reply, quote_holds_answer

__all__ = [
    "QUESTIONS_FILE",
    "READERS",
    "STORY_FOLDERS",
    "Kind",
    "ReaderQuestion",
    "ReaderScores",
    "ReaderSet",
    "ReaderSetError",
    "ask_reader_set",
    "evaluate_readers",
    "is_right",
    "read_reader_set",
    "score",
]


def is_right(question: ReaderQuestion, reply: Reply) -> bool:
    """Answered with the right quote: from a gold paragraph and holding a gold answer (any case)."""
    return reply.paragraph in question.paragraphs and quote_holds_answer(reply.quote, question.answers)


@dataclass(frozen=True)
class ReaderScores:
    """Shares over one group of questions; None where the group has no question of that kind."""

    answerable: int
    right: float | None  # answerable answered with the right quote
    answered: float | None  # answerable answered at all
    near_topic: int
    near_declined: float | None
    off_topic: int
    off_declined: float | None


def score(pairs: Sequence[tuple[ReaderQuestion, Reply]]) -> ReaderScores:
    on = [(q, r) for q, r in pairs if q.kind == "answerable"]
    near = [r for q, r in pairs if q.kind == "near_topic"]
    off = [r for q, r in pairs if q.kind == "off_topic"]
    return ReaderScores(
        answerable=len(on),
        right=_share([is_right(q, r) for q, r in on]),
        answered=_share([r.quote is not None for _, r in on]),
        near_topic=len(near),
        near_declined=_share([r.quote is None for r in near]),
        off_topic=len(off),
        off_declined=_share([r.quote is None for r in off]),
    )


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def ask_reader_set(reader_set: ReaderSet, ask: Asker) -> list[tuple[ReaderQuestion, Reply]]:
    """Every question with its reply, each story asked on its own."""
    pairs: list[tuple[ReaderQuestion, Reply]] = []
    for slug, story in reader_set.stories.items():
        asked = [q for q in reader_set.questions if q.story == slug]
        pairs.extend(zip(asked, ask(story, [q.question for q in asked]), strict=True))
    return pairs


def evaluate_readers(
    reader_set: ReaderSet, ask: Asker, pairs: list[tuple[ReaderQuestion, Reply]] | None = None
) -> dict[str, ReaderScores]:
    """Scores per story, per style and overall ('all'); `ask` answers one story's questions in order (or the
    replies are given as `pairs`, from `ask_reader_set`)."""
    pairs = ask_reader_set(reader_set, ask) if pairs is None else pairs
    groups: dict[str, list[tuple[ReaderQuestion, Reply]]] = {}
    for q, r in pairs:
        groups.setdefault(q.story, []).append((q, r))
    for q, r in pairs:
        groups.setdefault(f"style: {q.style or 'unlabelled'}", []).append((q, r))
    groups["all"] = pairs
    return {name: score(group) for name, group in groups.items()}
