"""Question–sentence pairs for the cross-encoder: what it must learn to tell apart, from SQuAD.

Sentences are split by the engine's own parser (`training.data.squad_article`), so the model sees the sentences
serving will show it. For an answerable question the positive is the sentence of its paragraph that holds a gold
answer; negatives are another sentence of that paragraph, the article's best lexical (BM25) and dense matches
that hold no answer, and a sentence of another article. For SQuAD 2.0's unanswerable questions (written to look
answerable from their paragraph) the paragraph's best-matching sentences are negatives: word overlap is not an
answer. A sentence holding any gold answer text is never a negative (SQuAD answers repeat: "1842", "Paris").

SQuAD 2.0 split, fixed for every helper: its 31 articles sorted by title, those at positions 0, 4, ..., 28 are
the dev articles. The brief that fixed the split named Pharmacy and Sky_(United_Kingdom) where the rule gives
Packet_switching and Scottish_Parliament, so all ten are held out of training: either dev list stays unseen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.embedder import Encoder
from index.lexical import BM25

from .data import SQUAD2_DEV_ARTICLES, squad_article

DEV_ARTICLES_V2 = SQUAD2_DEV_ARTICLES
NEVER_TRAIN_V2 = (*DEV_ARTICLES_V2, "Packet_switching", "Scottish_Parliament")


@dataclass(frozen=True)
class Pair:
    question: str
    sentence: str
    label: float


@dataclass
class ArticleText:
    """One article's sentences (engine split) with the paragraph each sits in, and its questions."""

    title: str
    sentences: list[str]
    paragraph_of: np.ndarray  # sentence row -> 0-based paragraph
    questions: list[tuple[str, int, list[str]]]  # question, 0-based paragraph, gold answers ([] = unanswerable)


def article_text(raw: dict[str, Any]) -> ArticleText:
    """Sentences by the engine's splitter; SQuAD 2.0's unanswerable questions keep their paragraph, no answers."""
    article = squad_article(raw)
    sentences: list[str] = []
    paragraph_of: list[int] = []
    for index, paragraph in enumerate(article.story.paragraphs):
        for i in range(len(paragraph.sentences)):
            sentences.append(paragraph.sentence_text(i))
            paragraph_of.append(index)
    questions = [
        (qa["question"], number, [] if qa.get("is_impossible") else [a["text"] for a in qa["answers"]])
        for number, p in enumerate(raw["paragraphs"])
        for qa in p["qas"]
    ]
    return ArticleText(raw["title"], sentences, np.array(paragraph_of), questions)


def holds(sentence: str, answers: Sequence[str]) -> bool:
    low = sentence.lower()
    return any(a.strip() and a.lower() in low for a in answers)


class ArticleScorer:
    """BM25 and (optionally) cosine scores of a question against every sentence of one article."""

    def __init__(self, article: ArticleText, encoder: Encoder | None) -> None:
        self.bm25 = BM25.fit(article.sentences)
        self.encoder = encoder
        self.vectors = encoder.encode(article.sentences) if encoder is not None else None

    def scores(self, question: str, vector: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        ids, _ = self.bm25.query_terms(question)
        lexical = self.bm25.scores(ids)
        dense = self.vectors @ vector if self.vectors is not None and vector is not None else None
        return lexical, dense


def _best(order: np.ndarray, allowed: np.ndarray, taken: set[int], k: int) -> list[int]:
    out: list[int] = []
    for row in order:
        if allowed[row] and int(row) not in taken:
            out.append(int(row))
            taken.add(int(row))
            if len(out) == k:
                break
    return out


def article_pairs(
    article: ArticleText,
    others: Sequence[ArticleText],
    encoder: Encoder | None,
    rng: random.Random,
    *,
    max_questions: int | None = None,
    unanswerable_negatives: int = 3,
) -> list[Pair]:
    """Labelled pairs for (up to `max_questions` of) the article's questions; see the module docstring."""
    questions = list(article.questions)
    rng.shuffle(questions)
    questions = questions[:max_questions] if max_questions else questions
    if not questions:
        return []
    scorer = ArticleScorer(article, encoder)
    vectors = encoder.encode([q for q, _, _ in questions]) if encoder is not None else [None] * len(questions)
    pairs: list[Pair] = []
    for (question, paragraph, answers), vector in zip(questions, vectors):
        lexical, dense = scorer.scores(question, vector)
        in_paragraph = article.paragraph_of == paragraph
        if not answers:  # unanswerable: the paragraph's best matches, lexical then dense
            taken: set[int] = set()
            rows = _best(np.argsort(-lexical), in_paragraph, taken, unanswerable_negatives - 1)
            if dense is not None:
                rows += _best(np.argsort(-dense), in_paragraph, taken, 1)
            rows += _best(np.argsort(-lexical), in_paragraph, taken, unanswerable_negatives - len(rows))
            pairs += [Pair(question, article.sentences[r], 0.0) for r in rows]
            continue
        holding = np.array([holds(s, answers) for s in article.sentences])
        gold = np.flatnonzero(holding & in_paragraph)
        if not len(gold):
            continue  # the answer spans a sentence break: no one sentence holds it
        pairs.append(Pair(question, article.sentences[int(gold[0])], 1.0))
        free = ~holding
        taken = set()
        same = [int(r) for r in np.flatnonzero(free & in_paragraph)]
        rows = [rng.choice(same)] if same else []
        taken.update(rows)
        rows += _best(np.argsort(-lexical), free, taken, 2)
        if dense is not None:
            rows += _best(np.argsort(-dense), free, taken, 1)
        pairs += [Pair(question, article.sentences[r], 0.0) for r in rows]
        if others:
            other = rng.choice(others)
            pairs.append(Pair(question, rng.choice(other.sentences), 0.0))
    return pairs


CHAT_WORDS = {
    "you": "u",
    "are": "r",
    "people": "ppl",
    "because": "bc",
    "what's": "whats",
    "about": "abt",
    "please": "pls",
    "before": "b4",
    "with": "w/",
    "doesn't": "doesnt",
    "didn't": "didnt",
}


def chat_spelling(question: str, rng: random.Random) -> str:
    """The question as typed in a chat: lower case, no final '?', some words shortened or dropped."""
    text = question.strip().rstrip("?").strip()
    if rng.random() < 0.8:
        text = text.lower()
    words = text.split()
    out = []
    for word in words:
        low = word.lower()
        if low in CHAT_WORDS and rng.random() < 0.6:
            out.append(CHAT_WORDS[low])
        elif low in ("the", "a", "an") and rng.random() < 0.3:
            continue
        else:
            out.append(word)
    text = " ".join(out) or text
    if rng.random() < 0.3:
        text += rng.choice(("??", " ?", "?!", " lol"))
    return text


def chat_spelled(pairs: list[Pair], share: float, rng: random.Random) -> list[Pair]:
    """`share` of the questions (all their pairs alike) rewritten by `chat_spelling`."""
    if share <= 0:
        return pairs
    rewritten: dict[str, str] = {}
    for question in sorted({p.question for p in pairs}):
        if rng.random() < share:
            rewritten[question] = chat_spelling(question, rng)
    return [Pair(rewritten.get(p.question, p.question), p.sentence, p.label) for p in pairs]
