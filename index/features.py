"""Sentence features for the learned ranker and question features for the abstention model.

Every feature is relative to the question's own candidates (z-scores, ranks, gaps to the best) or a share
(coverage of the question's IDF mass), so a model fitted on Wikipedia articles of ~50 paragraphs still means
the same thing on a 4-paragraph news story. Question type is crossed with what a sentence holds ("how many"
x a figure, "when" x a date; the cues themselves are `index.cues`), which lexical and dense scores cannot see.
"""

from __future__ import annotations

import numpy as np

from .candidates import Candidates
from .cues import CUE_NAMES, QUESTION_KINDS

NUMERIC = (
    "s_z_dense", "s_z_bm25", "s_cos", "s_cov", "s_bigram", "s_gap_dense", "s_gap_bm25", "s_lrank_dense",
    "s_lrank_bm25", "s_len", "s_first", "s_pos", "n_dense", "n_bm25", "n_cov",
    "p_z_dense", "p_z_bm25", "p_cov", "p_gap_dense", "p_gap_bm25", "p_lrank_dense", "p_lrank_bm25",
    "p_best_dense", "p_best_bm25", "p_best_cov", "s_fused", "s_gap_fused",
)  # fmt: skip
SENTENCE_FEATURES = (
    *NUMERIC,
    *(f"cue_{c}" for c in CUE_NAMES),
    *(f"{k}_x_{c}" for k in QUESTION_KINDS for c in CUE_NAMES),
)
QUESTION_FEATURES = (
    "top_logit", "logit_gap", "second_paragraph_gap", "best_sentence_cosine", "top_paragraph_cosine",
    "top_sentence_coverage", "top_paragraph_coverage", "top_window_coverage", "best_coverage", "unseen_share",
    "top_missing", "log_terms", "top_cue", "top_names", "names_unseen", "names_all_unseen", "has_names",
    *(f"q_{k}" for k in QUESTION_KINDS),
)  # fmt: skip


def zscore(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values.astype(np.float32)
    std = float(values.std())
    if std < 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - values.mean()) / std).astype(np.float32)


def log_rank(values: np.ndarray) -> np.ndarray:
    """log(1 + rank), rank 0 for the highest value."""
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values), dtype=np.float32)
    return np.log1p(ranks)


def group_max(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(out, groups, values.astype(np.float32))
    out[~np.isfinite(out)] = float(values.min()) if len(values) else 0.0
    return out


def _neighbour(values: np.ndarray, c: Candidates, fill: float) -> np.ndarray:
    """max of the previous and next sentence's value in the same paragraph (`fill` where there is none)."""
    n = len(values)
    prev = np.full(n, fill, dtype=np.float32)
    nxt = np.full(n, fill, dtype=np.float32)
    if n > 1:
        same = c.sentence_paragraph[1:] == c.sentence_paragraph[:-1]
        prev[1:][same] = values[:-1][same]
        nxt[:-1][same] = values[1:][same]
    return np.maximum(prev, nxt)


def sentence_matrix(c: Candidates) -> np.ndarray:
    """One row of SENTENCE_FEATURES per candidate sentence."""
    n_p = len(c.paragraph_rows)
    sp = c.sentence_paragraph
    s_zd, s_zb = zscore(c.sentence_dense), zscore(c.sentence_bm25)
    p_zd, p_zb = zscore(c.paragraph_dense), zscore(c.paragraph_bm25)
    fused = s_zd + s_zb
    numeric = [
        s_zd, s_zb, c.sentence_dense, c.sentence_coverage, c.sentence_bigram,
        s_zd.max() - s_zd, s_zb.max() - s_zb, log_rank(c.sentence_dense), log_rank(c.sentence_bm25),
        np.log1p(c.sentence_chars / 100.0), (c.sentence_position == 0), np.minimum(c.sentence_position, 10) / 10.0,
        _neighbour(s_zd, c, -3.0), _neighbour(s_zb, c, -3.0), _neighbour(c.sentence_coverage, c, 0.0),
        p_zd[sp], p_zb[sp], c.paragraph_coverage[sp], (p_zd.max() - p_zd)[sp], (p_zb.max() - p_zb)[sp],
        log_rank(c.paragraph_dense)[sp], log_rank(c.paragraph_bm25)[sp],
        group_max(s_zd, sp, n_p)[sp], group_max(s_zb, sp, n_p)[sp], group_max(c.sentence_coverage, sp, n_p)[sp],
        fused, fused.max() - fused,
    ]  # fmt: skip
    kind = np.zeros((len(sp), len(QUESTION_KINDS) * len(CUE_NAMES)), dtype=np.float32)
    k = len(CUE_NAMES)
    kind[:, c.kind * k : (c.kind + 1) * k] = c.sentence_cues
    return np.column_stack([np.column_stack(numeric).astype(np.float32), c.sentence_cues, kind])
