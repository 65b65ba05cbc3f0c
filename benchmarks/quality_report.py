"""What `benchmarks.quality` prints for the story, SQuAD 2.0 and reader-style sections: one table each (the three
replies and the summary against the targets are `benchmarks.tiers` and `benchmarks.dev_sets`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .reader_set import ReaderScores
from .squad2 import Squad2Scores
from .tiers import figure

if TYPE_CHECKING:
    from .story_systems import Metrics


def format_story(results: Mapping[str, Metrics], n_on: int, n_off: int) -> str:
    lines = [
        f"{n_on} on-topic questions, {n_off} off-topic",
        f"{'system':<11} {'top-1':>6} {'top-3':>6} {'quote':>6} {'answered':>9} {'abstained':>10} {'p50 ms':>7}",
    ]
    for name, m in results.items():
        lines.append(
            f"{name:<11} {m.top1:>6.3f} {m.top3:>6.3f} {m.first_quote:>6.3f} {m.answered:>9.3f} "
            f"{m.abstained:>10.3f} {m.p50_ms:>7.1f}"
        )
    return "\n".join(lines)


def format_squad2(results: Mapping[str, Squad2Scores]) -> str:
    lines = [f"{'article':<32} {'answerable':>10} {'quote':>6} {'answered':>9} {'unanswerable':>12} {'declined':>9}"]
    for title, s in results.items():
        lines.append(
            f"{title:<32} {s.answerable:>10} {s.quote:>6.3f} {s.answered:>9.3f} {s.unanswerable:>12} {s.declined:>9.3f}"
        )
    return "\n".join(lines)


def format_readers(results: Mapping[str, ReaderScores]) -> str:
    """Right = answered from a gold paragraph with a quote holding a gold answer; n = answerable/near/off."""
    head = f"{'group':<32} {'right':>6} {'answered':>9} {'near declined':>14} {'off declined':>13} {'n':>10}"
    lines = [head]
    for name, s in results.items():
        counts = f"{s.answerable}/{s.near_topic}/{s.off_topic}"
        lines.append(
            f"{name:<32} {figure(s.right):>6} {figure(s.answered):>9} {figure(s.near_declined):>14} "
            f"{figure(s.off_declined):>13} {counts:>10}"
        )
    return "\n".join(lines)
