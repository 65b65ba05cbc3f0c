"""Question–sentence pairs for the cross-encoder from questions people wrote without seeing the passage.

SQuAD's pairs (training.cross_encoder_data) teach which sentence holds a span the question's words point at. Readers ask
in their own words and ask what the story leaves open, so the cross-encoder also learns from:

- real queries (training.real_queries: Google queries, news-quiz questions): the positive is the sentence of the
  paragraph that holds a gold answer; negatives are another sentence of that paragraph (which sentence answers)
  and the best-matching sentences of the nearest paragraph that holds no answer (on the subject, not the answer:
  what the decision to answer must learn to tell apart);
- the reader-style training set (`training/readers/`, written like readers write): answerable questions against
  their story's sentences; near-topic questions, whose best-matching sentences are all negatives; off-topic ones.

A share of every set's questions is rewritten by `training.variants` (case, punctuation, greetings, fillers,
emoji, tags, typos), so the model scores a question and its trivial variants alike.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index import Encoder, Story

from .cross_encoder_data import Pair, holds
from .data import DiskCachedEncoder
from .reader_questions import read_reader_set
from .real_queries import RealQuery, near_topic, read_qed, read_quiz, split_qed, split_quiz
from .variants import variant

READER_TRAINING_SET = Path(__file__).resolve().parent / "readers"


def for_cross_encoder(slug: str) -> bool:
    """Whether a reader-style training story trains the cross-encoder (about 60% of them, by a hash of the slug) or
    is left to the decision fit, which must see the cross-encoder's scores on questions it never trained on."""
    return int(hashlib.sha1(slug.encode()).hexdigest(), 16) % 10 < 6


class LabelledQuestion(Protocol):
    """A reader-style question line (`benchmarks.reader_set.ReaderQuestion` has this shape)."""

    @property
    def question(self) -> str: ...
    @property
    def story(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def paragraphs(self) -> tuple[int, ...]: ...
    @property
    def answers(self) -> tuple[str, ...]: ...


def _sentences(story: Story) -> list[str]:
    return [p.sentence_text(i) for p in story.paragraphs for i in range(len(p.sentences))]


def _best(question_vector: np.ndarray | None, vectors: np.ndarray | None, allowed: list[int], k: int) -> list[int]:
    """The `k` allowed rows nearest the question (or the first `k` when there are no vectors)."""
    if vectors is None or question_vector is None or not allowed:
        return allowed[:k]
    scores = vectors[allowed] @ question_vector
    return [allowed[int(i)] for i in np.argsort(-scores)[:k]]


def query_pairs(
    queries: Sequence[RealQuery],
    near: Sequence[int | None],
    encoder: Encoder | None,
    rng: random.Random,
    *,
    near_negatives: int = 2,
) -> list[Pair]:
    """Pairs for every query whose paragraph holds an answer in one sentence (see the module docstring)."""
    split = {q.paragraph: _sentences(q.story()) for q in queries}
    texts = sorted({s for sentences in split.values() for s in sentences})
    vectors = dict(zip(texts, encoder.encode(texts))) if encoder is not None else {}
    qvecs = encoder.encode([q.question for q in queries]) if encoder is not None else [None] * len(queries)
    pairs: list[Pair] = []
    for q, neighbour, qv in zip(queries, near, qvecs):
        sentences = split[q.paragraph]
        gold = [i for i, s in enumerate(sentences) if holds(s, q.answers)]
        if not gold:
            continue
        pairs.append(Pair(q.question, sentences[gold[0]], 1.0))
        others = [i for i in range(len(sentences)) if i not in gold]
        if others:
            pairs.append(Pair(q.question, sentences[rng.choice(others)], 0.0))
        if neighbour is not None:
            far = split[queries[neighbour].paragraph]
            matrix = np.stack([vectors[s] for s in far]) if vectors else None
            for row in _best(qv, matrix, list(range(len(far))), near_negatives):
                pairs.append(Pair(q.question, far[row], 0.0))
    return pairs


def reader_set_pairs(
    questions: Sequence[LabelledQuestion], stories: dict[str, Story], encoder: Encoder | None, rng: random.Random
) -> list[Pair]:
    """Pairs from the reader-style training set (`benchmarks.reader_set.ReaderQuestion` lines)."""
    pairs: list[Pair] = []
    split = {slug: _sentences(story) for slug, story in stories.items()}
    paragraph_of = {slug: [p.number for p in story.paragraphs for _ in p.sentences] for slug, story in stories.items()}
    vectors = {slug: encoder.encode(s) for slug, s in split.items()} if encoder is not None else {}
    asked = list(questions)
    qvecs = encoder.encode([q.question for q in asked]) if encoder is not None else [None] * len(asked)
    for q, qv in zip(asked, qvecs):
        sentences, numbers = split[q.story], paragraph_of[q.story]
        matrix = vectors.get(q.story)
        if q.kind == "answerable":
            gold = [i for i, s in enumerate(sentences) if numbers[i] in q.paragraphs and holds(s, q.answers)]
            free = [i for i, s in enumerate(sentences) if not holds(s, q.answers)]
            pairs += [Pair(q.question, sentences[i], 1.0) for i in gold[:2]]
            pairs += [Pair(q.question, sentences[i], 0.0) for i in _best(qv, matrix, free, 2)]
            if free:
                pairs.append(Pair(q.question, sentences[rng.choice(free)], 0.0))
        else:
            every = list(range(len(sentences)))
            pairs += [Pair(q.question, sentences[i], 0.0) for i in _best(qv, matrix, every, 3)]
    return pairs


def with_variants(pairs: list[Pair], share: float, rng: random.Random) -> list[Pair]:
    """`share` of the questions get a trivial variant as well: the variant's pairs are added beside the original's,
    with the same labels, so both are trained to score alike."""
    if share <= 0:
        return pairs
    rewritten = {q: variant(q, rng)[0] for q in sorted({p.question for p in pairs}) if rng.random() < share}
    return pairs + [Pair(rewritten[p.question], p.sentence, p.label) for p in pairs if p.question in rewritten]


def real_query_pairs(args: argparse.Namespace, encoder: DiskCachedEncoder | None, rng: random.Random) -> list[Pair]:
    """Pairs from Google queries (QED), news-quiz questions and the reader-style training set (training.real_pairs);
    their dev parts (QED's held-out draw, the quiz's dev year) are never read."""
    pairs: list[Pair] = []
    for path, reader, split, cap in (
        (args.qed, read_qed, split_qed, args.qed_questions),
        (args.quiz, read_quiz, split_quiz, args.quiz_questions),
    ):
        if path is None:
            continue
        train = [q for q in split(reader(path))[0] if q.answerable and q.for_cross_encoder]
        rng.shuffle(train)
        train = train[:cap] if cap else train
        near = near_topic(train, encoder) if encoder is not None else [None] * len(train)
        found = query_pairs(train, near, encoder, rng)
        print(f"{path.name}: {len(train)} questions, {len(found)} pairs", file=sys.stderr)
        pairs += found
        if encoder is not None:
            encoder.save()
    if args.reader_set and (READER_TRAINING_SET / "questions.jsonl").is_file():
        written = read_reader_set(READER_TRAINING_SET / "questions.jsonl", [READER_TRAINING_SET / "stories"])
        stories = {slug: story for slug, story in written.stories.items() if for_cross_encoder(slug)}
        found = reader_set_pairs([q for q in written.questions if q.story in stories], stories, encoder, rng)
        print(f"reader-style training set: {len(written.questions)} questions, {len(found)} pairs", file=sys.stderr)
        pairs += found * args.reader_set
    return pairs
