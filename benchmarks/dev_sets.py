"""Every dev set as `Scored` rows for the three-reply figures, and the summary against the targets.

The targets are the product's bar for readers' own questions (the reply tiers, real queries, trivial variants);
"before" is main at 257509c (two replies; the cross-encoder off), measured by this benchmark on 2026-12-02.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .reader_set import ReaderQuestion, is_right
from .squad2 import Squad2Question
from .story_asker import Reply, quote_holds_answer
from .tiers import Scored, figure


def squad2_rows(pairs: Mapping[str, Sequence[tuple[Squad2Question, Reply]]]) -> list[Scored]:
    """Answerable questions score by their first quote; unanswerable ones (tricks) are the unanswered kind."""
    return [
        Scored("answerable", quote_holds_answer(r.quote, q.answers), r) if q.answers else Scored("unanswered", False, r)
        for group in pairs.values()
        for q, r in group
    ]


def reader_rows(pairs: Sequence[tuple[ReaderQuestion, Reply]]) -> list[Scored]:
    kinds = {"answerable": "answerable", "near_topic": "unanswered", "off_topic": "off_topic"}
    return [Scored(kinds[q.kind], q.kind == "answerable" and is_right(q, r), r) for q, r in pairs]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Target:
    dev_set: str
    metric: str
    target: float
    before: float | None
    at_most: bool = False  # the figure must stay at or below the target (a rate of failures)


TARGETS: dict[str, Target] = {
    "readers.right_shown": Target("reader set", "answerable: first quote right when shown", 0.92, 0.754),
    "readers.right_confident": Target("reader set", "answerable: right and confident", 0.75, 0.46),
    "readers.near_not_confident": Target("reader set", "near-topic not confident", 0.85, 0.704),
    "readers.off_no_quote": Target("reader set", "off-topic no quote", 1.00, 1.0),
    "readers.auc": Target("reader set", "AUC answerable vs not", 0.0, 0.8),
    "qed.right_shown": Target("QED held-out", "first quote right when shown", 0.82, 0.759),
    "qed.right_confident": Target("QED held-out", "right and confident", 0.70, 0.487),
    "qed.near_not_confident": Target("QED held-out", "near-topic paragraph: not confident", 0.0, 0.944),
    "qed.auc": Target("QED held-out", "AUC answerable vs near-topic", 0.0, 0.892),
    "quiz.right_shown": Target("news quiz 2026", "first quote right when shown", 0.0, 0.885),
    "quiz.right_confident": Target("news quiz 2026", "right and confident", 0.0, 0.776),
    "squad2.right_shown": Target("SQuAD 2.0 dev articles", "answerable: first quote right when shown", 0.88, 0.872),
    "squad2.not_confident": Target("SQuAD 2.0 dev articles", "trick questions not confident", 0.60, 0.055),
    "squad2.auc": Target("SQuAD 2.0 dev articles", "AUC answerable vs trick", 0.0, 0.586),
    "story.quote": Target("Notre_Dame", "first quote holds the answer", 0.86, 0.788),
    "story.off_no_quote": Target("Notre_Dame", "off-topic no quote", 0.0, 0.833),
    "off.no_quote": Target("off-topic at scale", "no quote", 0.99, 1.0),
    "variants.flips": Target("your variants", "replies that change", 0.02, 0.155, at_most=True),
    "all.precision": Target("dev sets together", "precision of confident replies", 0.90, 0.545),
}


def summary_table(now: Mapping[str, float | None]) -> str:
    """A Markdown table (pastes into notes and issues as it is); a target of 0 is reported, not judged."""
    lines = ["| dev set | measure | target | before | now | met |", "|---|---|---|---|---|---|"]
    for key, t in TARGETS.items():
        value = now.get(key)
        if not t.target:
            bar, met = "–", "–"
        else:
            bar = f"≤ {t.target:.2f}" if t.at_most else f"≥ {t.target:.2f}"
            ok = value is not None and (value <= t.target + 1e-9 if t.at_most else value >= t.target - 1e-9)
            met = "–" if value is None else ("yes" if ok else f"no ({value - t.target:+.3f})")
        lines.append(f"| {t.dev_set} | {t.metric} | {bar} | {figure(t.before)} | {figure(value)} | {met} |")
    return "\n".join(lines)
