"""BM25, the lexical half of retrieval, over the terms `tokens.tokenize` makes.

BM25 weights are precomputed into a sparse (documents x terms) matrix at build time, so scoring a question
is a few column slices and a sum (plain numpy: serving never imports scipy). The same matrix gives IDF-weighted
coverage of the question's words, a feature that tells "the story talks about this" from "the story uses a few
of these words".
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csc_matrix

from .arrays import map_npz, of_dtype, save_npz, spans
from .tokens import CHAT_WORDS, STOPWORDS, tokenize

__all__ = ["BM25", "CHAT_WORDS", "STOPWORDS", "Postings", "coverage", "missing", "tokenize"]


class Postings(NamedTuple):
    """The stored weights of some term columns: each one's document, its term's position among the ids, weight."""

    docs: np.ndarray
    term: np.ndarray
    values: np.ndarray


@dataclass
class BM25:
    """BM25 over a fixed list of documents (paragraphs or sentences).

    The weights are a (documents x terms) sparse matrix kept as plain CSC arrays: column t holds the
    documents `indices[indptr[t]:indptr[t+1]]` with weights `data[...]`. A question touches a handful of
    columns, so numpy on these arrays answers in microseconds, and serving never imports scipy (0.25 s).
    """

    vocab: dict[str, int]
    idf: np.ndarray  # per term
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    num_docs: int

    def __post_init__(self) -> None:
        # Plain views of the arrays, mapped or not: indexing an np.memmap runs Python code on every slice.
        self._columns = tuple(np.asarray(a) for a in (self.indptr, self.indices, self.data))

    @classmethod
    def fit(cls, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> BM25:
        return cls.from_terms([tokenize(d) for d in documents], k1, b)

    @classmethod
    def from_terms(cls, tokenized: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> BM25:
        """BM25 over documents already tokenised by `tokenize` (a build tokenises each sentence once)."""
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts_out: list[int] = []
        for row, terms in enumerate(tokenized):
            counts: dict[int, int] = {}
            for term in terms:
                col = vocab.setdefault(term, len(vocab))
                counts[col] = counts.get(col, 0) + 1
            for col, count in counts.items():
                rows.append(row)
                cols.append(col)
                counts_out.append(count)
        n = len(tokenized)
        row_ids, col_ids = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        tf = np.asarray(counts_out, dtype=np.float64)
        df = np.bincount(col_ids, minlength=len(vocab)).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        lengths = np.array([len(t) for t in tokenized], dtype=np.float64)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths / avg)
        weights = idf[col_ids] * tf * (k1 + 1) / (tf + norm[row_ids]) if len(tf) else tf
        order = np.lexsort((row_ids, col_ids))  # column-major, documents ascending within a column
        indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        return cls(
            vocab=vocab,
            idf=idf.astype(np.float32),
            indptr=indptr,
            indices=row_ids[order].astype(np.int32),
            data=weights[order].astype(np.float32),
            num_docs=n,
        )

    @property
    def weights(self) -> csc_matrix:
        """The weights as a scipy CSC matrix, for analysis code (imports scipy; serving never calls this)."""
        import scipy.sparse as sp

        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=(self.num_docs, len(self.vocab)))

    def unseen_idf(self) -> float:
        return float(math.log1p((self.num_docs + 0.5) / 0.5))

    def query_terms(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids of the question's distinct terms found in the vocabulary, IDF of every distinct term).

        The IDF array lists the found terms first, in the order of the ids, then the unseen ones at max IDF.
        """
        return self.query_ids(tokenize(question))

    def query_ids(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """`query_terms` of a question already tokenised by `tokenize` (a question is tokenised once per ask)."""
        terms = list(dict.fromkeys(terms))
        found = [i for i in map(self.vocab.get, terms) if i is not None]
        # one array of the found terms' float32 IDFs and the unseen IDF rounded to float32 (what concatenating a
        # gather and np.full made, in two calls fewer: a question has a handful of terms)
        unseen = [self.unseen_idf()] * (len(terms) - len(found))
        return np.array(found, dtype=np.int64), np.array([*(self.idf[i] for i in found), *unseen], dtype=np.float32)

    def _query_ids_by_arrays(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """`query_ids` as it was (a gather, np.full and a concatenation): the reference it is tested against."""
        terms = list(dict.fromkeys(terms))
        found = [t for t in terms if t in self.vocab]
        ids = np.array([self.vocab[t] for t in found], dtype=np.int64)
        idf = np.concatenate(
            [self.idf[ids], np.full(len(terms) - len(found), self.unseen_idf(), dtype=np.float32)]
        ).astype(np.float32)
        return ids, idf

    def postings(self, ids: np.ndarray) -> Postings:
        """Every stored weight of the `ids` columns, for `scores` and `block` of the same ids to share."""
        indptr, indices, data = self._columns
        ids = np.asarray(ids, dtype=np.int64)
        starts, ends = indptr[ids], indptr[ids + 1]
        term = np.arange(len(ids)).repeat(ends - starts)
        if 0 < len(ids) <= 16:  # a question's few columns: their slices joined, not gathered through `spans`
            bounds = list(zip(starts.tolist(), ends.tolist()))
            docs = np.concatenate([indices[a:b] for a, b in bounds])
            return Postings(docs.astype(np.int64), term, np.concatenate([data[a:b] for a, b in bounds]))
        take = spans(starts, ends)
        return Postings(indices[take].astype(np.int64), term, data[take])

    def _entries(
        self, ids: np.ndarray, rows: np.ndarray | None, postings: Postings | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(position among `rows` (or document id), position in `ids`, weight) of every stored weight of
        the `ids` columns that falls in `rows`; and how many positions there are. `postings`: `postings(ids)`."""
        docs, term, values = self.postings(ids) if postings is None else postings
        if rows is None:
            return docs, term, values, self.num_docs
        rows = np.asarray(rows, dtype=np.int64)
        order = rows.argsort(kind="stable")
        ordered = rows[order]
        at = np.minimum(ordered.searchsorted(docs), max(len(rows) - 1, 0))
        hit = ordered[at] == docs if len(rows) else np.zeros(len(docs), dtype=bool)
        return order[at[hit]], term[hit], values[hit], len(rows)

    def scores(self, ids: np.ndarray, rows: np.ndarray | None = None, postings: Postings | None = None) -> np.ndarray:
        """BM25 score of each document (or of `rows`, which must not repeat) for the query term ids."""
        where, _, values, size = self._entries(ids, rows, postings)
        return np.bincount(where, weights=values, minlength=size).astype(np.float32)

    def presence(self, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(len(rows), len(ids)) booleans: which of the query terms each document contains."""
        where, term, values, size = self._entries(ids, rows)
        out = np.zeros((size, len(ids)), dtype=bool)
        out[where[values > 0], term[values > 0]] = True
        return out

    def coverage(self, ids: np.ndarray, query_idf: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Share of the question's IDF mass whose terms occur in each of `rows`."""
        total = float(query_idf.sum())
        if not len(ids) or total <= 0:
            return np.zeros(len(rows), dtype=np.float32)
        present = self.presence(ids, rows).astype(np.float32)
        return (present @ self.idf[np.asarray(ids, dtype=np.int64)]).astype(np.float32) / total

    def block(self, ids: np.ndarray, rows: np.ndarray | None = None, postings: Postings | None = None) -> np.ndarray:
        """Dense (documents or `rows`) x `ids` BM25 weights: one pass serves every per-question figure."""
        where, term, values, size = self._entries(ids, rows, postings)
        out = np.zeros((size, len(ids)), dtype=np.float32)
        out[where, term] = values
        return out

    def missing(self, ids: np.ndarray, query_idf: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Largest share of the question's IDF mass held by one term that each of `rows` lacks."""
        return missing(self.presence(ids, rows), query_idf)

    def save(self, path: Path) -> None:
        """scipy's own `save_npz` layout (CSC, uncompressed), so either side can read the other's files."""
        shape = np.array([self.num_docs, len(self.vocab)], dtype=np.int64)
        arrays = {"indices": self.indices, "indptr": self.indptr, "format": np.array(b"csc"), "shape": shape}
        save_npz(path.with_suffix(".npz"), arrays | {"data": self.data})
        meta = {"vocab": self.vocab, "idf": self.idf.tolist(), "num_docs": self.num_docs}
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> BM25:
        """The saved BM25, its weight arrays memory-mapped (`index.arrays`): shared by the processes serving it."""
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        npz = map_npz(path.with_suffix(".npz"))
        fmt, shape = bytes(npz["format"].item()), tuple(int(v) for v in npz["shape"])
        indptr = of_dtype(npz["indptr"], np.int64)  # a copy only when scipy wrote it as int32
        indices, data = npz["indices"], of_dtype(npz["data"], np.float32)
        idf = np.asarray(meta["idf"], dtype=np.float32)
        n, terms = int(meta["num_docs"]), len(meta["vocab"])
        if (
            fmt != b"csc"
            or shape != (n, terms)
            or len(idf) != terms
            or len(indptr) != terms + 1
            or indptr[-1] != len(indices)
            or len(data) != len(indices)
            or (len(indices) and (indices.min() < 0 or indices.max() >= n))
        ):
            raise ValueError(f"lexical index {path.name} is inconsistent (shape {shape})")
        return cls(vocab=meta["vocab"], idf=idf, indptr=indptr, indices=indices, data=data, num_docs=n)


def coverage(present: np.ndarray, query_idf: np.ndarray, total: float | None = None) -> np.ndarray:
    """Share of the question's IDF mass (found terms first, as `query_terms` orders it) each row contains.
    `total`: float(query_idf.sum()), when the caller has it."""
    total = float(query_idf.sum()) if total is None else total
    if total <= 0 or present.shape[1] == 0:
        return np.zeros(len(present), dtype=np.float32)
    return (present.astype(np.float32) @ query_idf[: present.shape[1]]) / total


def missing(present: np.ndarray, query_idf: np.ndarray, total: float | None = None) -> np.ndarray:
    """Largest share of the question's IDF mass held by one term a row lacks (unseen terms count as lacking).
    `total`: float(query_idf.sum()), when the caller has it."""
    total = float(query_idf.sum()) if total is None else total
    if total <= 0:
        return np.zeros(len(present), dtype=np.float32)
    found = present.shape[1]
    unseen = float(query_idf[found:].max()) if len(query_idf) > found else 0.0
    absent = (~present) * query_idf[None, :found]
    worst = absent.max(axis=1) if found else np.zeros(len(present), dtype=np.float32)
    return np.maximum(worst, unseen).astype(np.float32) / total
