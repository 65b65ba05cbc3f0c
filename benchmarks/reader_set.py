"""The reader-style question set (benchmarks/readers/): questions as readers type them, and how the engine does.

SQuAD's questions are written by people looking at the paragraph, so they reuse its words; readers don't. This
set is what the engine is really asked: paraphrases, chat spelling, pasted links and Discord markup, questions the
story's subject raises but the story doesn't answer (near_topic), and off-topic ones. It is test data: measure on
it, never fit on it. Each story is asked on its own, as the bot serves one story.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from index.models import Story
from index.stories import load_stories

from .story_asker import Asker, Reply, quote_holds_answer

READERS = Path(__file__).resolve().parent / "readers"
QUESTIONS_FILE = READERS / "questions.jsonl"
# The shipped story lives in content/; the test stories beside the questions (never shipped).
STORY_FOLDERS = (READERS / "stories", READERS.parent.parent / "content")

Kind = Literal["answerable", "near_topic", "off_topic"]


class ReaderQuestion(BaseModel):
    """One line of questions.jsonl; answerable questions carry their gold, the others must not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1)
    story: str = Field(min_length=1, description="the slug of the story it is asked about")
    kind: Kind
    paragraphs: tuple[int, ...] = Field(default=(), description="gold paragraph numbers, 1-based")
    answers: tuple[str, ...] = Field(default=(), description="gold texts a right quote contains")
    style: str = Field(default="", description="story-words | paraphrase | chat | markup | plain")

    @model_validator(mode="after")
    def _gold_fits_kind(self) -> ReaderQuestion:
        if self.kind == "answerable" and not (self.paragraphs and any(a.strip() for a in self.answers)):
            raise ValueError("an answerable question needs gold 'paragraphs' and 'answers'")
        if self.kind != "answerable" and (self.paragraphs or self.answers):
            raise ValueError(f"a {self.kind} question has no gold: drop 'paragraphs' and 'answers'")
        return self


class ReaderSetError(ValueError):
    """A question line that cannot be used, named by file and line so it can be fixed."""


@dataclass(frozen=True)
class ReaderSet:
    questions: list[ReaderQuestion]
    stories: dict[str, Story]  # by slug, only the stories some question is asked on


def read_reader_set(path: Path = QUESTIONS_FILE, story_folders: Sequence[Path] = STORY_FOLDERS) -> ReaderSet:
    """Questions and their stories, checked line by line: known story, paragraphs that exist, and every gold
    answer a verbatim piece (any case) of a gold paragraph, so a typo in the gold can't pass as an engine miss."""
    stories: dict[str, Story] = {}
    for folder in story_folders:
        loaded = load_stories(folder)
        if loaded.errors:
            raise ReaderSetError(str(loaded.errors[0]))
        stories.update((s.slug, s) for s in loaded.stories)
    questions: list[ReaderQuestion] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            question = ReaderQuestion.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
            reason = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
            raise ReaderSetError(f"{path}:{number}: not a reader question line ({reason})") from exc
        problem = _gold_problem(question, stories)
        if problem:
            raise ReaderSetError(f"{path}:{number}: {problem}")
        questions.append(question)
    used = {q.story for q in questions}
    return ReaderSet(questions, {slug: story for slug, story in stories.items() if slug in used})


def _gold_problem(question: ReaderQuestion, stories: dict[str, Story]) -> str | None:
    story = stories.get(question.story)
    if story is None:
        return f"no story {question.story!r} in the story folders (known: {', '.join(sorted(stories))})"
    count = len(story.paragraphs)
    if any(not 1 <= n <= count for n in question.paragraphs):
        return f"paragraphs {list(question.paragraphs)} outside 1..{count} of {question.story}"
    texts = [story.paragraphs[n - 1].text.lower() for n in question.paragraphs]
    for answer in question.answers:
        if answer.strip() and not any(answer.strip().lower() in text for text in texts):
            return f"answer {answer!r} is in none of the gold paragraphs {list(question.paragraphs)}"
    return None


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


def evaluate_readers(reader_set: ReaderSet, ask: Asker) -> dict[str, ReaderScores]:
    """Scores per story, per style and overall ('all'); `ask` answers one story's questions in order."""
    pairs: list[tuple[ReaderQuestion, Reply]] = []
    for slug, story in reader_set.stories.items():
        asked = [q for q in reader_set.questions if q.story == slug]
        pairs.extend(zip(asked, ask(story, [q.question for q in asked]), strict=True))
    groups: dict[str, list[tuple[ReaderQuestion, Reply]]] = {}
    for q, r in pairs:
        groups.setdefault(q.story, []).append((q, r))
    for q, r in pairs:
        groups.setdefault(f"style: {q.style or 'unlabelled'}", []).append((q, r))
    groups["all"] = pairs
    return {name: score(group) for name, group in groups.items()}
