"""Sentence features for the learned ranker and question features for the abstention model.

Every feature is relative to the question's own candidates (z-scores, ranks, gaps to the best) or a share
(coverage of the question's IDF mass), so a model fitted on Wikipedia articles of ~50 paragraphs still means
the same thing on a 4-paragraph news story. Question type is crossed with what a sentence holds ("how many"
x a figure, "when" x a date; the cues themselves are `index.cues`), which lexical and dense scores cannot see.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

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
    """(values - mean) / std over the question's candidates; zeros when they are (nearly) all equal."""
    if len(values) == 0:
        return values.astype(np.float32)
    if values.dtype != np.float32 or values.ndim != 1:
        return _zscore_calls(values)
    # What np.mean and np.std compute (the same float32 sums, each divided by the count in float64 and rounded to
    # float32, the same float32 square root: bit for bit), the sum and the deviations shared and the divisions in
    # Python floats: numpy's wrappers and scalar arithmetic were most of a z-score's time (4 a question).
    count = len(values)
    deviation = values - np.float32(float(np.add.reduce(values)) / count)
    std = float(np.sqrt(np.float32(float(np.add.reduce(deviation * deviation)) / count)))
    if std < 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return (deviation / std).astype(np.float32)


def _zscore_calls(values: np.ndarray) -> np.ndarray:
    """`zscore` through np.std and np.mean themselves: the reference of the fast path, and any other dtype."""
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
    bad = ~np.isfinite(out)
    if bad.any():  # a group with no values (or an infinite or NaN maximum): the lowest value, as a loser
        out[bad] = float(values.min()) if len(values) else 0.0
    return out


def best_in_group(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Per group 0..n-1: the position of its highest value, the last of equals (-1 for a group with none).

    What writing every position in a stable ascending argsort into its group's slot leaves behind, without the
    loop: each group keeps the position it met last in that order."""
    order = values.argsort(kind="stable")
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, groups[order], np.arange(len(order), dtype=np.int64))
    best = np.full(n, -1, dtype=np.int64)
    met = last >= 0
    best[met] = order[last[met]]
    return best


def _neighbour(values: np.ndarray, same: np.ndarray, fill: float) -> np.ndarray:
    """max of the previous and next sentence's value in the same paragraph (`fill` where there is none); `same`:
    whether each sentence but the last shares its paragraph with the next (`_Scores.same`)."""
    n = len(values)
    prev = np.full(n, fill, dtype=np.float32)
    nxt = np.full(n, fill, dtype=np.float32)
    if n > 1:
        prev[1:][same] = values[:-1][same]
        nxt[:-1][same] = values[1:][same]
    return np.maximum(prev, nxt)


class _Scores:
    """One question's candidate scores and the z-scores most features build on, each computed when first read."""

    def __init__(self, c: Candidates) -> None:
        self.c, self.sp, self.n_p = c, c.sentence_paragraph, len(c.paragraph_rows)

    @functools.cached_property
    def s_zd(self) -> np.ndarray:
        return zscore(self.c.sentence_dense)

    @functools.cached_property
    def s_zb(self) -> np.ndarray:
        return zscore(self.c.sentence_bm25)

    @functools.cached_property
    def p_zd(self) -> np.ndarray:
        return zscore(self.c.paragraph_dense)

    @functools.cached_property
    def p_zb(self) -> np.ndarray:
        return zscore(self.c.paragraph_bm25)

    @functools.cached_property
    def same(self) -> np.ndarray:
        """Whether each sentence but the last is in the next one's paragraph (every neighbour feature reads it)."""
        return self.sp[1:] == self.sp[:-1]

    @functools.cached_property
    def fused(self) -> np.ndarray:
        return self.s_zd + self.s_zb

    def best(self, values: np.ndarray) -> np.ndarray:
        """Each sentence's paragraph's highest of `values`."""
        return group_max(values, self.sp, self.n_p)[self.sp]


_NUMERIC: dict[str, Callable[[_Scores], np.ndarray]] = {
    "s_z_dense": lambda f: f.s_zd,
    "s_z_bm25": lambda f: f.s_zb,
    "s_cos": lambda f: f.c.sentence_dense,
    "s_cov": lambda f: f.c.sentence_coverage,
    "s_bigram": lambda f: f.c.sentence_bigram,
    "s_gap_dense": lambda f: f.s_zd.max() - f.s_zd,
    "s_gap_bm25": lambda f: f.s_zb.max() - f.s_zb,
    "s_lrank_dense": lambda f: log_rank(f.c.sentence_dense),
    "s_lrank_bm25": lambda f: log_rank(f.c.sentence_bm25),
    "s_len": lambda f: np.log1p(f.c.sentence_chars / 100.0),
    "s_first": lambda f: f.c.sentence_position == 0,
    "s_pos": lambda f: np.minimum(f.c.sentence_position, 10) / 10.0,
    "n_dense": lambda f: _neighbour(f.s_zd, f.same, -3.0),
    "n_bm25": lambda f: _neighbour(f.s_zb, f.same, -3.0),
    "n_cov": lambda f: _neighbour(f.c.sentence_coverage, f.same, 0.0),
    "p_z_dense": lambda f: f.p_zd[f.sp],
    "p_z_bm25": lambda f: f.p_zb[f.sp],
    "p_cov": lambda f: f.c.paragraph_coverage[f.sp],
    "p_gap_dense": lambda f: (f.p_zd.max() - f.p_zd)[f.sp],
    "p_gap_bm25": lambda f: (f.p_zb.max() - f.p_zb)[f.sp],
    "p_lrank_dense": lambda f: log_rank(f.c.paragraph_dense)[f.sp],
    "p_lrank_bm25": lambda f: log_rank(f.c.paragraph_bm25)[f.sp],
    "p_best_dense": lambda f: f.best(f.s_zd),
    "p_best_bm25": lambda f: f.best(f.s_zb),
    "p_best_cov": lambda f: f.best(f.c.sentence_coverage),
    "s_fused": lambda f: f.fused,
    "s_gap_fused": lambda f: f.fused.max() - f.fused,
}
assert tuple(_NUMERIC) == NUMERIC


@functools.lru_cache(maxsize=16)
def _columns(names: tuple[str, ...]) -> tuple[tuple[tuple[int, str], ...], np.ndarray, np.ndarray, np.ndarray]:
    """Where each of `names` goes: (column, numeric feature) pairs, then for the cue features their columns, cue
    indexes and the question kind each is crossed with (-1: the cue alone)."""
    numeric: list[tuple[int, str]] = []
    cue_at: list[int] = []
    cue: list[int] = []
    kind: list[int] = []
    for j, name in enumerate(names):
        i = SENTENCE_FEATURES.index(name) - len(NUMERIC)
        if i < 0:
            numeric.append((j, name))
        else:
            crossed, which = divmod(i, len(CUE_NAMES))
            cue_at.append(j)
            cue.append(which)
            kind.append(crossed - 1)
    as_array = lambda a: np.array(a, dtype=np.int64)  # noqa: E731
    return tuple(numeric), as_array(cue_at), as_array(cue), as_array(kind)


def sentence_matrix(c: Candidates, names: tuple[str, ...] = SENTENCE_FEATURES) -> np.ndarray:
    """One row per candidate sentence of the features `names` (SENTENCE_FEATURES' names; all of them by default),
    in that order. Only those are computed: the fitted ranker reads a few of the numeric ones."""
    scores = _Scores(c)
    numeric = _columns(names)[0]
    # Column-major, as the ranker's matrix always was (a column selection of the full one): a matrix-vector product
    # sums in another order over a row-major matrix, and the scores would move in their last bits.
    out = np.zeros((len(c.sentence_paragraph), len(names)), dtype=np.float32, order="F")
    for j, name in numeric:
        out[:, j] = _NUMERIC[name](scores)
    columns, cues = _cue_columns(names, c.kind)
    if isinstance(columns, slice):
        out[:, columns] = c.sentence_cues  # the question kind's cues, every one in order (the shipped ranker's)
    else:
        out[:, columns] = c.sentence_cues[:, cues]
    return out


@functools.lru_cache(maxsize=128)
def _cue_columns(names: tuple[str, ...], question_kind: int) -> tuple[slice | np.ndarray, np.ndarray]:
    """The columns of `names` a question of this kind fills with cues (question kind x cue is zero unless it is the
    question's own kind), and which cue each takes; the columns as a slice when they are all the cues in order."""
    _, cue_at, cue, kind = _columns(names)
    held = (kind < 0) | (kind == question_kind)
    columns, cues = cue_at[held], cue[held]
    run = len(columns) == len(CUE_NAMES) and bool(np.all(np.diff(columns) == 1)) and bool(np.all(np.diff(cues) == 1))
    return (slice(int(columns[0]), int(columns[-1]) + 1) if run and cues[0] == 0 else columns), cues
