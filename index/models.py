"""The engine's public data shapes: what a story is, and what `ask` and `summary` return.

Everything the bot or the CLI shows comes from these models, so they carry every fact a reader needs to check
a quote: the exact text, the story, the paragraph number, the link and the sources.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import Enum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field


def paragraph_hash(text: str) -> str:
    """A short fingerprint of a paragraph's text, so a logged quote ref stays checkable after the story is edited."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Sentence(NamedTuple):
    """A sentence, located by character offsets inside its paragraph's text.

    A named tuple, not a model: a library holds one per sentence, and a tuple costs a fifth of a model's memory
    (about 120 bytes against 550). Stored as `[start, end]`; `{"start", "end"}` is read too.
    """

    start: int
    end: int


class Paragraph(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int = Field(description="1-based position in reading order")
    text: str
    sentences: tuple[Sentence, ...]
    line: int = Field(default=1, description="line of the story file where the paragraph starts")

    @property
    def content_hash(self) -> str:
        return paragraph_hash(self.text)

    def sentence_text(self, index: int) -> str:
        s = self.sentences[index]
        return self.text[s.start : s.end]

    def span_text(self, first: int, last: int) -> str:
        """Text from sentence `first` to sentence `last` inclusive, verbatim (inner spacing kept)."""
        return self.text[self.sentences[first].start : self.sentences[last].end]


class Story(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str
    title: str
    byline: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = Field(default=None, description="front matter `updated:`, when the editor gives one")
    url: str | None = None
    sources: tuple[str, ...] = ()
    paragraphs: tuple[Paragraph, ...]
    file: str = Field(description="file name inside the content folder")
    content_hash: str

    @property
    def text_hash(self) -> str:
        """A fingerprint of what readers see (title and paragraphs), blind to front-matter-only edits."""
        return paragraph_hash("\0".join([self.title, *(p.text for p in self.paragraphs)]))


class StoryInfo(BaseModel):
    """What `stories` lists: enough to pick a story, without its text."""

    slug: str
    title: str
    byline: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = Field(
        default=None, description="when the text last changed: front matter `updated:`, else as seen by the build"
    )
    url: str | None = None
    sources: list[str]
    paragraphs: int
    indexed_at: dt.datetime


class Quote(BaseModel):
    """A passage copied character for character from a story, with everything needed to check it."""

    text: str
    story: str = Field(description="story slug")
    title: str
    paragraph: int
    paragraph_hash: str | None = Field(default=None, description="`paragraph_hash` of the quoted paragraph's text")
    sources: list[str]
    url: str | None = None
    score: float = Field(description="how sure the engine is that this passage answers (0..1)")
    updated: dt.date | None = Field(default=None, description="set when the story changed after its publication date")


class AnswerStatus(str, Enum):
    """What the engine concluded. Three outcomes for a real question, by the confidence against two thresholds
    (`Weights.answer_threshold`, `Weights.closest_threshold`): ANSWERED (the quotes answer it), CLOSEST (the story
    may not answer it directly: the closest passage, quoted and attributed exactly as an answer, under a hedge),
    NOT_COVERED (nothing close enough to show). The other two refuse a question the engine cannot take."""

    ANSWERED = "answered"
    CLOSEST = "closest"
    NOT_COVERED = "not_covered"
    EMPTY_QUESTION = "empty_question"
    QUESTION_TOO_LONG = "question_too_long"


class Answer(BaseModel):
    question: str
    status: AnswerStatus
    quotes: list[Quote] = Field(default_factory=list)
    story: str | None = Field(default=None, description="the story the question was scoped to, if any")
    message: str = Field(description="one line for people: what the engine found or why it is silent")
    confidence: float = 0.0

    @property
    def answered(self) -> bool:
        """A confident answer (ANSWERED) only; a CLOSEST reply also shows quotes, see `shows_quotes`."""
        return self.status is AnswerStatus.ANSWERED

    @property
    def shows_quotes(self) -> bool:
        """Whether the reply shows quotes: a confident answer or the closest passage under a hedge."""
        return self.status in (AnswerStatus.ANSWERED, AnswerStatus.CLOSEST)


class Summary(BaseModel):
    story: str
    title: str
    url: str | None = None
    sources: list[str]
    quotes: list[Quote] = Field(description="verbatim sentences in story order")
