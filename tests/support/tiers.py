"""Libraries whose answer tiers a test decides: the session's index with thresholds set around a question's own
confidence, so a test of a CLOSEST reply holds whatever thresholds the shipped weights.json carries."""

from __future__ import annotations

from index import AnswerStatus, Library


def with_thresholds(library: Library, confident: float, decline: float | None) -> Library:
    """`library`'s index and weights with these two thresholds (the confident one, the decline one), both on the
    confidence: the relatedness model the shipped weights cut the decline on (index.ranking.Thresholds) is dropped,
    as in a weights file without one, so a test sets every tier from the confidence it reads."""
    update = {"answer_threshold": confident, "closest_threshold": decline, "related_coef": []}
    weights = library.weights.model_copy(update=update)
    return Library(library.data, library.encoder, weights)


def unsure_of(library: Library, question: str, declined: str) -> Library:
    """A library that meets `question` with the closest passage and still declines `declined`: confident only
    above `question`'s confidence, declining only below the midpoint of the two questions' confidences."""
    sure, off = library.ask(question).confidence, library.ask(declined).confidence
    assert off < sure < 1.0, (off, sure)
    unsure = with_thresholds(library, (1 + sure) / 2, (off + sure) / 2)
    assert unsure.ask(question).status is AnswerStatus.CLOSEST
    assert unsure.ask(declined).status is AnswerStatus.NOT_COVERED
    return unsure


def sure_of(library: Library, question: str) -> Library:
    """A library confident in `question` (at its own confidence) and declining below half of it: for tests of
    what an ANSWERED reply does (its layout, its log row), whatever tier the shipped thresholds give the
    question (the engine's own tiers are tested in tests/engine/test_tiers.py)."""
    sure = library.ask(question).confidence
    confident = with_thresholds(library, sure, sure / 2)
    assert confident.ask(question).status is AnswerStatus.ANSWERED
    return confident
