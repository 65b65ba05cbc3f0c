"""The cache of recent question vectors: a lookup never waits for another caller's encode, one caller encodes at a
time, and a text another caller is encoding is not encoded twice."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import CachedEncoder, Encoder, EngineOptions, Library, build_index


class GatedEncoder(Encoder):
    """Encodes texts to fixed rows; an encode of a text in `gated` waits until `release` is set."""

    name, dimension, fingerprint, quantization, backend, adapter = "gated", 4, "gated", "fp32", "test", ""

    def __init__(self, gated: set[str]) -> None:
        self.gated, self.release, self.started = gated, threading.Event(), threading.Event()
        self.calls: list[list[str]] = []
        self.running = 0
        self.most_at_once = 0

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        if self.gated & set(texts):
            self.started.set()
            assert self.release.wait(30)
        self.running -= 1
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)


def test_a_cached_question_is_found_while_another_is_being_encoded() -> None:
    inner = GatedEncoder({"slow question"})
    cache = CachedEncoder(inner)
    cache.encode(["cached"])
    slow = threading.Thread(target=cache.encode, args=(["slow question"],))
    slow.start()
    assert inner.started.wait(10)
    found: list[float] = []
    lookup = threading.Thread(target=lambda: found.append(float(cache.encode(["cached"])[0][0])))
    lookup.start()
    lookup.join(5)  # the slow encode is held until `release`: a lookup that waited for it would still be here
    held = lookup.is_alive()
    if held:
        inner.release.set()  # let the held encode finish, so the test fails rather than hangs
    assert not held and found == [len("cached")]
    same = threading.Thread(target=cache.encode, args=(["slow question"],))  # waits for the one encode running
    same.start()
    inner.release.set()
    slow.join(10)
    same.join(10)
    assert inner.calls == [["cached"], ["slow question"]]  # neither encoded twice
    assert inner.most_at_once == 1
    assert cache.encode(["slow question", "cached"]).tolist() == [[13.0, 1.0, 0.0, 0.0], [6.0, 1.0, 0.0, 0.0]]


def test_a_question_encoded_ahead_is_not_encoded_again_when_asked(library: Library) -> None:
    """`ask --batch` encodes the next line ahead (Library.encode_ahead): what it encodes must be what `ask` reads,
    the question's normal form, or every line is encoded twice."""
    counted = CountingEncoder(library.encoder)
    fresh = Library(library.data, counted, library.weights)
    question = "hey bot how many White Helmets r still trapped in Syria?? 🙏"
    fresh.encode_ahead([question])
    assert counted.texts == [fresh.reading_of(question)]
    fresh.ask(question)
    assert counted.texts == [fresh.reading_of(question)]  # found in the cache: not encoded again


def test_questions_encoded_ahead_together_get_the_answers_they_get_alone(
    tmp_path: Path, content_copy: Path, library: Library
) -> None:
    """With the int8 export (batch-invariant), `encode_ahead` encodes a chunk of questions in one call, and each
    answer is byte for byte what the question asked alone, in a fresh library, gets. (The session library's
    sentence-transformers encoder is not batch-invariant: it encodes them one at a time.)"""
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, EngineOptions(quantization="int8"))
    served = Library.load(index_dir)
    questions = [
        *(f"How many White Helmets were trapped in Syria in week {n}?" for n in range(12)),
        "who led the evacuation",
        "hey bot how many White Helmets r still trapped in Syria?? 🙏",
        "Where did the evacuees go?",
        "   ",  # refused: not encoded
    ]
    counted = CountingEncoder(served.encoder)
    ahead = Library(served.data, counted, served.weights)
    ahead.encode_ahead(questions)
    assert counted.calls == 1 and len(counted.texts) == len(questions) - 1
    answers = [ahead.ask(q).model_dump_json() for q in questions]
    assert counted.calls == 1  # every vector was waiting in the cache
    alone = [Library(served.data, served.encoder, served.weights).ask(q).model_dump_json() for q in questions]
    assert answers == alone
    one_by_one = CountingEncoder(library.encoder)
    Library(library.data, one_by_one, library.weights).encode_ahead(questions[:3])
    assert not one_by_one.batch_invariant and one_by_one.calls == 3


class CountingEncoder(Encoder):
    """Passes every encode to `inner` and records the texts."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.texts, self.calls = inner, [], 0  # type: ignore[var-annotated]
        self.name, self.dimension, self.fingerprint = inner.name, inner.dimension, inner.fingerprint
        self.quantization, self.backend, self.adapter = inner.quantization, inner.backend, inner.adapter
        self.batch_invariant = inner.batch_invariant

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.texts += list(texts)
        self.calls += 1
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)
