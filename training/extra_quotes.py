"""The cut-off for a second or third quote: the ranker logit at which an extra quote holds the answer often enough.

A newsroom would rather show one right quote than one right and one wrong, so a paragraph other than the top one
is quoted only when its own best sentence's ranker logit clears `extra_quote_min_logit`. The cut is fitted on
SQuAD validation questions: the lowest logit at which the extra quotes that clear it hold a gold answer at least
`precision` of the time. "Holds the answer" means the quoted sentences (the best one, joined by its likelier
neighbour as index.quoting.quote_text does) include a gold-answer sentence of the gold paragraph, a strict reading: an
extra quote that repeats the answer from another paragraph counts as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from index.candidates import Candidates
from index.ranking import MAX_QUOTE_CHARS, Weights, rank


class Labelled(Protocol):
    candidates: Candidates
    positive: np.ndarray


def quoted_sentences(c: Candidates, scores: np.ndarray, best: int, ratio: float) -> list[int]:
    """Candidate positions index.quoting.quote_text would quote around `best` (the best, maybe one neighbour)."""
    p = 1 / (1 + np.exp(-scores))
    near = [
        i for i in (best - 1, best + 1) if 0 <= i < len(p) and c.sentence_paragraph[i] == c.sentence_paragraph[best]
    ]
    chosen = [best]
    if near:
        other = max(near, key=lambda i: p[i])
        if p[other] >= ratio * p[best] and c.sentence_chars[[best, other]].sum() <= MAX_QUOTE_CHARS:
            chosen.append(other)
    return chosen


def extra_quotes(examples: Sequence[Labelled], w: Weights, top_k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(logit, holds the answer) for every 2nd..top_k-th paragraph within the margin, over `examples`."""
    logits, right = [], []
    for e in examples:
        r = rank(e.candidates, w)
        top = float(r.paragraph_score[r.paragraph_order[0]])
        for para in r.paragraph_order[1:top_k]:
            score = float(r.paragraph_score[para])
            if top - score > w.extra_quote_margin:
                break
            chosen = quoted_sentences(e.candidates, r.sentence_score, int(r.best_sentence[para]), w.neighbour_ratio)
            logits.append(score)
            right.append(bool(e.positive[chosen].any()))
    return np.asarray(logits, dtype=np.float64), np.asarray(right, dtype=bool)


NEVER = 40.0  # a logit no sentence reaches (serving clips logits to +-40): no cut met the precision


def fit_cut(logits: np.ndarray, right: np.ndarray, precision: float, least: int = 20) -> float:
    """The lowest logit whose extra quotes at or above it (at least `least` of them, so that a lucky few at the
    very top do not set it) are right at least `precision` of the time; NEVER when no such logit exists."""
    order = np.argsort(-logits, kind="stable")
    rate = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero((rate >= precision) & (np.arange(1, len(order) + 1) >= least))
    return float(logits[order][ok[-1]]) if len(ok) else NEVER


def report(logits: np.ndarray, right: np.ndarray, cut: float, questions: int) -> dict[str, float]:
    """How often extra quotes appear (per question) and how often they are right, before and after the cut."""
    shown = logits >= cut
    return {
        "cut_logit": cut,
        "extra_before_per_question": float(len(logits) / max(questions, 1)),
        "extra_before_right": float(right.mean()) if len(right) else 0.0,
        "extra_after_per_question": float(shown.sum() / max(questions, 1)),
        "extra_after_right": float(right[shown].mean()) if shown.any() else 0.0,
        "extra_after_count": float(shown.sum()),
    }
