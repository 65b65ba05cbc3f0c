"""SQuAD 2.0 dev on held-out articles: quote the answer when the article has it, stay silent when it doesn't.

Half of SQuAD 2.0's questions were written by crowdworkers to look answerable from a paragraph that doesn't
answer them ("What is France a region of?" beside "Normandy, a region in France"): the words are all in the
story, the answer isn't. Each question is asked on its own article, as a reader asks about the story in front of
them; an unanswerable one is declined when the engine gives no quote.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.models import Story
from training.data import SQUAD2_DEV_ARTICLES, story_from_paragraphs

from .story_asker import Asker, Reply, quote_holds_answer

DEFAULT_FILE = Path("../shared/eval/squad-dev-v2.0-other-articles.json.gz")
HELD_OUT = SQUAD2_DEV_ARTICLES  # never trained on (training/data.py)


@dataclass(frozen=True)
class Squad2Question:
    question: str
    answers: tuple[str, ...]  # empty: unanswerable


@dataclass(frozen=True)
class Squad2Article:
    title: str
    story: Story
    questions: list[Squad2Question]


@dataclass(frozen=True)
class Squad2Scores:
    answerable: int
    quote: float  # the first quote holds a gold answer (a decline is a miss)
    answered: float  # answerable questions that got a quote at all
    unanswerable: int
    declined: float  # unanswerable questions that got no quote


def read_held_out(path: Path, titles: Sequence[str] = HELD_OUT) -> list[Squad2Article]:
    """The `titles` articles of a SQuAD 2.0 file (JSON, optionally .gz) as engine stories with their questions."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        raw = {a["title"]: a for a in json.load(handle)["data"]}
    missing = [t for t in titles if t not in raw]
    if missing:
        raise ValueError(f"{path}: no article {', '.join(missing)}; is it SQuAD 2.0's dev split?")
    return [_article(raw[title]) for title in titles]


def _article(raw: dict[str, Any]) -> Squad2Article:
    slug = re.sub(r"[^a-z0-9]+", "-", raw["title"].lower()).strip("-")[:90]
    story = story_from_paragraphs(slug, [p["context"] for p in raw["paragraphs"]])
    questions = [
        Squad2Question(qa["question"], () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"]))
        for p in raw["paragraphs"]
        for qa in p["qas"]
    ]
    return Squad2Article(raw["title"], story, questions)


def evaluate_squad2(articles: Sequence[Squad2Article], ask: Asker) -> dict[str, Squad2Scores]:
    """Scores per article and over all of them ('all')."""
    pairs: dict[str, list[tuple[Squad2Question, Reply]]] = {}
    for article in articles:
        replies = ask(article.story, [q.question for q in article.questions])
        pairs[article.title] = list(zip(article.questions, replies, strict=True))
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
