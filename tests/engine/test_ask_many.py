"""Many questions at once: `ask_many` (the bot's ask queue's one path) and `ask` from many threads agree with
questions asked one by one."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index import Answer, EncoderWrapper, Library


class CountingEncoder(EncoderWrapper):
    """The real encoder, recording each call's texts."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        super().__init__(inner)
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


def gist(answer: Answer) -> tuple[object, ...]:
    """What must agree; batched fp32 rows differ from lone ones by ~1e-7, so the confidence is rounded."""
    quotes = [(q.story, q.paragraph, q.text) for q in answer.quotes]
    return answer.question, answer.status, answer.story, answer.message, quotes, round(answer.confidence, 3)


def test_concurrent_asks_answer_as_sequential_ones_do(library: Library) -> None:
    questions = [
        "How many White Helmets are still trapped in Syria?",
        "How many lives have the White Helmets saved?",
        "Who led the evacuation?",
        "What is the capital of Peru?",
    ] * 6
    alone = {q: library.ask(q) for q in questions}
    fresh = Library(library.data, library.encoder)  # an empty question cache, shared by every thread
    start = threading.Barrier(len(questions))

    def ask(q: str) -> Answer:
        start.wait()
        return fresh.ask(q)

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        together = list(pool.map(ask, questions))
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
    counting = CountingEncoder(library.encoder)
    together = Library(library.data, counting).ask_many(questions, scopes, top_k=2)
    alone = [library.ask(q, s, top_k=2) for q, s in zip(questions, scopes)]
    assert [gist(a) for a in together] == [gist(a) for a in alone]
    statuses = {a.status.value for a in together}
    assert statuses >= {"empty_question", "question_too_long"} and statuses & {"answered", "closest"}
    assert [len(call) for call in counting.calls] == [4]  # one encode for the four real questions


def test_ask_many_checks_its_arguments(library: Library) -> None:
    assert library.ask_many([]) == []
    with pytest.raises(ValueError, match="2 questions but 1 stories"):
        library.ask_many(["a?", "b?"], [None])
    with pytest.raises(KeyError, match="no story 'nope'"):
        library.ask_many(["a?"], ["nope"])


def test_the_library_encoder_is_the_model_not_the_question_cache(library: Library) -> None:
    """Callers that embed other texts (the editors' report) use `library.encoder` and leave readers' cache alone."""
    counting = CountingEncoder(library.encoder)
    fresh = Library(library.data, counting)
    assert fresh.encoder is counting
    fresh.ask("Who led the evacuation?")
    fresh.ask("Who led the evacuation?")
    assert len(counting.calls) == 1  # the second ask came from the question cache
    fresh.encoder.encode(["Who led the evacuation?"])
    assert len(counting.calls) == 2


def test_with_the_int8_export_ask_many_gives_asks_answers_byte_for_byte(tmp_path, content_copy) -> None:  # type: ignore[no-untyped-def]
    """The shipped int8 export scales each token on its own (index.int8_graph): a question's vector, and so its
    whole answer, confidence included, is the same asked beside others (the bot's ask queue) or alone."""
    from index import EngineOptions, build_index

    build_index(content_copy, tmp_path / "index", EngineOptions(quantization="int8"))
    served = Library.load(tmp_path / "index")
    assert served.encoder.batch_invariant
    questions = [
        *(f"How many White Helmets were trapped in Syria in week {n}?" for n in range(20)),
        "How many White Helmets are still trapped in Syria?",
        "hey bot how many White Helmets r still trapped in Syria?? 🙏",
        "Who led the evacuation?",
        "Where did they go?",
        "What is the capital of Peru?",
    ]
    together = [a.model_dump_json() for a in served.ask_many(questions)]
    alone = [Library(served.data, served.encoder, served.weights).ask(q).model_dump_json() for q in questions]
    assert together == alone
