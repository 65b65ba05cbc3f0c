"""Trivial rewordings of a question, the way readers vary the same question in a chat.

A reply that changes when a reader adds "pls" or drops the "?" is a knife edge, not a decision. This generator
draws random combinations of changes that keep the meaning (case, punctuation, a greeting, a filler word, an
emoji, a trailing tag, a small typo) for two uses: training (a share of training questions is rewritten, so the
models see readers' noise) and measuring (`benchmarks.variants`: how often a variant changes the reply).

Every change is drawn from open classes, not a fixed list of variants: typos are random edits of random words,
and the greeting, filler, emoji and tag pools are combined at random positions and cases.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

GREETINGS = ("hi", "hey", "hello", "yo", "hiya", "hey there", "hi bot", "hey bot", "good morning", "ok so", "um")
FILLERS = ("pls", "please", "quick question", "just wondering", "so", "can you tell me", "i wanna know", "btw", "um")
TRAILING_FILLERS = ("pls", "please", "btw", "then", "anyway", "again")
EMOJI = ("🙏", "😅", "🤔", "👀", "😭", "❓", "🔥", "😬", "🙂", "💀", "🇺🇸")
TAGS = ("lol", "thx", "thanks", "thank you!", "ty", "asking for a friend", "anyone?", "lmao", "idk", "tia", "plz")
_WORD = re.compile(r"[A-Za-z]{4,}")
_KEYS = "abcdefghijklmnopqrstuvwxyz"


def _case(q: str, rng: random.Random) -> str:
    return rng.choice((q.lower(), q.upper(), q.capitalize(), q.title(), q.swapcase() if rng.random() < 0.1 else q))


def _punctuation(q: str, rng: random.Random) -> str:
    bare = q.rstrip(" ?!.")
    return bare + rng.choice(("", "?", "??", "???", "?!", ".", " ?", "!"))


def _greeting(q: str, rng: random.Random) -> str:
    greeting = rng.choice(GREETINGS)
    greeting = greeting.capitalize() if rng.random() < 0.5 else greeting
    return f"{greeting}{rng.choice((' ', ', ', '! ', ' - '))}{q}"


def _filler(q: str, rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"{rng.choice(FILLERS)}{rng.choice((' ', ', ', ': '))}{q[:1].lower()}{q[1:]}"
    return f"{q.rstrip(' ?!.')} {rng.choice(TRAILING_FILLERS)}{rng.choice(('?', '', ' ?'))}"


def _emoji(q: str, rng: random.Random) -> str:
    marks = "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 2)))
    return f"{marks} {q}" if rng.random() < 0.3 else f"{q} {marks}"


def _tag(q: str, rng: random.Random) -> str:
    return f"{q}{rng.choice((' ', ' ', ', '))}{rng.choice(TAGS)}"


def _typo(q: str, rng: random.Random) -> str:
    """One small edit inside one word of 4+ letters: a swap of two neighbours, a dropped, doubled or wrong letter."""
    words = list(_WORD.finditer(q))
    if not words:
        return q
    m = rng.choice(words)
    w = m.group()
    i = rng.randrange(1, len(w) - 1)  # keep the first letter: readers rarely miss it
    kind = rng.randrange(4)
    if kind == 0:
        new = w[:i] + w[i + 1] + w[i] + w[i + 2 :] if i + 1 < len(w) else w[:i] + w[i + 1 :]
    elif kind == 1:
        new = w[:i] + w[i + 1 :]
    elif kind == 2:
        new = w[:i] + w[i] + w[i:]
    else:
        new = w[:i] + rng.choice(_KEYS) + w[i + 1 :]
    return q[: m.start()] + new + q[m.end() :]


CHANGES: dict[str, Callable[[str, random.Random], str]] = {
    "case": _case,
    "punctuation": _punctuation,
    "greeting": _greeting,
    "filler": _filler,
    "emoji": _emoji,
    "tag": _tag,
    "typo": _typo,
}


def variant(question: str, rng: random.Random, kinds: tuple[str, ...] | None = None) -> tuple[str, tuple[str, ...]]:
    """One rewording of `question` and the changes it made: 1-3 changes, drawn at random, applied in random order.

    `kinds` restricts the draw (one change of that kind each); the result always differs from the question."""
    for _ in range(10):
        chosen = list(kinds) if kinds else rng.sample(list(CHANGES), rng.choice((1, 1, 2, 2, 3)))
        rng.shuffle(chosen)
        text = question
        for kind in chosen:
            text = CHANGES[kind](text, rng)
        if text != question:
            return text, tuple(chosen)
    return question + "?", ("punctuation",)


def variants(question: str, count: int, seed: str | int) -> list[tuple[str, tuple[str, ...]]]:
    """`count` distinct rewordings of `question`, seeded by `seed` (and the question) so a run can be repeated."""
    rng = random.Random(f"{seed}|{question}")
    out: dict[str, tuple[str, ...]] = {}
    for _ in range(count * 5):
        text, kinds = variant(question, rng)
        out.setdefault(text, kinds)
        if len(out) == count:
            break
    return list(out.items())
