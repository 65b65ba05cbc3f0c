"""What `benchmarks.quality` prints: one table per data set, then one summary against issue 12's targets.

The summary's "before" column is the engine on main before the reader model (commit 54feb3b, 2026-11-30: fitted
ranker and abstention, embedder adapter, question cleaning in), measured by this benchmark, so every run shows
the way from there to its own figures ("now") and to the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .reader_set import ReaderScores
from .squad2 import Squad2Scores

if TYPE_CHECKING:
    from .quality import Metrics


@dataclass(frozen=True)
class Target:
    dev_set: str
    metric: str
    target: float
    before: float | None


TARGETS: dict[str, Target] = {
    "story.top1": Target("Notre_Dame (story)", "top-1", 0.90, 0.885),
    "story.quote": Target("Notre_Dame (story)", "first quote holds answer", 0.86, 0.788),
    "squad2.quote": Target("SQuAD 2.0 held-out", "answerable: first quote holds answer", 0.86, 0.850),
    "squad2.declined": Target("SQuAD 2.0 held-out", "unanswerable declined", 0.60, 0.055),
    "readers.right": Target("reader-style set", "answerable: right quote", 0.90, 0.460),
    "readers.near": Target("reader-style set", "near-topic declined", 0.85, 0.704),
    "readers.off": Target("reader-style set", "off-topic declined", 1.00, 1.000),
}


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def summary_table(now: Mapping[str, float | None]) -> str:
    """A Markdown table (pastes into notes and issues as it is); a section not run shows "–" and no verdict."""
    lines = [
        "| dev set | metric | target | before | now | met |",
        "|---|---|---|---|---|---|",
    ]
    for key, t in TARGETS.items():
        value = now.get(key)
        met = "–" if value is None else ("yes" if value >= t.target - 1e-9 else f"no ({value - t.target:+.3f})")
        lines.append(
            f"| {t.dev_set} | {t.metric} | ≥ {t.target:.2f} | {_figure(t.before)} | {_figure(value)} | {met} |"
        )
    return "\n".join(lines)


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
            f"{name:<32} {_figure(s.right):>6} {_figure(s.answered):>9} {_figure(s.near_declined):>14} "
            f"{_figure(s.off_declined):>13} {counts:>10}"
        )
    return "\n".join(lines)
