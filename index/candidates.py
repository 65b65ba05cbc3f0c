"""Finding the paragraphs that could answer a question and scoring them and their sentences for the ranker.

A question scoped to a story considers all of its paragraphs; an open question considers the union of the
dense, sentence-dense and BM25 top `CANDIDATE_PARAGRAPHS` of the whole library. The scores produced here are
the raw inputs of `ranking.rank` (which z-scores and weighs them) and of the abstention model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arrays import sorted_unique
from .cues import question_kind, question_names
from .lexical import Postings, coverage, missing
from .rows import RowLayout
from .sentence_inputs import SentenceInputs, pair_codes
from .store import IndexData
from .tokens import tokenize
from .vectors import row_vectors, search_on_one_thread

CANDIDATE_PARAGRAPHS = 40


@dataclass
class Candidates:
    """Scores for one question over candidate paragraphs and their sentences (row ids into the index)."""

    paragraph_rows: np.ndarray
    paragraph_dense: np.ndarray
    paragraph_bm25: np.ndarray
    paragraph_coverage: np.ndarray
    paragraph_missing: np.ndarray  # largest IDF share of one question term the paragraph lacks
    sentence_rows: np.ndarray
    sentence_paragraph: np.ndarray  # position in paragraph_rows for each sentence
    sentence_position: np.ndarray  # index of the sentence inside its paragraph
    sentence_dense: np.ndarray
    sentence_bm25: np.ndarray
    sentence_coverage: np.ndarray
    sentence_chars: np.ndarray
    sentence_cues: np.ndarray  # (sentences, len(CUE_NAMES))
    kind: int
    terms: int  # distinct content terms in the question
    unseen_share: float
    paragraph_names: np.ndarray  # share of the question's names (capitalised words) each paragraph holds
    names_unseen: float  # share of the question's names found in no paragraph of the library; -1 if it names none
    # `sentence_bigram`, or what computes it on first read: the shipped ranker never reads it (a tenth of an ask)
    bigram: np.ndarray | Callable[[], np.ndarray] = field(repr=False, compare=False)

    @property
    def sentence_bigram(self) -> np.ndarray:
        """Per sentence: the share of the question's adjacent term pairs it holds (`SentenceInputs.pair_share`)."""
        if callable(self.bigram):
            self.bigram = self.bigram()
        return self.bigram

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (training's example caches) with the bigram shares computed, not the index they come from."""
        return vars(self) | {"bigram": self.sentence_bigram}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "sentence_bigram" in state:  # pickled before the shares were computed on first read
            state = {k: v for k, v in state.items() if k != "sentence_bigram"} | {"bigram": state["sentence_bigram"]}
        vars(self).update(state)


class CandidateScorer:
    """Scores candidate paragraphs and sentences of one loaded index.

    What it reads from each sentence besides its scores (length, cues, term pairs) was computed by the build and
    is mapped from the index (`index.sentence_inputs`): nothing here grows with the library."""

    def __init__(self, data: IndexData, layout: RowLayout) -> None:
        self.data = data
        self.layout = layout
        # Candidate rows are read through the FAISS index itself: no second copy of every vector.
        self.paragraph_vectors = row_vectors(data.paragraph_vectors)  # FAISS, or PostgreSQL (index.pgvectors)
        self.sentence_vectors = row_vectors(data.sentence_vectors)
        self.inputs = data.sentence_inputs
        search_on_one_thread()

    def score(
        self,
        question: str,
        vector: np.ndarray,
        story_index: int | None = None,
        *,
        dense_rows: np.ndarray | None = None,
    ) -> Candidates | None:
        """Candidates for the (cleaned) `question` encoded as `vector`: a story's own paragraphs, or the library's
        best; None when there are none. `dense_rows`: the question's `dense_rows`, when already searched."""
        bm25_p, bm25_s = self.data.paragraph_bm25, self.data.sentence_bm25
        terms = tokenize(question)  # once: both BM25s and the term pairs read the same terms
        p_ids, p_idf = bm25_p.query_ids(terms)
        p_postings = bm25_p.postings(p_ids)  # once: the library's lexical top and the candidates' block read them
        if story_index is not None:
            rows = self.layout.story_rows[story_index]
        else:
            rows = self.library_rows(vector, p_ids, dense_rows, p_postings)
        if len(rows) == 0:
            return None
        s_rows = self.layout.sentence_rows(rows)  # rows never repeat: a story's, or sorted_unique's
        s_ids, s_idf = bm25_s.query_ids(terms)
        p_block, s_block = bm25_p.block(p_ids, rows, p_postings), bm25_s.block(s_ids, s_rows)
        paragraph_names, names_unseen = self.names(question, rows, p_ids, p_block)
        p_present, p_total = p_block > 0, p_idf.sum()  # each read more than once below
        return Candidates(
            paragraph_rows=rows,
            paragraph_dense=self.paragraph_vectors[rows] @ vector,
            paragraph_bm25=p_block.sum(axis=1, dtype=np.float32),
            paragraph_coverage=coverage(p_present, p_idf, float(p_total)),
            paragraph_missing=missing(p_present, p_idf, float(p_total)),
            sentence_rows=s_rows,
            sentence_paragraph=self.layout.sentence_owners(rows),
            sentence_position=self.layout.sent_index[s_rows],
            sentence_dense=self.sentence_vectors[s_rows] @ vector,
            sentence_bm25=s_block.sum(axis=1, dtype=np.float32),
            sentence_coverage=coverage(s_block > 0, s_idf),
            sentence_chars=np.asarray(self.inputs.chars)[s_rows].astype(np.float32),  # plain views: indexing an
            sentence_cues=np.asarray(self.inputs.cues)[s_rows].astype(np.float32),  # np.memmap runs Python code
            kind=question_kind(question),
            terms=len(p_idf),
            unseen_share=float(p_idf[len(p_ids) :].sum() / p_total) if p_total > 0 else 1.0,
            paragraph_names=paragraph_names,
            names_unseen=names_unseen,
            bigram=functools.partial(_bigram_shares, self.inputs, terms, s_rows),
        )

    def names(
        self, question: str, rows: np.ndarray, p_ids: np.ndarray | None = None, p_block: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """How much of what the question names (its capitalised words) each paragraph holds, and the share of
        those names the library never uses (-1 when the question names nothing). `p_ids`, `p_block`: the question's
        paragraph BM25 ids and its `block` over `rows`, which hold a name's column when the name is a question term."""
        names = list(dict.fromkeys(tokenize(question_names(question))))
        if not names:
            return np.ones(len(rows), dtype=np.float32), -1.0
        bm25 = self.data.paragraph_bm25
        ids = np.array([bm25.vocab[n] for n in names if n in bm25.vocab], dtype=np.int64)
        if not len(ids):
            held = np.zeros(len(rows))
        else:
            column = {} if p_ids is None or p_block is None else {int(t): j for j, t in enumerate(p_ids)}
            at = [column.get(int(t), -1) for t in ids]
            if p_block is not None and min(at) >= 0:  # a weight is stored only where the term occurs: > 0 there
                held = (p_block[:, at] > 0).sum(axis=1)
            else:
                held = bm25.presence(ids, rows).sum(axis=1)
        return (held / len(names)).astype(np.float32), 1.0 - len(ids) / len(names)

    def library_rows(
        self,
        vector: np.ndarray,
        p_ids: np.ndarray,
        dense: np.ndarray | None = None,
        postings: Postings | None = None,
    ) -> np.ndarray:
        """Paragraph rows worth scoring for an open question: the dense, sentence-dense and BM25 top of all.
        `postings`: the paragraph BM25's `postings(p_ids)`, when the caller has them."""
        n = self.data.paragraph_vectors.ntotal
        k = min(n, CANDIDATE_PARAGRAPHS)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        dense = self.dense_rows(vector[None, :])[0] if dense is None else dense
        lexical = self.data.paragraph_bm25.scores(p_ids, postings=postings)
        top = (-lexical).argpartition(k - 1)[:k] if k < len(lexical) else np.arange(len(lexical))
        lexical_rows = top[lexical[top] > 0]  # a partial sort: a full one costs O(n log n) on big libraries
        return sorted_unique(np.concatenate([dense, lexical_rows]))

    def dense_rows(self, vectors: np.ndarray) -> list[np.ndarray]:
        """Per question: its nearest paragraphs and the paragraphs of its nearest sentences, from one search per
        index for all of `vectors` (FAISS answers a batch faster than the same questions one by one)."""
        paragraphs, sentences = self.data.paragraph_vectors, self.data.sentence_vectors
        k = min(paragraphs.ntotal, CANDIDATE_PARAGRAPHS)
        if k == 0 or len(vectors) == 0:
            return [np.zeros(0, dtype=np.int64) for _ in range(len(vectors))]
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        _, paragraph_rows = paragraphs.search(queries, k)
        _, sentence_rows = sentences.search(queries, min(sentences.ntotal, k))
        return [
            np.concatenate([p[p >= 0], self.layout.sent_para[s[s >= 0]]]) for p, s in zip(paragraph_rows, sentence_rows)
        ]


def _bigram_shares(inputs: SentenceInputs, terms: list[str], rows: np.ndarray) -> np.ndarray:
    """`Candidates.sentence_bigram` of a question tokenised as `terms`, over its candidate sentences `rows`."""
    return inputs.pair_share(pair_codes(terms), rows)
