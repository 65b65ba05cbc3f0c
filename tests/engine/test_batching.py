"""Micro-batching: concurrent questions share encoder calls, each gets its own row, errors reach everyone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index import Library
from index.batching import QuestionBatcher


class GatedEncoder:
    """Holds its first call until `expected` more questions are queued, so the second batch is predictable."""

    name, dimension = "gated", 8

    def __init__(self, batcher_ref: list[QuestionBatcher], expected: int) -> None:
        self.calls: list[list[str]] = []
        self._ref, self._expected = batcher_ref, expected

    def encode(self, texts, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
        if not self.calls:
            deadline = time.monotonic() + 30
            while len(self._ref[0]._pending) < self._expected and time.monotonic() < deadline:
                time.sleep(0.001)
        self.calls.append(list(texts))
        return np.array([[len(t), *([hash(t) % 97] * 7)] for t in texts], dtype=np.float32)


def test_questions_waiting_together_are_encoded_in_one_call() -> None:
    ref: list[QuestionBatcher] = []
    encoder = GatedEncoder(ref, expected=39)
    batcher = QuestionBatcher(encoder)  # type: ignore[arg-type]
    ref.append(batcher)
    texts = [f"question number {i}" + "?" * i for i in range(40)]
    with ThreadPoolExecutor(max_workers=40) as pool:
        vectors = list(pool.map(batcher.encode, texts))
    assert [v[0] for v in vectors] == [len(t) for t in texts]  # every caller got its own row
    assert len(encoder.calls) == 2 and sorted(len(c) for c in encoder.calls) == [1, 39]
    assert batcher.batches == 2 and batcher.questions == 40


def test_batches_never_exceed_the_limit() -> None:
    ref: list[QuestionBatcher] = []
    encoder = GatedEncoder(ref, expected=20)
    batcher = QuestionBatcher(encoder, max_batch=8)  # type: ignore[arg-type]
    ref.append(batcher)
    with ThreadPoolExecutor(max_workers=21) as pool:
        list(pool.map(batcher.encode, [f"q{i}" for i in range(21)]))
    assert max(len(c) for c in encoder.calls) <= 8 and sum(len(c) for c in encoder.calls) == 21


def test_an_encoder_error_reaches_every_waiting_caller() -> None:
    class Broken:
        name, dimension = "broken", 4

        def encode(self, texts, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
            raise RuntimeError("model crashed")

    batcher = QuestionBatcher(Broken())  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(batcher.encode, f"q{i}") for i in range(8)]
        for future in futures:
            with pytest.raises(RuntimeError, match="model crashed"):
                future.result(timeout=30)
    assert not batcher._busy and not batcher._pending


def test_concurrent_asks_answer_as_sequential_ones_do(library: Library) -> None:
    questions = [
        "How many White Helmets are still trapped in Syria?",
        "How many lives have the White Helmets saved?",
        "Who led the evacuation?",
        "What is the capital of Peru?",
    ] * 6
    alone = {q: library.ask(q) for q in questions}
    fresh = Library(library.data, library.encoder.inner)  # type: ignore[attr-defined]  # empty question cache
    start = threading.Barrier(len(questions))

    def ask(q: str):  # type: ignore[no-untyped-def]
        start.wait()
        return fresh.ask(q)

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        together = list(pool.map(ask, questions))

    def gist(answer):  # type: ignore[no-untyped-def]  # batched fp32 rows differ from lone ones by ~1e-7
        return answer.status, [(q.story, q.paragraph, q.text) for q in answer.quotes], round(answer.confidence, 3)

    assert [gist(a) for a in together] == [gist(alone[q]) for q in questions]


def test_ask_many_answers_as_ask_does_one_by_one(library: Library) -> None:
    slug = library.stories()[0].slug
    questions = [
        "How many White Helmets are still trapped in Syria?",
        "   ",
        "Who led the evacuation?",
        "What is the capital of Peru?",
        "x" * 2000,
        "How many lives have the White Helmets saved?",
    ]
    scopes = [None, None, slug, None, None, slug]
    fresh = Library(library.data, library.encoder.inner)  # type: ignore[attr-defined]  # empty question cache
    together = fresh.ask_many(questions, scopes, top_k=2)
    alone = [library.ask(q, s, top_k=2) for q, s in zip(questions, scopes)]

    def gist(answer):  # type: ignore[no-untyped-def]  # batched fp32 rows differ from lone ones by ~1e-7
        quotes = [(q.story, q.paragraph, q.text) for q in answer.quotes]
        return answer.question, answer.status, answer.story, answer.message, quotes, round(answer.confidence, 3)

    assert [gist(a) for a in together] == [gist(a) for a in alone]
    assert {a.status.value for a in together} >= {"answered", "empty_question", "question_too_long"}
    assert fresh._batcher.batches == 1 and fresh._batcher.questions == 4  # one encode for the four real questions


def test_ask_many_checks_its_arguments(library: Library) -> None:
    assert library.ask_many([]) == []
    with pytest.raises(ValueError, match="2 questions but 1 stories"):
        library.ask_many(["a?", "b?"], [None])
    with pytest.raises(KeyError, match="no story 'nope'"):
        library.ask_many(["a?"], ["nope"])
