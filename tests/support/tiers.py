"""Libraries whose answer tiers a test decides: the session's index with thresholds set around a question's own
confidence, so a test of a CLOSEST reply holds whatever thresholds the shipped weights.json carries."""

from __future__ import annotations

from index import AnswerStatus, Library


def with_thresholds(library: Library, confident: float, decline: float | None) -> Library:
    """`library`'s index and weights with these two thresholds (the confident one, the decline one)."""
    weights = library.weights.model_copy(update={"answer_threshold": confident, "closest_threshold": decline})
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
