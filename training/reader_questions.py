"""Reader-style question files: questions written the way readers ask them, with their stories and gold.

Two such sets exist: the test set in `benchmarks/readers/` (measured on, never trained on: `benchmarks.reader_set`
scores it) and the training set in `training/readers/`. Both have the same line format (see
benchmarks/readers/README.md) and are read and gold-checked here, so a typo in the gold can't pass as an engine
miss and neither set's loader is written twice.
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

READERS = Path(__file__).resolve().parent.parent / "benchmarks" / "readers"
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
