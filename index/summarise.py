"""Extractive summaries: which sentences to quote, by directed centrality, a lead prior and coverage.

News puts the key facts first, so centrality alone loses to simply quoting the first three sentences
(Lead-3). The unsupervised way to match Lead-3 is PacSum (Zheng & Lapata, 2019): a sentence is central
when *later* sentences echo it (they elaborate it), while echoing *earlier* sentences counts against it
(it is the elaboration). This module scores sentences that way over their embeddings, adds an explicit
position prior on top (the lead is where the news is), demotes sentences too short to be prose (bylines,
"Scroll down for video", time stamps), then picks greedily with maximal marginal relevance so that a
near-duplicate of a chosen sentence is skipped. The caller quotes the chosen sentences verbatim, in story
order. Weights are documented defaults, not fitted: no news data with references ships with the project
(see docs/results.md for what was and wasn't measured).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass(frozen=True)
class SummaryWeights:
    """How the summary score is put together; every term is on a scale of about 0 to 1."""

    edge_threshold: float = 0.6  # PacSum's beta: an edge counts above min + beta * (max - min) of the story's cosines
    later_weight: float = 1.0  # support from later sentences that echo this one
    earlier_weight: float = -0.5  # echoing earlier sentences makes a sentence an elaboration, not the news
    centrality: float = 0.5  # directed centrality, scaled to [-1, 1] per story, times this
    position: float = 1.0  # the lead prior exp(-rank / position_decay), times this
    position_decay: float = 3.0  # in prose sentences: the prior halves about every two sentences
    min_words: int = 6  # fewer prose words than this is not a summary sentence (bylines, captions, time stamps)
    short_penalty: float = 2.0  # enough to rank a short sentence below every prose sentence
    redundancy: float = 2.0  # MMR: penalty per unit of cosine to the closest chosen sentence ...
    redundancy_floor: float = 0.7  # ... above this cosine; news leads share names, only near-duplicates are cut


DEFAULT_WEIGHTS = SummaryWeights()


def prose_words(text: str) -> int:
    """Words with a lower-case letter: "By . Associated Press ." has 3, a time stamp has almost none."""
    return sum(any(ch.islower() for ch in word) for word in _WORD.findall(text))


def directed_centrality(vectors: np.ndarray, weights: SummaryWeights = DEFAULT_WEIGHTS) -> np.ndarray:
    """PacSum's position-aware centrality over cosine similarity, scaled so the largest magnitude is 1."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    similarity = vectors @ vectors.T
    off_diagonal = similarity[~np.eye(n, dtype=bool)]
    low, high = float(off_diagonal.min()), float(off_diagonal.max())
    edges = np.clip(similarity - (low + weights.edge_threshold * (high - low)), 0.0, None)
    later = np.triu(edges, 1).sum(axis=1)
    earlier = np.tril(edges, -1).sum(axis=1)
    score = weights.later_weight * later + weights.earlier_weight * earlier
    scale = float(np.abs(score).max())
    return (score / scale if scale > 0 else score).astype(np.float32)


def relevance(
    vectors: np.ndarray, words: Sequence[int] | None = None, weights: SummaryWeights = DEFAULT_WEIGHTS
) -> np.ndarray:
    """Each sentence's worth as a summary sentence on its own: centrality + lead prior - shortness."""
    n = len(vectors)
    short = np.zeros(n, dtype=bool) if words is None else np.asarray(words) < weights.min_words
    if short.all():  # a story of short lines, or a script without case: the test says nothing here
        short[:] = False
    # Rank among prose sentences, so a byline or time stamp above the lead does not push the lead down.
    prose_rank = np.cumsum(~short) - 1
    position = np.where(short, 0.0, np.exp(-prose_rank / weights.position_decay))
    score = (
        weights.centrality * directed_centrality(vectors, weights)
        + weights.position * position
        - weights.short_penalty * short
    )
    return score.astype(np.float32)


def mmr_select(relevance: np.ndarray, vectors: np.ndarray, count: int, *, redundancy: float, floor: float) -> list[int]:
    """Greedy maximal marginal relevance: best score minus `redundancy` times cosine above `floor` to a pick."""
    n = len(relevance)
    chosen: list[int] = []
    while len(chosen) < min(count, n):
        score = relevance.astype(np.float64)
        if chosen:
            closest = (vectors @ vectors[chosen].T).max(axis=1)
            score = score - redundancy * np.clip(closest - floor, 0.0, None)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen


def choose_sentences(
    vectors: np.ndarray,
    count: int = 3,
    *,
    words: Sequence[int] | None = None,
    weights: SummaryWeights = DEFAULT_WEIGHTS,
) -> list[int]:
    """Indices (into `vectors`, unit rows in story order) of up to `count` sentences, in the order picked.

    `words` (prose words per sentence, see `prose_words`) lets bylines and captions be passed over.
    """
    if len(vectors) == 0 or count <= 0:
        return []
    return mmr_select(
        relevance(vectors, words, weights),
        vectors,
        count,
        redundancy=weights.redundancy,
        floor=weights.redundancy_floor,
    )
