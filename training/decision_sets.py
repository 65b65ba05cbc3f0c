"""Which questions the decision fit reads: its training sets and the dev sets its thresholds are set on.

Training sets never include a dev question: QED's held-out draw and the quiz's dev year are dev only, the
cross-encoder's own training folds are left out (training.real_queries), SQuAD's dev article and SQuAD 2.0's
held-out articles are never read, and the reader-style test set (benchmarks/readers) is dev only.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from index.cross_encoder_onnx import OnnxCrossEncoder
from index.embedder import load_encoder
from index.library import Library
from index.ranking import Weights

from .cross_encoder_fit import FIT_V2_ARTICLES, _records, _with_tricks, article_records
from .data import DiskCachedEncoder, read_held_out, read_questions, read_squad, squad_article
from .decision_records import Sample, off_topic_samples, query_samples, reader_set_samples
from .reader_questions import read_reader_set
from .real_pairs import READER_TRAINING_SET, for_cross_encoder
from .real_queries import read_qed, read_quiz, split_qed, split_quiz

QED_FIT_QUERIES = 1500
SQUAD_FIT_ARTICLES = 6
OFF_TOPIC_FIT = 300


@dataclass(frozen=True)
class SetSpec:
    name: str
    build: Callable[[OnnxCrossEncoder, Weights], list[Sample]]


@cache
def _encoder(cache_dir: str) -> DiskCachedEncoder:
    from pathlib import Path

    return DiskCachedEncoder(load_encoder(), Path(cache_dir))


def training_sets(args: argparse.Namespace) -> list[SetSpec]:
    enc = _encoder(str(args.cache))
    qed_train, _ = split_qed(read_qed(args.qed))
    qed_fit = [q for q in qed_train if not q.for_cross_encoder and q.answerable][:QED_FIT_QUERIES]
    quiz_train, _ = split_quiz(read_quiz(args.quiz))
    quiz_fit = [q for q in quiz_train if not q.for_cross_encoder and q.answerable]
    specs = [
        SetSpec("qed-fit", lambda r, w: query_samples(qed_fit, "qed", enc, r, w)),
        SetSpec("quiz-fit", lambda r, w: query_samples(quiz_fit, "quiz", enc, r, w)),
        SetSpec(
            "off-topic-fit",
            lambda r, w: (
                off_topic_samples(qed_fit, quiz_fit, OFF_TOPIC_FIT // 2, "off topic", enc, r, w)
                + off_topic_samples(quiz_fit, qed_fit, OFF_TOPIC_FIT // 2, "off topic", enc, r, w, seed=8)
            ),
        ),
        SetSpec("squad-fit", lambda r, w: _squad_samples(args, enc, r, w)),
    ]
    if (READER_TRAINING_SET / "questions.jsonl").is_file():
        specs.append(SetSpec("reader-training-set", lambda r, w: _reader_set(READER_TRAINING_SET, enc, r, w)))
    return specs


def _reader_set(folder, enc, cross_encoder, weights):  # type: ignore[no-untyped-def]
    written = read_reader_set(folder / "questions.jsonl", [folder / "stories"])
    stories = {slug: story for slug, story in written.stories.items() if not for_cross_encoder(slug)}
    return reader_set_samples(
        [q for q in written.questions if q.story in stories], stories, enc, cross_encoder, weights
    )


def _squad_samples(
    args: argparse.Namespace, enc: DiskCachedEncoder, cross_encoder: OnnxCrossEncoder, weights: Weights
) -> list[Sample]:
    from .fit import DEV_ARTICLE

    raw = read_squad(args.squad, exclude=[DEV_ARTICLE])
    random.Random(7).shuffle(raw)  # the ranker fit's order: its own first articles, never the cross-encoder's
    articles = [squad_article(a) for a in raw[:SQUAD_FIT_ARTICLES]]
    pool = [q.question for a in articles for q in a.questions]
    out = [Sample(r, "squad") for a in articles for r in article_records(a, pool, enc, cross_encoder, weights, 30)]
    v2_raw = [a for a in read_squad(args.squad2) if a["title"] in FIT_V2_ARTICLES]
    for raw_v2 in v2_raw:
        article = _with_tricks(squad_article(raw_v2), raw_v2)
        library = Library.from_stories([article.story], enc, weights, cross_encoder)
        asked = [
            (q.question, q.answers, q.paragraph or 0, "answerable" if q.answers else "trick") for q in article.questions
        ]
        out += [Sample(r, "squad2 tricks") for r in _records(library, asked, weights)]
    enc.save()
    return [s if s.kind != "trick" else Sample(_as(s.record, "unanswered"), s.source) for s in out]


def _as(record, kind):  # type: ignore[no-untyped-def]
    record.kind = kind
    return record


def dev_sets(args: argparse.Namespace) -> list[SetSpec]:
    """The dev sets the thresholds are set on (the benchmark's, asked the same way)."""
    enc = _encoder(str(args.cache))
    _, qed_dev = split_qed(read_qed(args.qed))
    _, quiz_dev = split_quiz(read_quiz(args.quiz))
    quiz_dev = [q for q in quiz_dev if q.answerable]

    def quiz(cross_encoder: OnnxCrossEncoder, weights: Weights) -> list[Sample]:
        library = Library.from_stories([q.story() for q in quiz_dev], enc, weights, cross_encoder)
        asked = [(q.question, list(q.answers), 1, "answerable") for q in quiz_dev]
        return [Sample(r, "dev quiz") for r in _records(library, asked, weights)]

    def squad2(cross_encoder: OnnxCrossEncoder, weights: Weights) -> list[Sample]:
        out: list[Sample] = []
        for article in read_held_out(args.squad2):
            library = Library.from_stories([article.story], enc, weights, cross_encoder)
            asked = [
                (q.question, list(q.answers), _gold(article, q.answers), "answerable" if q.answers else "unanswered")
                for q in article.questions
            ]
            out += [Sample(r, "dev squad2") for r in _records(library, asked, weights)]
        return out

    def notre_dame(cross_encoder: OnnxCrossEncoder, weights: Weights) -> list[Sample]:
        from index.stories import parse_story

        eval_dir = args.squad.parent
        story = parse_story(eval_dir / "university-of-notre-dame.txt")
        questions = read_questions(eval_dir / "university-of-notre-dame.questions.jsonl")
        off = read_questions(eval_dir / "off-topic.questions.jsonl")
        library = Library.from_stories([story], enc, weights, cross_encoder)
        asked = [(q.question, q.answers, q.paragraph or 0, "answerable") for q in questions]
        asked += [(q.question, [], 0, "off_topic") for q in off]
        return [Sample(r, "dev notre dame") for r in _records(library, asked, weights)]

    def readers(cross_encoder: OnnxCrossEncoder, weights: Weights) -> list[Sample]:
        test = read_reader_set()
        return [
            Sample(s.record, "dev reader set")
            for s in reader_set_samples(test.questions, test.stories, enc, cross_encoder, weights)
        ]

    return [
        SetSpec(
            "dev-qed", lambda r, w: [Sample(s.record, "dev qed") for s in query_samples(qed_dev, "dev qed", enc, r, w)]
        ),
        SetSpec("dev-quiz", quiz),
        SetSpec(
            "dev-off-topic",
            lambda r, w: (
                off_topic_samples(qed_dev, quiz_dev, 200, "dev off topic", enc, r, w, seed=18)
                + off_topic_samples(quiz_dev, qed_dev, 200, "dev off topic", enc, r, w, seed=19)
            ),
        ),
        SetSpec("dev-squad2", squad2),
        SetSpec("dev-notre-dame", notre_dame),
        SetSpec("dev-reader-set", readers),
    ]


def _gold(article, answers) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    """The paragraphs (1-based) of a SQuAD 2.0 article that hold one of `answers` (any for a trick question: 0)."""
    if not answers:
        return (0,)
    low = [a.lower() for a in answers if a.strip()]
    return tuple(p.number for p in article.story.paragraphs if any(a in p.text.lower() for a in low)) or (0,)
