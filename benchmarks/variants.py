"""The same question gets the same reply: how often a trivial variant changes what the bot shows.

Every question of the reader-style set is asked as written and as `count` variants drawn by `training.variants`
(case, punctuation, a greeting, a filler, an emoji, a trailing tag, a small typo; seeded, so a run repeats). A
variant flips when its reply differs from the question's own: another tier (answered, closest, not covered) or
another first quote. Reported overall and by the kind of change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from training.variants import variants

from .reader_set import ReaderSet
from .story_asker import Asker, Reply

VARIANTS_PER_QUESTION = 4


@dataclass(frozen=True)
class FlipScores:
    variants: int
    flips: int
    by_change: dict[str, tuple[int, int]]  # change -> (variants with it, flips)
    examples: list[tuple[str, str]]  # (question, a variant that flipped)

    @property
    def rate(self) -> float:
        return self.flips / self.variants if self.variants else 0.0


def same_reply(a: Reply, b: Reply) -> bool:
    return (a.quote is None) == (b.quote is None) and a.confident == b.confident and a.quote == b.quote


def evaluate_variants(
    reader_set: ReaderSet, ask: Asker, count: int = VARIANTS_PER_QUESTION, seed: int = 18
) -> FlipScores:
    total = flips = 0
    by_change: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    examples: list[tuple[str, str]] = []
    for slug, story in reader_set.stories.items():
        questions = [q.question for q in reader_set.questions if q.story == slug]
        drawn = [variants(q, count, seed) for q in questions]
        flat: Sequence[str] = questions + [v for group in drawn for v, _ in group]
        replies = ask(story, list(flat))
        own, rest = replies[: len(questions)], replies[len(questions) :]
        k = 0
        for question, reply, group in zip(questions, own, drawn):
            for text, changes in group:
                flipped = not same_reply(reply, rest[k])
                k += 1
                total += 1
                flips += flipped
                for change in changes:
                    by_change[change][0] += 1
                    by_change[change][1] += flipped
                if flipped and len(examples) < 12:
                    examples.append((question, text))
    return FlipScores(total, flips, {c: (n, f) for c, (n, f) in sorted(by_change.items())}, examples)


def format_flips(scores: FlipScores) -> str:
    lines = [f"{scores.variants} variants, {scores.flips} change the reply: {scores.rate:.3f}"]
    for change, (n, f) in scores.by_change.items():
        lines.append(f"  {change:<12} {f:>4} of {n:>4}  {f / max(n, 1):.3f}")
    lines += [f"  e.g. {q!r} -> {v!r}" for q, v in scores.examples[:6]]
    return "\n".join(lines)
