"""Real questions people wrote without seeing the passage: QED's held-out Google queries and 2026's news quiz.

- **qed**: each of QED's held-out queries (`training.real_queries.split_qed`, never fitted on) asked of the
  one-paragraph story that answers it (answerable: right when the first quote holds a gold answer), and asked of
  the nearest other held-out paragraph that holds none of its answers (on the subject, unanswered).
- **quiz**: the news quiz's dev year (2026), every evidence paragraph a story of one library and every question
  asked of the whole library, no story named, as a reader asks the bot; answerable where the evidence holds the
  answer's text (right when the first quote holds it), the rest left out.
- **off-topic at scale**: one source's questions asked of another source's stories (quiz questions of QED
  paragraphs, QED queries of quiz stories): nothing to quote.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from index.embedder import Encoder
from index.library import Library
from index.models import Story
from training.real_queries import RealQuery, near_topic

from .story_asker import BATCH, Asker, quote_holds_answer, reply_of
from .tiers import Scored

OFF_TOPIC_SAMPLE = 400


def evaluate_qed(held_out: Sequence[RealQuery], ask: Asker, encoder: Encoder) -> list[Scored]:
    """Each answerable held-out query on its own paragraph, and on its nearest other paragraph (unanswered)."""
    queries = [q for q in held_out if q.answerable]
    near = near_topic(queries, encoder)
    asked: dict[int, list[tuple[int, bool]]] = defaultdict(list)  # story (query index) -> (query, own paragraph)
    for i, n in enumerate(near):
        asked[i].append((i, True))
        if n is not None:
            asked[n].append((i, False))
    rows: list[Scored] = []
    for story_index, items in asked.items():
        story = queries[story_index].story()
        replies = ask(story, [queries[i].question for i, _ in items])
        for (i, own), reply in zip(items, replies, strict=True):
            if own:
                rows.append(Scored("answerable", quote_holds_answer(reply.quote, queries[i].answers), reply))
            else:
                rows.append(Scored("unanswered", False, reply))
    return rows


def library_rows(library: Library, queries: Sequence[RealQuery]) -> list[Scored]:
    """Each query asked of the whole library (no story named); right when the first quote holds its answer."""
    rows: list[Scored] = []
    for start in range(0, len(queries), BATCH):
        chunk = queries[start : start + BATCH]
        for q, answer in zip(chunk, library.ask_many([q.question for q in chunk])):
            reply = reply_of(answer)
            rows.append(Scored("answerable", quote_holds_answer(reply.quote, q.answers), reply))
    return rows


def evaluate_quiz(dev: Sequence[RealQuery], library: Library) -> list[Scored]:
    return library_rows(library, [q for q in dev if q.answerable])


def quiz_library(dev: Sequence[RealQuery], encoder: Encoder, **kwargs: object) -> Library:
    stories: list[Story] = [q.story() for q in dev]
    return Library.from_stories(stories, encoder, **kwargs)  # type: ignore[arg-type]


def evaluate_off_topic(qed: Sequence[RealQuery], quiz: Sequence[RealQuery], ask: Asker) -> list[Scored]:
    """Quiz questions asked of QED paragraphs and QED queries asked of quiz stories, one each (seeded)."""
    rng = random.Random(18)
    rows: list[Scored] = []
    for askers, stories in ((quiz, qed), (qed, quiz)):
        for q in rng.sample(list(askers), min(OFF_TOPIC_SAMPLE // 2, len(askers))):
            story = rng.choice(list(stories)).story()
            rows.append(Scored("off_topic", False, ask(story, [q.question])[0]))
    return rows
