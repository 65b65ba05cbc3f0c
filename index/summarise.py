"""Extractive summaries: which sentences to quote, chosen by centrality, position and coverage.

Each sentence is scored by its cosine to the story's centroid (what the story is mostly about) plus a
position prior (news puts the key facts first), then picked greedily with maximal marginal relevance so
the summary does not repeat itself. The sentences are quoted verbatim by the caller, in story order.
"""

from __future__ import annotations

import numpy as np

CENTRALITY_WEIGHT = 1.0
POSITION_WEIGHT = 0.3
REDUNDANCY_WEIGHT = 0.5


def choose_sentences(
    vectors: np.ndarray,
    count: int = 3,
    *,
    position_weight: float = POSITION_WEIGHT,
    redundancy_weight: float = REDUNDANCY_WEIGHT,
) -> list[int]:
    """Indices (into `vectors`, rows in story order) of up to `count` sentences for the summary."""
    n = len(vectors)
    if n == 0 or count <= 0:
        return []
    centroid = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centroid)) or 1.0
    centrality = vectors @ (centroid / norm)
    position = 1.0 / np.sqrt(np.arange(1, n + 1, dtype=np.float32))
    relevance = CENTRALITY_WEIGHT * centrality + position_weight * position
    chosen: list[int] = []
    while len(chosen) < min(count, n):
        if chosen:
            redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(n, dtype=np.float32)
        score = relevance - redundancy_weight * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen
