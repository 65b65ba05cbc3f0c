"""The cross-encoder's part of an answer: it rereads the ranker's best sentences and has the last word on three calls.

1. Which sentence to quote: the ranker's top `CrossEncoderWeights.top_n` sentences are read with the question, and
   reordered by cross-encoder logit + `ranker_weight` x ranker logit (unread sentences stay below every read one).
2. Whether to answer: logistic models over DECISION_FEATURES give the confidence (the first quote holds the answer)
   and the relatedness (on the story's subject), cut by the cross-encoder's own two thresholds; fitted by
   training.decision_fit (a weights file from before it has the older two-feature model, `answer_coef`).
3. Whether to add a 2nd or 3rd quote: only when its paragraph's best combined score clears `extra_min_score`,
   fitted so extra quotes hold the answer at >= 0.8 precision on held-out SQuAD.

Everything here is numpy over scores; the cross-encoder itself (`cross_encoder_onnx.OnnxCrossEncoder`) runs once per batch of
questions in `Library.ask_many`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .candidates import Candidates
from .features import best_in_group, group_max
from .ranking import CrossEncoderWeights, Ranking, Weights, sigmoid


@dataclass
class Rereading:
    """What the cross-encoder said about one question's candidates."""

    positions: np.ndarray  # candidate sentence positions it read, the ranker's best first
    logits: np.ndarray  # its logit for each

    @property
    def best(self) -> float:
        return float(self.logits.max()) if len(self.logits) else -10.0


def to_read(r: Ranking, n: int) -> np.ndarray:
    """Positions of the ranker's `n` best candidate sentences, best first."""
    return (-r.sentence_score).argsort(kind="stable")[:n]


def reread(c: Candidates, r: Ranking, reading: Rereading, rw: CrossEncoderWeights) -> Ranking:
    """The ranking with read sentences scored by cross-encoder + ranker_weight x ranker, the rest below them."""
    if not len(reading.positions):
        return r
    read = reading.logits + rw.ranker_weight * r.sentence_score[reading.positions]
    floor = float(read.min()) - 1.0
    scores = floor - (float(r.sentence_score.max()) - r.sentence_score)  # unread: below, in the ranker's order
    scores = scores.astype(np.float32)
    scores[reading.positions] = read
    n = len(c.paragraph_rows)
    paragraph_score = group_max(scores, c.sentence_paragraph, n)
    best = best_in_group(scores, c.sentence_paragraph, n)
    return Ranking((-paragraph_score).argsort(kind="stable"), paragraph_score, scores, best)


def _logit(probability: float) -> float:
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def answer_logit(reading: Rereading, abstention_probability: float, rw: CrossEncoderWeights) -> float:
    features = np.array([reading.best, _logit(abstention_probability)])
    return float(features @ np.asarray(rw.answer_coef)) + rw.answer_intercept


def answer_confidence(reading: Rereading, abstention_probability: float, rw: CrossEncoderWeights) -> float:
    return float(sigmoid(answer_logit(reading, abstention_probability, rw)))


DECISION_FEATURES = (
    "cross_encoder_best",  # the cross-encoder's highest logit over what it read
    "cross_encoder_first",  # its logit for the sentence quoted first
    "cross_encoder_margin",  # best minus second best: one clear answer, or several alike
    "abstention_logit",  # the ranker-based abstention model's logit (index.ranking)
    "best_cosine",  # the question's best sentence cosine
    "top_paragraph_cosine",
    "unseen_share",  # IDF share of the question's terms the library never uses
    "log_sentences",  # how many sentences were candidates (small stories score differently)
)


def decision_features(c: Candidates, final: Ranking, reading: Rereading, abstention_probability: float) -> np.ndarray:
    """One row of DECISION_FEATURES for a question the cross-encoder has read (`final`: the ranking after `reread`)."""
    logits = np.sort(reading.logits)[::-1]
    best = float(logits[0]) if len(logits) else -10.0
    second = float(logits[1]) if len(logits) > 1 else best - 5.0
    top = int(final.paragraph_order[0])
    first_pos = int(final.best_sentence[top])
    read = {int(pos): float(logit) for pos, logit in zip(reading.positions, reading.logits)}
    return np.array(
        [
            best,
            read.get(first_pos, best - 5.0),
            best - second,
            _logit(abstention_probability),
            float(c.sentence_dense.max()),
            float(c.paragraph_dense[top]),
            c.unseen_share,
            math.log1p(len(c.sentence_rows)),
        ],
        dtype=np.float64,
    )


def cross_encoder_decision(
    c: Candidates, final: Ranking, reading: Rereading, abstention_probability: float, rw: CrossEncoderWeights
) -> tuple[float, float]:
    """(confidence: P(the first quote holds the answer), relatedness: P(the question is on the story's subject)).

    With the fitted decision (`rw.decision_coef`) both are logistic models over DECISION_FEATURES; without it the
    older two-feature model gives the confidence and stands in for the relatedness too."""
    if not rw.decision_coef:
        confidence = answer_confidence(reading, abstention_probability, rw)
        return confidence, confidence
    x = decision_features(c, final, reading, abstention_probability)
    confidence = float(sigmoid(float(x @ np.asarray(rw.decision_coef)) + rw.decision_intercept))
    related = float(sigmoid(float(x @ np.asarray(rw.related_coef)) + rw.related_intercept))
    return confidence, related


def quote_weights(weights: Weights, rw: CrossEncoderWeights) -> Weights:
    """The weights `quoting` reads, with the extra-quote rule on the cross-encoder's combined scale."""
    return weights.model_copy(
        update={
            "extra_quote_margin": rw.extra_margin,
            "extra_quote_min_logit": math.inf if rw.extra_min_score is None else rw.extra_min_score,
        }
    )
