"""Finding the paragraphs that could answer a question and scoring them and their sentences for the ranker.

A question scoped to a story considers all of its paragraphs; an open question considers the union of the
dense, sentence-dense and BM25 top `CANDIDATE_PARAGRAPHS` of the whole library. The scores produced here are
the raw inputs of `ranking.rank` (which z-scores and weighs them) and of the abstention model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import sorted_unique
from .cues import question_kind, question_names
from .lexical import coverage, missing
from .rows import RowLayout
from .sentence_inputs import pair_codes
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
    sentence_bigram: np.ndarray  # share of the question's adjacent term pairs found in the sentence
    sentence_chars: np.ndarray
    sentence_cues: np.ndarray  # (sentences, len(CUE_NAMES))
    kind: int
    terms: int  # distinct content terms in the question
    unseen_share: float
    paragraph_names: np.ndarray  # share of the question's names (capitalised words) each paragraph holds
    names_unseen: float  # share of the question's names found in no paragraph of the library; -1 if it names none


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
        if story_index is not None:
            rows = self.layout.story_rows[story_index]
        else:
            rows = self.library_rows(vector, p_ids, dense_rows)
        if len(rows) == 0:
            return None
        s_rows = self.layout.sentence_rows(rows)  # rows never repeat: a story's, or sorted_unique's
        s_ids, s_idf = bm25_s.query_ids(terms)
        p_block, s_block = bm25_p.block(p_ids, rows), bm25_s.block(s_ids, s_rows)
        paragraph_names, names_unseen = self.names(question, rows)
        return Candidates(
            paragraph_rows=rows,
            paragraph_dense=self.paragraph_vectors[rows] @ vector,
            paragraph_bm25=p_block.sum(axis=1, dtype=np.float32),
            paragraph_coverage=coverage(p_block > 0, p_idf),
            paragraph_missing=missing(p_block > 0, p_idf),
            sentence_rows=s_rows,
            sentence_paragraph=self.layout.sentence_owners(rows),
            sentence_position=self.layout.sent_index[s_rows],
            sentence_dense=self.sentence_vectors[s_rows] @ vector,
            sentence_bm25=s_block.sum(axis=1, dtype=np.float32),
            sentence_coverage=coverage(s_block > 0, s_idf),
            sentence_bigram=self.inputs.pair_share(pair_codes(terms), s_rows),
            sentence_chars=np.asarray(self.inputs.chars)[s_rows].astype(np.float32),  # plain views: indexing an
            sentence_cues=np.asarray(self.inputs.cues)[s_rows].astype(np.float32),  # np.memmap runs Python code
            kind=question_kind(question),
            terms=len(p_idf),
            unseen_share=float(p_idf[len(p_ids) :].sum() / p_idf.sum()) if p_idf.sum() > 0 else 1.0,
            paragraph_names=paragraph_names,
            names_unseen=names_unseen,
        )

    def names(self, question: str, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """How much of what the question names (its capitalised words) each paragraph holds, and the share of
        those names the library never uses (-1 when the question names nothing)."""
        names = list(dict.fromkeys(tokenize(question_names(question))))
        if not names:
            return np.ones(len(rows), dtype=np.float32), -1.0
        bm25 = self.data.paragraph_bm25
        ids = np.array([bm25.vocab[n] for n in names if n in bm25.vocab], dtype=np.int64)
        held = bm25.presence(ids, rows).sum(axis=1) if len(ids) else np.zeros(len(rows))
        return (held / len(names)).astype(np.float32), 1.0 - len(ids) / len(names)

    def library_rows(self, vector: np.ndarray, p_ids: np.ndarray, dense: np.ndarray | None = None) -> np.ndarray:
        """Paragraph rows worth scoring for an open question: the dense, sentence-dense and BM25 top of all."""
        n = self.data.paragraph_vectors.ntotal
        k = min(n, CANDIDATE_PARAGRAPHS)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        dense = self.dense_rows(vector[None, :])[0] if dense is None else dense
        lexical = self.data.paragraph_bm25.scores(p_ids)
        top = np.argpartition(-lexical, k - 1)[:k] if k < len(lexical) else np.arange(len(lexical))
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
