"""The decision's three outcomes: a confident answer, the closest passage under a hedge, or nothing.

Every tier here is decided by thresholds the test sets around the question's own confidence, so the tests hold
whatever values the shipped weights.json carries (they are refitted from data).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index import Answer, AnswerStatus, Library
from index.ranking import CrossEncoderWeights, Thresholds, Weights, load_weights

from ..support.tiers import with_thresholds

QUESTION = "How many White Helmets are still trapped in Syria?"
TITLE = "White Helmets Trapped in Syria"


def confidence_of(library: Library, question: str) -> float:
    confidence = library.ask(question).confidence
    assert 0.0 < confidence < 1.0, confidence  # room for a threshold on either side
    return confidence


def test_a_confidence_between_the_thresholds_gets_the_closest_passage_quoted_as_an_answer(library: Library) -> None:
    c = confidence_of(library, QUESTION)
    confident = with_thresholds(library, c / 2, c / 4).ask(QUESTION)
    closest = with_thresholds(library, (1 + c) / 2, c / 2).ask(QUESTION)
    assert confident.status is AnswerStatus.ANSWERED and closest.status is AnswerStatus.CLOSEST
    assert closest.quotes and closest.quotes == confident.quotes  # the same Quote objects: text, ¶, link, sources
    assert closest.confidence == confident.confidence == c
    assert closest.shows_quotes and confident.shows_quotes
    assert confident.answered and not closest.answered  # `answered` is the confident tier only


def test_the_hedge_is_one_line_naming_the_story_and_the_paragraph(library: Library) -> None:
    c = confidence_of(library, QUESTION)
    answer = with_thresholds(library, (1 + c) / 2, c / 2).ask(QUESTION)
    first = answer.quotes[0]
    assert answer.message == f"“{TITLE}” may not answer this directly; the closest passage is ¶{first.paragraph}."
    assert "\n" not in answer.message


def test_below_the_decline_threshold_nothing_is_quoted(library: Library) -> None:
    c = confidence_of(library, QUESTION)
    answer = with_thresholds(library, (1 + c) / 2, (1 + 3 * c) / 4).ask(QUESTION)
    assert answer.status is AnswerStatus.NOT_COVERED and answer.quotes == []
    assert not answer.answered and not answer.shows_quotes
    assert answer.message == f"“{TITLE}” doesn't say that."


def test_without_a_decline_threshold_there_are_two_tiers_as_before(library: Library) -> None:
    c = confidence_of(library, QUESTION)
    assert with_thresholds(library, (1 + c) / 2, None).ask(QUESTION).status is AnswerStatus.NOT_COVERED
    assert with_thresholds(library, c, None).ask(QUESTION).status is AnswerStatus.ANSWERED  # at the cut: answered


class DoubtfulCrossEncoder:
    """Stands in for OnnxCrossEncoder: reads every sentence as not answering (logit -4)."""

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return np.full(len(pairs), -4.0, dtype=np.float32)


def test_the_cross_encoder_decides_the_tier_with_its_own_thresholds(library: Library) -> None:
    def read_with(decline: float | None) -> Answer:
        rw = CrossEncoderWeights(top_n=6, ranker_weight=0.0, answer_threshold=0.9, closest_threshold=decline)
        # the ranker's own thresholds would answer anything: with a cross-encoder they don't count
        weights = library.weights.model_copy(
            update={"cross_encoder": rw, "answer_threshold": 0.0, "closest_threshold": 0.0}
        )
        return Library(library.data, library.encoder, weights, DoubtfulCrossEncoder()).ask(QUESTION)  # type: ignore[arg-type]

    unsure = read_with(0.0)
    assert unsure.status is AnswerStatus.CLOSEST and unsure.quotes and 0.0 < unsure.confidence < 0.9
    assert read_with(unsure.confidence * 1.01).status is AnswerStatus.NOT_COVERED
    assert read_with(None).status is AnswerStatus.NOT_COVERED


@pytest.mark.parametrize(
    ("confidence", "tier"),
    [
        (0.0, AnswerStatus.NOT_COVERED),
        (0.19, AnswerStatus.NOT_COVERED),
        (0.2, AnswerStatus.CLOSEST),
        (0.59, AnswerStatus.CLOSEST),
        (0.6, AnswerStatus.ANSWERED),
        (1.0, AnswerStatus.ANSWERED),
    ],
)
def test_tiers_by_confidence(confidence: float, tier: AnswerStatus) -> None:
    thresholds = Thresholds(answer_threshold=0.6, closest_threshold=0.2)
    assert thresholds.tier(confidence) is tier
    assert Weights(answer_threshold=0.6, closest_threshold=0.2).tier(confidence) is tier
    assert CrossEncoderWeights(answer_threshold=0.6, closest_threshold=0.2).tier(confidence) is tier


@pytest.mark.parametrize("model", [Weights, CrossEncoderWeights])
@pytest.mark.parametrize("decline", [0.7, -0.1])
def test_a_decline_threshold_above_the_confident_one_or_below_zero_is_refused(model: type, decline: float) -> None:
    with pytest.raises(ValueError, match=r"closest_threshold \(.*\) must be between 0 and answer_threshold \(0.6\)"):
        model(answer_threshold=0.6, closest_threshold=decline)
    assert model(answer_threshold=0.6, closest_threshold=0.6).tier(0.6) is AnswerStatus.ANSWERED  # equal: allowed


def test_a_weights_file_with_the_thresholds_the_wrong_way_round_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"answer_threshold": 0.3, "closest_threshold": 0.5}), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path} is not a usable weights file .*closest_threshold"):
        load_weights(path)
    path.write_text(json.dumps({"answer_threshold": 0.3}), encoding="utf-8")  # a file from before the tier
    assert load_weights(path).closest_threshold is None


def test_the_shipped_weights_have_both_thresholds_in_order() -> None:
    weights = load_weights()
    for thresholds in (weights, weights.cross_encoder or CrossEncoderWeights()):
        assert thresholds.closest_threshold is not None
        assert 0.0 <= thresholds.closest_threshold <= thresholds.answer_threshold


def test_with_a_relatedness_model_the_decline_cut_reads_it_not_the_confidence() -> None:
    rw = CrossEncoderWeights(answer_threshold=0.8, closest_threshold=0.6, related_coef=[1.0], related_intercept=0.0)
    assert rw.tier(0.9, related=0.1) is AnswerStatus.ANSWERED  # confident wins whatever the relatedness
    assert rw.tier(0.3, related=0.7) is AnswerStatus.CLOSEST  # unsure, but on the story's subject
    assert rw.tier(0.3, related=0.5) is AnswerStatus.NOT_COVERED  # off the subject: nothing quoted
    # the decline cut is on another score, so it may sit above the confident one
    assert CrossEncoderWeights(answer_threshold=0.4, closest_threshold=0.7, related_coef=[1.0]).closest_threshold == 0.7
    with pytest.raises(ValueError):
        CrossEncoderWeights(answer_threshold=0.4, closest_threshold=0.7)  # one score: decline must not exceed confident


def test_the_fitted_decision_reads_its_features_through_both_models() -> None:
    from index.rereading import DECISION_FEATURES, Rereading, cross_encoder_decision

    rw = CrossEncoderWeights(
        decision_coef=[1.0] + [0.0] * (len(DECISION_FEATURES) - 1),
        decision_intercept=0.0,
        related_coef=[0.0] * len(DECISION_FEATURES),
        related_intercept=2.0,
    )

    class C:  # the Candidates fields decision_features reads
        sentence_dense = np.array([0.5, 0.2])
        paragraph_dense = np.array([0.4])
        unseen_share = 0.1
        sentence_rows = np.array([0, 1])

    class R:
        paragraph_order = np.array([0])
        best_sentence = np.array([0])

    reading = Rereading(np.array([0, 1]), np.array([1.5, -2.0]))
    confidence, related = cross_encoder_decision(C(), R(), reading, 0.5, rw)  # type: ignore[arg-type]
    assert confidence == pytest.approx(1 / (1 + np.exp(-1.5)))  # the cross-encoder's best logit alone
    assert related == pytest.approx(1 / (1 + np.exp(-2.0)))  # the intercept alone
