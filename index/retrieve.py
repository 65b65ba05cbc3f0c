"""Hybrid retrieval: BM25 and dense scores, fused at paragraph and sentence level, and the abstention call.

Scores of different kinds are made comparable by z-scoring them over the candidates of one question, then
mixed with weights from `weights.json` (fitted on SQuAD by `python -m benchmarks.fit`; the defaults below
are what an unfitted engine uses). Whether to answer at all is a logistic decision over a few raw features
(cosines and how much of the question's vocabulary the passage covers), not a bare cosine cut-off.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
MAX_QUOTE_CHARS = 400

_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundreds?|thousands?|millions?|dozens?)\b", re.I
)
_DATE = re.compile(
    r"\b(?:1[0-9]{3}|20[0-9]{2}|january|february|march|april|may|june|july|august|september|october|november|"
    r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|century|decade|year|today|yesterday)\b",
    re.I,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_QUESTION_TYPES = {
    "how_many": re.compile(
        r"\bhow\s+(?:many|much|long|old|far|large|big)\b|\bwhat\s+(?:number|percentage|amount)\b", re.I
    ),
    "when": re.compile(r"\bwhen\b|\bwhat\s+(?:year|date|day|month|time|century|decade)\b|\bwhich\s+year\b", re.I),
    "who": re.compile(r"\bwho(?:m|se)?\b|\bwhich\s+(?:person|man|woman|group|organi[sz]ation)\b", re.I),
    "where": re.compile(r"\bwhere\b|\bwhich\s+(?:country|city|place|state|region)\b", re.I),
}


class Weights(BaseModel):
    """Fusion weights and the abstention model; see benchmarks/fit.py for how they are fitted."""

    paragraph_dense: float = 1.0
    paragraph_bm25: float = 1.0
    paragraph_best_sentence: float = 1.0
    sentence_dense: float = 1.0
    sentence_bm25: float = 1.0
    sentence_type_cue: float = 0.5
    neighbour_share: float = 0.85
    # logistic abstention over ANSWER_FEATURES
    answer_coef: list[float] = [6.0, 3.0, 2.5, 1.5, -2.0]
    answer_intercept: float = -5.0
    answer_threshold: float = 0.5
    extra_quote_margin: float = 0.75


ANSWER_FEATURES = (
    "best_sentence_cosine",
    "top_paragraph_cosine",
    "paragraph_coverage",
    "sentence_coverage",
    "unseen_share",
)


def load_weights(path: Path = WEIGHTS_FILE) -> Weights:
    if path.exists():
        return Weights.model_validate(json.loads(path.read_text(encoding="utf-8")))
    return Weights()


def zscore(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values.astype(np.float32)
    std = float(values.std())
    if std < 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - values.mean()) / std).astype(np.float32)


def question_type(question: str) -> str | None:
    for name, pattern in _QUESTION_TYPES.items():
        if pattern.search(question):
            return name
    return None


def type_cue(kind: str | None, sentence: str) -> float:
    """1 when the sentence holds the kind of thing the question asks for (a figure, a date, a name)."""
    if kind == "how_many":
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if kind == "when":
        return 1.0 if _DATE.search(sentence) else 0.0
    if kind in ("who", "where"):
        return 1.0 if _NAME.search(sentence) else 0.0
    return 0.0


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 40.0), -40.0)))


@dataclass
class Candidates:
    """Scores for one question over candidate paragraphs and their sentences (row ids into the index)."""

    paragraph_rows: np.ndarray
    paragraph_dense: np.ndarray
    paragraph_bm25: np.ndarray
    paragraph_coverage: np.ndarray
    sentence_rows: np.ndarray
    sentence_paragraph: np.ndarray  # position in paragraph_rows for each sentence
    sentence_dense: np.ndarray
    sentence_bm25: np.ndarray
    sentence_coverage: np.ndarray
    sentence_cue: np.ndarray
    unseen_share: float


@dataclass
class Ranking:
    paragraph_order: np.ndarray  # positions into Candidates.paragraph_rows, best first
    paragraph_score: np.ndarray
    sentence_score: np.ndarray
    best_sentence: np.ndarray  # per candidate paragraph: position into sentence arrays of its best sentence


def rank(c: Candidates, w: Weights) -> Ranking:
    """Fuse the candidate scores into one paragraph ranking and the best sentence of each paragraph."""
    sentence_score = (
        w.sentence_dense * zscore(c.sentence_dense)
        + w.sentence_bm25 * zscore(c.sentence_bm25)
        + w.sentence_type_cue * c.sentence_cue
    )
    n = len(c.paragraph_rows)
    best_sentence = np.full(n, -1, dtype=np.int64)
    best_value = np.full(n, -np.inf, dtype=np.float32)
    for pos, (para, value) in enumerate(zip(c.sentence_paragraph, sentence_score)):
        if value > best_value[para]:
            best_value[para], best_sentence[para] = value, pos
    best_value[~np.isfinite(best_value)] = sentence_score.min() if len(sentence_score) else 0.0
    paragraph_score = (
        w.paragraph_dense * zscore(c.paragraph_dense)
        + w.paragraph_bm25 * zscore(c.paragraph_bm25)
        + w.paragraph_best_sentence * zscore(best_value)
    )
    order = np.argsort(-paragraph_score, kind="stable")
    return Ranking(order, paragraph_score, sentence_score, best_sentence)


def answer_features(c: Candidates, r: Ranking) -> np.ndarray:
    top = int(r.paragraph_order[0])
    best = int(r.best_sentence[top])
    sentence_cos = float(c.sentence_dense.max()) if len(c.sentence_dense) else 0.0
    return np.array(
        [
            max(sentence_cos, float(c.sentence_dense[best]) if best >= 0 else 0.0),
            float(c.paragraph_dense[top]),
            float(c.paragraph_coverage[top]),
            float(c.sentence_coverage[best]) if best >= 0 else 0.0,
            c.unseen_share,
        ],
        dtype=np.float64,
    )


def answer_probability(features: np.ndarray, w: Weights) -> float:
    return sigmoid(float(np.dot(features, np.asarray(w.answer_coef))) + w.answer_intercept)
