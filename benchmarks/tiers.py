"""Scoring the three replies (answered, closest, not covered) the same way on every dev set.

Each dev set turns its questions into `Scored` rows: what kind of question it was (the story answers it; it is
on the subject but the story doesn't answer it; off topic), whether the first quote shown was right, and the reply.
`tier_scores` then gives the figures the targets are stated in:

- **right when shown**: of the answerable questions that got a quote (answered or closest), the share whose first
  quote is right;
- **right and confident**: of all answerable questions, the share answered (the confident tier) with a right quote;
- **not confident**: of the questions the story doesn't answer, the share not given the confident tier;
- **no quote**: of the off-topic questions, the share given no quote at all;
- **precision**: of all confident replies, the share whose first quote is right (the confident threshold's aim);
- **AUC**: how well the confidence separates answerable questions from those the story doesn't answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .story_asker import Reply

Kind = Literal["answerable", "unanswered", "off_topic"]


@dataclass(frozen=True)
class Scored:
    kind: Kind
    right: bool  # the first quote is right (always False for the questions a story doesn't answer)
    reply: Reply


@dataclass(frozen=True)
class TierScores:
    answerable: int
    unanswered: int
    off_topic: int
    shown: float | None  # answerable questions given a quote
    right_when_shown: float | None
    right_confident: float | None
    not_confident: float | None
    no_quote_unanswered: float | None
    no_quote_off: float | None
    precision: float | None
    auc: float | None


def _share(flags: Sequence[bool]) -> float | None:
    return float(np.mean(flags)) if len(flags) else None


def auc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(a random positive scores above a random negative), ties counting half (Mann-Whitney U)."""
    if not len(positive) or not len(negative):
        return None
    values = np.concatenate([np.asarray(positive, float), np.asarray(negative, float)])
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # average ranks of ties
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    n_pos = len(positive)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * len(negative)))


def tier_scores(rows: Sequence[Scored]) -> TierScores:
    on = [r for r in rows if r.kind == "answerable"]
    un = [r for r in rows if r.kind == "unanswered"]
    off = [r for r in rows if r.kind == "off_topic"]
    shown = [r for r in on if r.reply.quote is not None]
    confident = [r for r in rows if r.reply.confident]
    return TierScores(
        answerable=len(on),
        unanswered=len(un),
        off_topic=len(off),
        shown=_share([r.reply.quote is not None for r in on]),
        right_when_shown=_share([r.right for r in shown]),
        right_confident=_share([r.right and r.reply.confident for r in on]),
        not_confident=_share([not r.reply.confident for r in un]),
        no_quote_unanswered=_share([r.reply.quote is None for r in un]),
        no_quote_off=_share([r.reply.quote is None for r in off]),
        precision=_share([r.right for r in confident]),
        auc=auc([r.reply.confidence for r in on], [r.reply.confidence for r in un + off]),
    )


def figure(value: float | None) -> str:
    """A rate to three places, or a dash where it wasn't measured."""
    return "–" if value is None else f"{value:.3f}"


def format_tiers(results: dict[str, TierScores]) -> str:
    head = (
        f"{'dev set':<26} {'n on/un/off':>13} {'shown':>6} {'right|shown':>11} {'right+conf':>10} "
        f"{'un not conf':>11} {'un no quote':>11} {'off no quote':>12} {'precision':>9} {'AUC':>6}"
    )
    lines = [head]
    for name, s in results.items():
        n = f"{s.answerable}/{s.unanswered}/{s.off_topic}"
        lines.append(
            f"{name:<26} {n:>13} {figure(s.shown):>6} {figure(s.right_when_shown):>11} {figure(s.right_confident):>10} "
            f"{figure(s.not_confident):>11} {figure(s.no_quote_unanswered):>11} {figure(s.no_quote_off):>12} "
            f"{figure(s.precision):>9} {figure(s.auc):>6}"
        )
    return "\n".join(lines)
