"""The story section's systems: the engine as the bot calls it beside plain dense-only and BM25-only retrieval,
each asked every question of one story (`benchmarks.quality --sections story`).

The baselines abstain at an oracle threshold: the cut-off that answers exactly 95% of this run's on-topic
questions, the best a fixed cut-off could do here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.cross_encoder_onnx import OnnxCrossEncoder
from index.embedder import Encoder
from index.library import Library
from index.ranking import Weights
from index.stories import parse_story
from training.data import Question

from .story_asker import quote_holds_answer

ANSWER_RATE_FOR_BASELINES = 0.95


@dataclass
class Prediction:
    """What a system says about one question: paragraph numbers best first, its first quote, or silence."""

    paragraphs: list[int]
    quote: str | None
    score: float = 0.0  # what a baseline's abstention threshold is applied to


@dataclass
class Metrics:
    top1: float
    top3: float
    first_quote: float
    answered: float
    abstained: float
    p50_ms: float


System = Callable[[str], Prediction]


def evaluate(system: System, questions: Sequence[Question], off_topic: Sequence[Question]) -> Metrics:
    """Ask every question once and score the predictions (see the module docstring for the definitions)."""
    on = [_timed(system, q.question) for q in questions]
    off = [_timed(system, q.question) for q in off_topic]
    n = max(len(questions), 1)
    return Metrics(
        top1=sum(bool(p.paragraphs) and p.paragraphs[0] == q.paragraph for (p, _), q in zip(on, questions)) / n,
        top3=sum(q.paragraph in p.paragraphs[:3] for (p, _), q in zip(on, questions)) / n,
        first_quote=sum(quote_holds_answer(p.quote, q.answers) for (p, _), q in zip(on, questions)) / n,
        answered=sum(p.quote is not None for p, _ in on) / n,
        abstained=sum(p.quote is None for p, _ in off) / max(len(off), 1),
        p50_ms=statistics.median([t for _, t in on + off]) * 1000 if on or off else 0.0,
    )


def _timed(system: System, question: str) -> tuple[Prediction, float]:
    start = time.perf_counter()
    prediction = system(question)
    return prediction, time.perf_counter() - start


def engine_system(library: Library) -> System:
    """The project's engine exactly as the bot calls it, plus its paragraph ranking for top-k."""

    def ask(question: str) -> Prediction:
        answer = library.ask(question)  # a quote shown counts, answered or the closest passage under a hedge
        return Prediction(library.paragraph_ranking(question), answer.quotes[0].text if answer.quotes else None)

    return ask


def single_signal_system(library: Library, encoder: Encoder, kind: str) -> System:
    """Plain dense-only or BM25-only: rank paragraphs by one score, quote the top paragraph's best sentence by it.

    Sentence-level scores are the same kind (sentence cosine, or BM25 over sentences). The score returned
    for abstention is the top paragraph's raw score (cosine, or BM25).
    """
    story = library.data.stories[0]
    numbers = [p.number for p in story.paragraphs]
    spans = [library.rows.para_sentences[row] for row in range(len(numbers))]
    bm25_p, bm25_s = library.data.paragraph_bm25, library.data.sentence_bm25

    def ask(question: str) -> Prediction:
        if kind == "dense":
            vector = encoder.encode([question])[0]
            para = library.scorer.paragraph_vectors[: len(numbers)] @ vector
            sent = library.scorer.sentence_vectors[:] @ vector
        else:
            para = bm25_p.scores(bm25_p.query_terms(question)[0])
            sent = bm25_s.scores(bm25_s.query_terms(question)[0])
        order = np.argsort(-para, kind="stable")
        top = int(order[0])
        rows = spans[top]
        best = int(np.argmax(sent[rows.start : rows.stop]))
        quote = story.paragraphs[top].sentence_text(best)
        return Prediction([numbers[i] for i in order], quote, float(para[top]))

    return ask


def with_threshold(system: System, threshold: float) -> System:
    def ask(question: str) -> Prediction:
        p = system(question)
        return p if p.score >= threshold else Prediction(p.paragraphs, None, p.score)

    return ask


def oracle_threshold(system: System, questions: Sequence[Question], rate: float = ANSWER_RATE_FOR_BASELINES) -> float:
    """The score cut-off that answers `rate` of these on-topic questions."""
    scores = np.array([system(q.question).score for q in questions])
    return float(np.quantile(scores, 1 - rate)) if len(scores) else 0.0


def run(
    story_file: Path,
    questions: list[Question],
    off_topic: list[Question],
    encoder: Encoder,
    weights: Weights | None = None,
    plain_encoder: Encoder | None = None,
    cross_encoder: OnnxCrossEncoder | None = None,
) -> dict[str, Metrics]:
    """The engine, then dense-only and BM25-only on the engine's encoder; with `plain_encoder` (the model without
    its adapter) also dense-only on that, the plain baseline the issue's figures were measured with."""
    story = parse_story(story_file)
    library = Library.from_stories([story], encoder, weights, cross_encoder)
    results = {"engine": evaluate(engine_system(library), questions, off_topic)}
    baselines = [("dense-only", library, encoder, "dense"), ("bm25-only", library, encoder, "bm25")]
    if plain_encoder is not None:
        plain_library = Library.from_stories([story], plain_encoder, weights)
        baselines.insert(1, ("dense-plain", plain_library, plain_encoder, "dense"))
    for name, lib, enc, kind in baselines:
        plain = single_signal_system(lib, enc, kind)
        results[name] = evaluate(with_threshold(plain, oracle_threshold(plain, questions)), questions, off_topic)
    return results
