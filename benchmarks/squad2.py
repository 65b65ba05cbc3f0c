"""SQuAD 2.0 dev on held-out articles: quote the answer when the article has it, stay silent when it doesn't.

Half of SQuAD 2.0's questions were written by crowdworkers to look answerable from a paragraph that doesn't
answer them ("What is France a region of?" beside "Normandy, a region in France"): the words are all in the
story, the answer isn't. Each question is asked on its own article, as a reader asks about the story in front of
them; an unanswerable one is declined when the engine gives no quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.data import SQUAD2_DEV_ARTICLES, Squad2Article, Squad2Question, read_held_out

from .story_asker import Asker, Reply, quote_holds_answer

DEFAULT_FILE = Path("../shared/eval/squad-dev-v2.0-other-articles.json.gz")
HELD_OUT = SQUAD2_DEV_ARTICLES  # never trained on (training/data.py)
__all__ = [
    "HELD_OUT",
    "Squad2Article",
    "Squad2Question",
    "Squad2Scores",
    "ask_squad2",
    "evaluate_squad2",
    "read_held_out",
]


@dataclass(frozen=True)
class Squad2Scores:
    answerable: int
    quote: float  # the first quote holds a gold answer (a decline is a miss)
    answered: float  # answerable questions that got a quote at all
    unanswerable: int
    declined: float  # unanswerable questions that got no quote


def ask_squad2(articles: Sequence[Squad2Article], ask: Asker) -> dict[str, list[tuple[Squad2Question, Reply]]]:
    """Each article's questions with their replies, by title: every question asked on its own article."""
    pairs: dict[str, list[tuple[Squad2Question, Reply]]] = {}
    for article in articles:
        replies = ask(article.story, [q.question for q in article.questions])
        pairs[article.title] = list(zip(article.questions, replies, strict=True))
    return pairs


def evaluate_squad2(
    articles: Sequence[Squad2Article],
    ask: Asker,
    pairs: dict[str, list[tuple[Squad2Question, Reply]]] | None = None,
) -> dict[str, Squad2Scores]:
    """Scores per article and over all of them ('all'); the replies are asked, or given as `pairs` (`ask_squad2`)."""
    pairs = ask_squad2(articles, ask) if pairs is None else pairs
    results = {title: _scores(group) for title, group in pairs.items()}
    results["all"] = _scores([pair for group in pairs.values() for pair in group])
    return results


def _scores(pairs: Sequence[tuple[Squad2Question, Reply]]) -> Squad2Scores:
    on = [(q, r) for q, r in pairs if q.answers]
    off = [r for q, r in pairs if not q.answers]
    return Squad2Scores(
        answerable=len(on),
        quote=sum(quote_holds_answer(r.quote, q.answers) for q, r in on) / max(len(on), 1),
        answered=sum(r.quote is not None for _, r in on) / max(len(on), 1),
        unanswerable=len(off),
        declined=sum(r.quote is None for r in off) / max(len(off), 1),
    )
