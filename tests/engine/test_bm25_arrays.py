"""BM25 on plain CSC arrays gives what the scipy matrix gives, and reads and writes scipy's file layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from index import Library
from index.lexical import BM25

QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",
    "Who led the evacuation of the rescue workers?",
    "What did Jeremy Hunt say about lives saved?",
    "zebra quantum",  # no known term
    "Syria Syria syria",  # repeated term
]


def test_scores_presence_and_coverage_match_the_sparse_matrix(library: Library) -> None:
    for bm25 in (library.data.paragraph_bm25, library.data.sentence_bm25):
        matrix = bm25.weights.tocsr()
        rows = np.array([bm25.num_docs - 1, 0, 2]) if bm25.num_docs > 2 else np.arange(bm25.num_docs)
        for question in QUESTIONS:
            ids, idf = bm25.query_terms(question)
            expected = np.asarray(matrix[:, ids].sum(axis=1)).ravel() if len(ids) else np.zeros(bm25.num_docs)
            assert np.allclose(bm25.scores(ids), expected, atol=1e-5)
            assert np.allclose(bm25.scores(ids, rows), expected[rows], atol=1e-5)
            present = np.asarray((matrix[rows][:, ids] > 0).todense()) if len(ids) else np.zeros((len(rows), 0))
            assert np.array_equal(bm25.presence(ids, rows), present.astype(bool))
            if len(ids):
                coverage = present.astype(np.float32) @ bm25.idf[ids] / idf.sum()
                assert np.allclose(bm25.coverage(ids, idf, rows), coverage, atol=1e-6)


def test_files_are_scipys_layout_both_ways(tmp_path: Path) -> None:
    bm25 = BM25.fit(["The rescue workers crossed into Jordan.", "Nearly 300 remain trapped.", ""])
    bm25.save(tmp_path / "ours")
    assert (sp.load_npz(tmp_path / "ours.npz") != bm25.weights).nnz == 0
    sp.save_npz(tmp_path / "theirs.npz", bm25.weights, compressed=False)
    (tmp_path / "theirs.json").write_text((tmp_path / "ours.json").read_text())
    again = BM25.load(tmp_path / "theirs")
    assert np.array_equal(again.indices, bm25.indices) and np.array_equal(again.data, bm25.data)
    ids, _ = again.query_terms("trapped workers")
    assert np.allclose(again.scores(ids), bm25.scores(ids)) and again.scores(ids)[2] == 0


def test_saved_weights_are_mapped_not_copied_and_compressed_ones_still_read(tmp_path: Path) -> None:
    bm25 = BM25.fit(["The rescue workers crossed into Jordan.", "Nearly 300 remain trapped."])
    bm25.save(tmp_path / "ours")
    mapped = BM25.load(tmp_path / "ours")
    assert isinstance(mapped.indices, np.memmap) and isinstance(mapped.data, np.memmap)
    sp.save_npz(tmp_path / "packed.npz", bm25.weights, compressed=True)  # scipy's default: can't be mapped
    (tmp_path / "packed.json").write_text((tmp_path / "ours.json").read_text())
    packed = BM25.load(tmp_path / "packed")
    assert not isinstance(packed.indices, np.memmap)
    ids, _ = packed.query_terms("trapped workers")
    assert np.allclose(packed.scores(ids), mapped.scores(ids))
