"""FAISS index kinds by size, candidate rows read without a second copy, and INDEX_TYPE in builds."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from index import Encoder, EncoderWrapper, EngineOptions, Library, build_index
from index.store import read_build
from index.vectors import FLAT_MAX_ROWS, RowVectors, choose_type, index_kind, make_index

from ..conftest import SEED_SLUG


def _clustered(n: int, d: int = 32, centres: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few centres, the way sentence embeddings bunch by topic."""
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, d)).astype(np.float32)
    x = middle[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_kind_follows_size_unless_set() -> None:
    assert choose_type(10) == "flat" and choose_type(FLAT_MAX_ROWS) == "flat"
    assert choose_type(FLAT_MAX_ROWS + 1) == "ivf"
    assert choose_type(10, "hnsw") == "hnsw" and choose_type(10**7, "flat") == "flat"
    with pytest.raises(ValueError, match="INDEX_TYPE"):
        choose_type(10, "annoy")


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_every_kind_finds_the_neighbours_and_gives_rows_back(kind: str) -> None:
    x = _clustered(4000)
    index = make_index(x, 32, kind)
    assert index_kind(index) == kind and index.ntotal == len(x)
    queries = _clustered(50, seed=1)
    _, truth = make_index(x, 32, "flat").search(queries, 10)
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])
    assert recall >= 0.9
    rows = RowVectors(faiss.deserialize_index(faiss.serialize_index(index)))  # as read from disk
    picked = np.array([5, 0, 3999, 17])
    assert np.array_equal(rows[picked], x[picked]) and len(rows) == len(x)
    assert rows[np.zeros(0, dtype=np.int64)].shape == (0, 32)


def test_flat_rows_are_a_view_not_a_copy() -> None:
    index = make_index(_clustered(100), 32, "flat")
    rows = RowVectors(index)
    assert not rows[:].flags.owndata


def test_index_type_change_rewrites_without_embedding(tmp_path: Path, content_copy: Path, encoder: Encoder) -> None:
    class Counting(EncoderWrapper):
        texts = 0

        def encode(self, texts, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
            self.texts += len(texts)
            return encoder.encode(texts)

    counting = Counting(encoder)
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, encoder=counting)  # type: ignore[arg-type]
    embedded = counting.texts
    flat_answer = Library.load(index_dir, encoder=encoder).ask("How many lives have the White Helmets saved?")
    for kind in ("ivf", "hnsw"):
        report = build_index(content_copy, index_dir, EngineOptions(index_type=kind), encoder=counting)  # type: ignore[arg-type]
        assert report.changed and report.embedded == [] and counting.texts == embedded
        data = read_build(index_dir)
        assert data.manifest.index_type == kind and index_kind(data.paragraph_vectors) == kind
        library = Library.load(index_dir, encoder=encoder)
        answer = library.ask("How many lives have the White Helmets saved?")
        assert [q.text for q in answer.quotes] == [q.text for q in flat_answer.quotes]
        assert library.ask("How many lives have the White Helmets saved?", SEED_SLUG).shows_quotes
    assert not build_index(content_copy, index_dir, EngineOptions(index_type="hnsw"), encoder=counting).changed  # type: ignore[arg-type]
