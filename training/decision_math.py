"""The arithmetic of the decision fit: the final ranking of a sample, its features, AUC and thresholds.

Kept apart from the I/O of `training.decision_fit` so tests can check it on made-up samples.
"""

from __future__ import annotations

import numpy as np

from index.ranking import CrossEncoderWeights, load_weights
from index.rereading import decision_features, reread

from .cross_encoder_fit import _cut, quote_holds
from .decision_records import Sample

NEIGHBOUR_RATIO = load_weights().neighbour_ratio  # the shipped ranker's: how quotes are cut at serving time


def final_ranking(sample: Sample, top_n: int, ranker_weight: float):  # type: ignore[no-untyped-def]
    e = sample.record
    return reread(
        e.candidates, e.ranking, _cut(e.reading, top_n), CrossEncoderWeights(top_n=top_n, ranker_weight=ranker_weight)
    )


def first_right(sample: Sample, top_n: int, ranker_weight: float, neighbour_ratio: float = NEIGHBOUR_RATIO) -> bool:
    """The sample's first quote holds a gold answer (`training.cross_encoder_fit.quote_holds`)."""
    return quote_holds(sample.record, CrossEncoderWeights(top_n=top_n, ranker_weight=ranker_weight), neighbour_ratio)


def features_of(sample: Sample, top_n: int, ranker_weight: float) -> np.ndarray:
    e = sample.record
    return decision_features(
        e.candidates, final_ranking(sample, top_n, ranker_weight), _cut(e.reading, top_n), e.abstain_p
    )


def threshold_for_precision(p: np.ndarray, right: np.ndarray, weights: np.ndarray, precision: float) -> float:
    """The lowest probability at which the (weighted) share of right replies among those at or above it is at
    least `precision`; 1.0 when none is."""
    order = np.argsort(-p, kind="stable")
    hits = np.cumsum(weights[order] * right[order])
    total = np.cumsum(weights[order])
    ok = np.flatnonzero(hits / np.maximum(total, 1e-12) >= precision)
    if not len(ok):
        return 1.0
    return float(p[order][ok[-1]])


def weighted_auc(p: np.ndarray, kinds: np.ndarray) -> float | None:
    """AUC of `p`, answerable against every other kind (None when one side is empty)."""
    pos, neg = p[kinds == "answerable"], p[kinds != "answerable"]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return round(float(greater + 0.5 * ties), 4)
