"""Questions people wrote without seeing the passage: Google queries (QED) and editors' news-quiz questions.

SQuAD's crowdworkers wrote their questions looking at the paragraph, so they reuse its words; readers don't. Two
sets of real questions train and measure the engine on what readers are like (files in `../shared/eval/` on the
development machines; a fresh clone passes its own copies):

- `qed-train.jsonl.gz`: Google queries from Natural Questions with the Wikipedia paragraph that answers each
  (QED, Lamm et al. 2021; CC BY-SA 3.0). `QED_HELD_OUT` of them, drawn by a fixed seed, are a dev set no fit reads.
- `news-quiz-other-years.jsonl.gz`: weekly news-quiz questions by CNN, The Week and USA Today editors
  (RealTimeQA) with the evidence paragraph of the story; 2026's are the dev set, the other years train. The texts
  belong to their publishers: train on them, never ship them.

Neither has questions its paragraph does not answer, so `near_topic` pairs each query with the nearest other
paragraph that holds none of its answers: on the subject, not the answer, the reply that must not sound sure.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Encoder, Story

from .data import story_from_paragraphs

EVAL = Path("../shared/eval")
QED_FILE = EVAL / "qed-train.jsonl.gz"
QUIZ_FILE = EVAL / "news-quiz-other-years.jsonl.gz"
QED_HELD_OUT = 1000
QED_SEED = 18
QUIZ_DEV_YEAR = "2026"
# Training queries are split by a hash of their id: the cross-encoder trains on folds below CROSS_ENCODER_FOLDS,
# the decision (whether to answer) is fitted on the rest, so it sees the cross-encoder's scores on queries it
# never trained on.
FOLDS = 10
CROSS_ENCODER_FOLDS = 6


@dataclass(frozen=True)
class RealQuery:
    """One real question with the paragraph it was asked of and its gold answers (texts a right quote holds)."""

    id: str
    question: str
    paragraph: str
    answers: tuple[str, ...]
    title: str = ""
    source: str = ""

    @property
    def fold(self) -> int:
        """A fixed fold (0..FOLDS-1) by the id's hash, the same on every machine."""
        return int(hashlib.sha1(self.id.encode()).hexdigest(), 16) % FOLDS

    @property
    def for_cross_encoder(self) -> bool:
        return self.fold < CROSS_ENCODER_FOLDS

    @property
    def answerable(self) -> bool:
        """Whether the paragraph holds a gold answer as text (only then can a quote be scored right)."""
        low = self.paragraph.lower()
        return any(a.strip() and a.strip().lower() in low for a in self.answers)

    def story(self, paragraph: str | None = None) -> Story:
        """The paragraph (or another one) as a one-paragraph story, split by the engine's own parser."""
        text = self.paragraph if paragraph is None else paragraph
        slug = re.sub(r"[^a-z0-9]+", "-", f"{self.source}-{self.id}".lower()).strip("-")[:80] or "query"
        return story_from_paragraphs(slug, [text], source=self.source or "Wikipedia")


def _lines(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _usable_only(queries: list[RealQuery]) -> list[RealQuery]:
    """The queries whose paragraph the story parser reads as one: not empty, not a `# Heading` (a title to it).
    Dropped after the split, so the held-out draw is the same whatever is dropped."""
    return [q for q in queries if q.paragraph.strip() and not q.paragraph.lstrip().startswith("#")]


def read_qed(path: Path = QED_FILE) -> list[RealQuery]:
    rows = _lines(path)
    queries = [
        RealQuery(
            id=str(r["id"]),
            question=str(r["question"]),
            paragraph=str(r["paragraph"]),
            answers=tuple(str(a) for a in r["answers"]),  # type: ignore[attr-defined]
            title=str(r.get("title", "")),
            source="Wikipedia",
        )
        for r in rows
    ]
    return queries


def split_qed(queries: Sequence[RealQuery], held_out: int = QED_HELD_OUT) -> tuple[list[RealQuery], list[RealQuery]]:
    """(training, held-out dev): a fixed seeded draw, the same on every machine and in every fit."""
    order = sorted(queries, key=lambda q: q.id)
    random.Random(QED_SEED).shuffle(order)
    return _usable_only(order[held_out:]), _usable_only(order[:held_out])


def read_quiz(path: Path = QUIZ_FILE) -> list[RealQuery]:
    """Every quiz question with its evidence paragraph; `answerable` says whether the evidence holds the answer."""
    rows = _lines(path)
    queries = [
        RealQuery(
            id=str(r["id"]),
            question=str(r["question"]),
            paragraph=" ".join(str(r["evidence"]).split()),
            answers=tuple(str(a) for a in r["answer_text"]),  # type: ignore[attr-defined]
            title=str(r.get("date", "")),
            source=str(r.get("source", "")),
        )
        for r in rows
    ]
    return queries


def split_quiz(queries: Sequence[RealQuery], dev_year: str = QUIZ_DEV_YEAR) -> tuple[list[RealQuery], list[RealQuery]]:
    """(training: every other year, dev: `dev_year`); the quiz's ids start with the date (YYYYMMDD_n)."""
    train = [q for q in queries if not q.id.startswith(dev_year)]
    return _usable_only(train), _usable_only([q for q in queries if q.id.startswith(dev_year)])


def near_topic(queries: Sequence[RealQuery], encoder: Encoder, *, skip: int = 0) -> list[int | None]:
    """For each query, the index of the nearest other query's paragraph (by embedding, question to paragraph)
    that holds none of its answers and is not its own text: on the subject, without the answer. `skip` passes over
    that many qualifying neighbours first (a second, farther negative). None when no paragraph qualifies."""
    paragraphs = list(dict.fromkeys(q.paragraph for q in queries))
    where = {p: i for i, p in enumerate(paragraphs)}
    vectors = encoder.encode(paragraphs)
    questions = encoder.encode([q.question for q in queries])
    save = getattr(encoder, "save", None)
    if save is not None:
        save()  # minutes of embedding on 2 cores: keep them even if a later step fails
    owner = [[] for _ in paragraphs]  # type: list[list[int]]
    for i, q in enumerate(queries):
        owner[where[q.paragraph]].append(i)
    out: list[int | None] = []
    for i, q in enumerate(queries):
        scores = vectors @ questions[i]
        scores[where[q.paragraph]] = -np.inf
        found: int | None = None
        passed = 0
        for row in np.argsort(-scores)[:50]:
            text = paragraphs[int(row)].lower()
            if any(a.strip() and a.strip().lower() in text for a in q.answers):
                continue
            if passed < skip:
                passed += 1
                continue
            found = owner[int(row)][0]
            break
        out.append(found)
    return out
