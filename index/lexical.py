"""The lexical half of retrieval: a tokenizer that respects names, figures and hyphens, and BM25.

BM25 weights are precomputed into a sparse (documents x terms) matrix at build time, so scoring a question
is one column slice and a sum. The same matrix gives IDF-weighted coverage of the question's words, a
feature that tells "the story talks about this" from "the story uses a few of these words".
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
    ]
)
# Chat spellings readers use; mapped before stemming so "ppl" finds "people".
CHAT_WORDS = {"ppl": "people", "govt": "government", "gov": "government", "u": "you", "ur": "your", "bc": "because"}


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Stemmed, lower-cased terms; '115,000' becomes '115000', 'Israeli-led' gives 'isra' and 'led'."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = []
    for match in _WORD.finditer(text):
        word = match.group(0).replace("’", "'")
        if word[0].isdigit():
            words.append(word.replace(",", "").rstrip("."))
            continue
        word = word.split("'")[0]
        word = CHAT_WORDS.get(word, word)
        if keep_stopwords or word not in STOPWORDS:
            words.append(word)
    return [w if w[0].isdigit() else s for w, s in zip(words, _stemmer().stemWords(words))]


@dataclass
class BM25:
    """BM25 over a fixed list of documents (paragraphs or sentences)."""

    vocab: dict[str, int]
    idf: np.ndarray  # per term
    weights: sp.csc_matrix  # documents x terms, BM25 term weights
    num_docs: int

    @classmethod
    def fit(cls, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        tokenized = [tokenize(d) for d in documents]
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, terms in enumerate(tokenized):
            counts: dict[int, int] = {}
            for term in terms:
                col = vocab.setdefault(term, len(vocab))
                counts[col] = counts.get(col, 0) + 1
            for col, tf in counts.items():
                rows.append(row)
                cols.append(col)
                vals.append(tf)
        n = len(documents)
        tf = sp.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab)).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        lengths = np.array([len(t) for t in tokenized], dtype=np.float64)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths / avg)
        coo = tf.tocoo()
        data = idf[coo.col] * coo.data * (k1 + 1) / (coo.data + norm[coo.row])
        weights = sp.csc_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=tf.shape)
        return cls(vocab=vocab, idf=idf.astype(np.float32), weights=weights, num_docs=n)

    def unseen_idf(self) -> float:
        return float(math.log1p((self.num_docs + 0.5) / 0.5))

    def query_terms(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """(term ids found in the vocabulary, IDF of every distinct question term, unseen ones at max IDF)."""
        terms = list(dict.fromkeys(tokenize(question)))
        ids = np.array([self.vocab[t] for t in terms if t in self.vocab], dtype=np.int64)
        idf = np.array(
            [self.idf[self.vocab[t]] if t in self.vocab else self.unseen_idf() for t in terms], dtype=np.float32
        )
        return ids, idf

    def scores(self, ids: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of each document (or of `rows`) for the query term ids."""
        sub = self.weights[:, ids] if len(ids) else None
        if sub is None:
            return np.zeros(self.num_docs if rows is None else len(rows), dtype=np.float32)
        if rows is not None:
            sub = sub.tocsr()[rows]
        return np.asarray(sub.sum(axis=1), dtype=np.float32).ravel()

    def coverage(self, ids: np.ndarray, query_idf: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Share of the question's IDF mass whose terms occur in each of `rows`."""
        total = float(query_idf.sum())
        if not len(ids) or total <= 0:
            return np.zeros(len(rows), dtype=np.float32)
        present = (self.weights[:, ids].tocsr()[rows] > 0).astype(np.float32)
        return np.asarray(present @ self.idf[ids], dtype=np.float32).ravel() / total

    def save(self, path: Path) -> None:
        sp.save_npz(path.with_suffix(".npz"), self.weights.tocsc(), compressed=False)
        meta = {"vocab": self.vocab, "idf": self.idf.tolist(), "num_docs": self.num_docs}
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> BM25:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        weights = sp.load_npz(path.with_suffix(".npz")).tocsc()
        idf = np.asarray(meta["idf"], dtype=np.float32)
        if weights.shape != (meta["num_docs"], len(meta["vocab"])) or len(idf) != len(meta["vocab"]):
            raise ValueError(f"lexical index {path.name} is inconsistent (shape {weights.shape})")
        return cls(vocab=meta["vocab"], idf=idf, weights=weights, num_docs=int(meta["num_docs"]))
