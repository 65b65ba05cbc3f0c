"""Ranking and the abstention call, from weights fitted on SQuAD by `python -m training.fit`.

Ranking is a logistic model over SENTENCE_FEATURES (index/features.py): dense and BM25 scores of the sentence,
its neighbours and its paragraph, z-scored over the question's candidates, plus question type x sentence cues.
A paragraph scores as its best sentence. Whether to answer at all is a second logistic model over
QUESTION_FEATURES (how sure the ranker is, cosines, how much of the question the best passage covers), whose
probability is cut twice (`Thresholds`): a confident answer above one threshold, the closest passage under a
hedge between the two, nothing below the lower one. Both ship as `weights.json` next to this file; serving
needs only numpy.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import AliasChoices, BaseModel, Field, ValidationError, model_validator

from .candidates import Candidates
from .cues import QUESTION_KINDS
from .errors import WeightsError
from .features import (
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    best_in_group,
    group_max,
    sentence_matrix,
    zscore,
)
from .models import AnswerStatus

__all__ = [
    "MAX_QUOTE_CHARS",
    "CrossEncoderWeights",
    "Ranking",
    "Thresholds",
    "Weights",
    "answer_features",
    "load_weights",
    "rank",
]

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
MAX_QUOTE_CHARS = 400


class Thresholds(BaseModel):
    """The decision's two cuts on the confidence (a probability), fitted with the weights they sit beside.

    At or above `answer_threshold` (the confident one) the reply is ANSWERED; at or above `closest_threshold`
    (the decline one) it is CLOSEST, the closest passage under a hedge; below it, NOT_COVERED. None for
    `closest_threshold` means no closest tier: a weights file from before it declines below `answer_threshold`.
    """

    answer_threshold: float = 0.5
    closest_threshold: float | None = None
    # A model of its own for "the question is on the story's subject" (fitted against off-topic questions), when
    # the weights have one: `closest_threshold` then cuts its probability, not the confidence. Over the same
    # features as the confidence: QUESTION_FEATURES (Weights) or index.rereading.DECISION_FEATURES (CrossEncoderWeights).
    related_coef: list[float] = []
    related_intercept: float = 0.0

    @model_validator(mode="after")
    def _decline_at_most_confident(self) -> Thresholds:
        low = self.closest_threshold
        top = 1.0 if self.related_coef else self.answer_threshold  # a cut on another score may sit above
        if low is not None and not 0.0 <= low <= top:
            raise ValueError(
                f"closest_threshold ({low}) must be between 0 and answer_threshold ({self.answer_threshold}): "
                "below it a question is declined, at or above answer_threshold it is answered with confidence"
            )
        return self

    def tier(self, confidence: float, related: float | None = None) -> AnswerStatus:
        """ANSWERED, CLOSEST or NOT_COVERED for a question answered with this confidence. `related`, where the
        decision has a model of its own for "on the story's subject" (index.rereading.cross_encoder_decision), is what the
        decline threshold cuts; else the confidence is."""
        if confidence >= self.answer_threshold:
            return AnswerStatus.ANSWERED
        near = confidence if related is None else related
        if self.closest_threshold is not None and near >= self.closest_threshold:
            return AnswerStatus.CLOSEST
        return AnswerStatus.NOT_COVERED


class CrossEncoderWeights(Thresholds):
    """How the cross-encoder's logit is combined with the ranker and the abstention model (fitted by training.cross_encoder_fit; see index.rereading)."""

    top_n: int = 10
    ranker_weight: float = 0.3
    answer_coef: list[float] = [1.0, 0.0]  # over (best cross-encoder logit, abstention model logit)
    answer_intercept: float = 0.0
    # The decision over index.rereading.DECISION_FEATURES (training.decision_fit); empty: the two-feature model above.
    decision_coef: list[float] = []  # P(the first quote holds the answer): the confidence, against answer_threshold
    decision_intercept: float = 0.0
    extra_margin: float = 3.0  # further quotes only within this combined score of the first ...
    extra_min_score: float | None = None  # ... and at least this (None: no further quotes)
    fitted: dict[str, object] = {}


class Weights(Thresholds):
    """The fitted models; the defaults (plain z-score fusion, a loose abstention, no closest tier) serve an unfitted
    engine. The thresholds (`Thresholds`) cut the abstention model's probability."""

    sentence_features: list[str] = list(SENTENCE_FEATURES)
    sentence_coef: list[float] = []  # empty: fall back to z(dense) + z(bm25) at sentence and paragraph level
    sentence_intercept: float = 0.0
    question_features: list[str] = list(QUESTION_FEATURES)
    answer_coef: list[float] = []
    answer_intercept: float = 0.0
    answer_mean: list[float] = []
    answer_scale: list[float] = []
    answer_low: list[float] = []  # features are clipped to what the fit saw (2nd-98th percentile), so one
    answer_high: list[float] = []  # extreme value, e.g. a z-score on a single matched word, cannot decide alone
    neighbour_ratio: float = 0.5  # join a neighbour whose probability is at least this share of the best's
    extra_quote_margin: float = 2.0  # further quotes only from paragraphs within this logit of the best
    # ... and only when their own ranker logit clears this cut, fitted on SQuAD so extra quotes are right
    # (hold the answer) most of the time they appear; None (unfitted engine) applies the margin alone
    extra_quote_min_logit: float | None = None
    fitted: dict[str, object] = {}  # how and on what the weights were fitted, for the record
    # used when the index has a cross-encoder (index.rereading); None: defaults. "reader" is its key in weights files
    # written before the rename, still read.
    cross_encoder: CrossEncoderWeights | None = Field(
        default=None, validation_alias=AliasChoices("cross_encoder", "reader")
    )


def load_weights(path: Path = WEIGHTS_FILE) -> Weights:
    if path.exists():
        try:
            weights = Weights.model_validate_json(path.read_bytes())  # bad JSON too is a ValidationError
        except ValidationError as exc:
            reasons = "; ".join(
                ".".join(map(str, e["loc"])) + (": " if e["loc"] else "") + e["msg"] for e in exc.errors()
            )
            raise WeightsError(
                f"{path} is not a usable weights file ({reasons}); rerun python -m training.fit"
            ) from None
        if weights.sentence_coef and not set(weights.sentence_features) <= set(SENTENCE_FEATURES):
            raise WeightsError(f"{path} was fitted for other sentence features; rerun python -m training.fit")
        if weights.answer_coef and not set(weights.question_features) <= set(QUESTION_FEATURES):
            raise WeightsError(f"{path} was fitted for other question features; rerun python -m training.fit")
        return weights
    return Weights()


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    # np.maximum and np.minimum clip as np.clip does (NaN stays NaN), without np.clip's Python wrapper per call
    return 1.0 / (1.0 + np.exp(-np.minimum(np.maximum(x, -40.0), 40.0)))


@dataclass
class Ranking:
    paragraph_order: np.ndarray  # positions into Candidates.paragraph_rows, best first
    paragraph_score: np.ndarray
    sentence_score: np.ndarray  # ranker logit per candidate sentence
    best_sentence: np.ndarray  # per candidate paragraph: position into sentence arrays of its best sentence


def sentence_scores(c: Candidates, w: Weights) -> np.ndarray:
    if not w.sentence_coef:
        fused_p = zscore(c.paragraph_dense) + zscore(c.paragraph_bm25)
        return zscore(c.sentence_dense) + zscore(c.sentence_bm25) + fused_p[c.sentence_paragraph]
    x = sentence_matrix(c, tuple(w.sentence_features))
    return x @ fitted(w.sentence_coef, np.float32) + w.sentence_intercept


def fitted(values: list[float], dtype: type = np.float64) -> np.ndarray:
    """A fitted list of the weights as a read-only array, made once per list of values and not once per question
    (keyed by the values, not the list: training refits weights in place)."""
    return _array(tuple(values), dtype)


@functools.lru_cache(maxsize=64)
def _array(values: tuple[float, ...], dtype: type) -> np.ndarray:
    array: np.ndarray = np.asarray(values, dtype=dtype)
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=16)
def _positions(chosen: tuple[str, ...]) -> list[int]:
    """Where each of `chosen` sits in QUESTION_FEATURES: the features a fit reads (the same every question)."""
    return [QUESTION_FEATURES.index(name) for name in chosen]


def rank(c: Candidates, w: Weights) -> Ranking:
    """Score every candidate sentence; a paragraph ranks by its best sentence."""
    scores = sentence_scores(c, w)
    n = len(c.paragraph_rows)
    paragraph_score = group_max(scores, c.sentence_paragraph, n)
    best = best_in_group(scores, c.sentence_paragraph, n)
    order = (-paragraph_score).argsort(kind="stable")
    return Ranking(order, paragraph_score, scores, best)


def answer_features(c: Candidates, r: Ranking) -> np.ndarray:
    """One row of QUESTION_FEATURES: how well the best passage the ranker found covers the question."""
    top = int(r.paragraph_order[0])
    best = int(r.best_sentence[top])
    second = float(r.paragraph_score[r.paragraph_order[1]]) if len(r.paragraph_order) > 1 else -10.0
    others = r.sentence_score.copy()  # every score but the best's; -inf leaves the maximum of the rest as it is
    others[best] = -np.inf
    runner_up = float(others.max()) if len(others) > 1 else -10.0
    window = c.sentence_paragraph == top
    near = window & (np.abs(c.sentence_position - c.sentence_position[best]) <= 1)
    kinds = np.zeros(len(QUESTION_KINDS))
    kinds[c.kind] = 1.0
    return np.array(
        [
            float(r.sentence_score[best]),
            float(r.sentence_score[best]) - runner_up,
            float(r.sentence_score[best]) - second,
            float(c.sentence_dense.max()),
            float(c.paragraph_dense[top]),
            float(c.sentence_coverage[best]),
            float(c.paragraph_coverage[top]),
            float(c.sentence_coverage[near].max()),
            float(c.paragraph_coverage.max()),
            c.unseen_share,
            float(c.paragraph_missing[top]),
            math.log1p(c.terms),
            float(c.sentence_cues[best].any()),
            float(c.paragraph_names[top]),
            max(c.names_unseen, 0.0),
            float(c.names_unseen >= 0.999),  # the question is about something the story never names
            float(c.names_unseen >= 0),
            *kinds,
        ],
        dtype=np.float64,
    )


def answer_probability(features: np.ndarray, w: Weights) -> float:
    """The confidence: P(the first quote holds the answer) as fitted by training.decision_fit (P(the story answers)
    in weights from training.fit alone); an unfitted engine trusts the best sentence's cosine."""
    if not w.answer_coef:
        return float(sigmoid(12.0 * (features[QUESTION_FEATURES.index("best_sentence_cosine")] - 0.45)))
    x = _standardised(features, w)
    return float(sigmoid(float(x @ fitted(w.answer_coef)) + w.answer_intercept))


def related_probability(features: np.ndarray, w: Weights) -> float | None:
    """P(the question is on the story's subject), what the decline threshold cuts; None without a model for it."""
    if not w.related_coef:
        return None
    return float(sigmoid(float(_standardised(features, w) @ fitted(w.related_coef)) + w.related_intercept))


def decision_probabilities(features: np.ndarray, w: Weights) -> tuple[float, float | None]:
    """(`answer_probability`, `related_probability`) of one question, its features standardised once for both."""
    if not w.answer_coef or not w.related_coef:
        return answer_probability(features, w), related_probability(features, w)
    x = _standardised(features, w)
    confidence = float(sigmoid(float(x @ fitted(w.answer_coef)) + w.answer_intercept))
    return confidence, float(sigmoid(float(x @ fitted(w.related_coef)) + w.related_intercept))


def _standardised(features: np.ndarray, w: Weights) -> np.ndarray:
    """The fitted question features, clipped to what the fit saw and standardised as the fit did."""
    x = features[_positions(tuple(w.question_features))]
    if w.answer_low:
        x = x.clip(fitted(w.answer_low), fitted(w.answer_high))  # what np.clip calls, without its wrapper
    return (x - fitted(w.answer_mean)) / fitted(w.answer_scale)
