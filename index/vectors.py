"""FAISS index types picked by size, and row access that never needs a second copy of the vectors.

Below `FLAT_MAX_ROWS` an exact flat index is both fastest to build and fast enough to search (a few
thousand dot products). Above it, the default is IVF (inverted lists over k-means cells): it builds in
about a minute for a million vectors on two cores, where HNSW takes many minutes, and with `nprobe` cells
searched it keeps recall@10 at 0.95 or more (benchmarks/perf.py measures both). HNSW stays available for
setups that rebuild rarely and want the lowest latency. `INDEX_TYPE` overrides the choice.
"""

from __future__ import annotations

import math

import faiss
import numpy as np

INDEX_TYPES = ("auto", "flat", "ivf", "hnsw")
FLAT_MAX_ROWS = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 96
IVF_TRAIN_PER_CELL = 40  # k-means wants ~39 points per centroid
IVF_TRAIN_ITERATIONS = 10
IVF_MIN_PROBES = 16


def choose_type(rows: int, requested: str = "auto") -> str:
    if requested not in INDEX_TYPES:
        raise ValueError(f"INDEX_TYPE must be one of {', '.join(INDEX_TYPES)}, not {requested!r}")
    if requested != "auto":
        return requested
    return "flat" if rows <= FLAT_MAX_ROWS else "ivf"


def ivf_cells(rows: int) -> int:
    """Number of k-means cells: about 2 * sqrt(rows) (2,000 for a million), so a cell holds sqrt(rows) / 2."""
    return int(min(max(16, 2 * math.sqrt(max(rows, 1))), 65_536))


def ivf_probes(cells: int) -> int:
    """Cells searched per query: 1/64 of them, at least 16 (recall@10 0.99+ on topic-clustered vectors at
    a million; see docs/results.md). More probes: higher recall, proportionally slower search."""
    return int(min(cells, max(IVF_MIN_PROBES, cells // 64)))


def make_index(vectors: np.ndarray, dimension: int, kind: str = "auto", *, seed: int = 1234) -> faiss.Index:
    """An inner-product index over unit `vectors` of the given (or size-chosen) kind."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
    index = empty_index(len(vectors), dimension, kind)
    wanted = training_rows(index, len(vectors))
    if wanted:
        rows = np.random.default_rng(seed).choice(len(vectors), size=wanted, replace=False)
        train(index, vectors[np.sort(rows)], seed=seed)
    if len(vectors):
        index.add(vectors)
    return index


def empty_index(rows: int, dimension: int, kind: str = "auto") -> faiss.Index:
    """An empty index of the kind (and, for IVF, the cell count) that suits `rows` vectors."""
    kind = choose_type(rows, kind)
    if kind == "flat" or rows == 0:
        return faiss.IndexFlatIP(dimension)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index
    cells = min(ivf_cells(rows), max(1, rows // IVF_TRAIN_PER_CELL))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, cells, faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = ivf_probes(cells)
    return ivf


def training_rows(index: faiss.Index, rows: int) -> int:
    """How many sample vectors `index` wants before vectors can be added (0: none)."""
    return 0 if index.is_trained else min(rows, faiss.extract_index_ivf(index).nlist * IVF_TRAIN_PER_CELL)


def train(index: faiss.Index, sample: np.ndarray, *, seed: int = 1234) -> None:
    """k-means for IVF cells: a sample of ~40 vectors per cell and 10 iterations are plenty for retrieval."""
    clustering = faiss.extract_index_ivf(index).cp
    clustering.seed, clustering.niter = seed, IVF_TRAIN_ITERATIONS
    index.train(np.ascontiguousarray(sample, dtype=np.float32))


def search_on_one_thread() -> None:
    """Serving searches one question at a time: FAISS's OpenMP team only adds waiting (6x slower p50 measured
    on a busy 2-core machine). Parallelism comes from the bot's executor threads instead. Process-wide."""
    faiss.omp_set_num_threads(1)


def index_kind(index: faiss.Index) -> str:
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


class StoredVectors:
    """Vectors another engine holds (`index.pgvectors`): it answers `ntotal`, `d`, `search(queries, k)` like a FAISS
    index and `rows -> vectors` like `RowVectors`, so the engine reads either store the same way."""

    ntotal: int
    d: int

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __getitem__(self, rows: np.ndarray | slice) -> np.ndarray:
        raise NotImplementedError

    def all(self) -> np.ndarray:
        raise NotImplementedError


def row_vectors(index: faiss.Index | StoredVectors) -> RowVectors | StoredVectors:
    """`rows -> vectors` for either store: a FAISS index through `RowVectors`, stored vectors as they are."""
    return index if isinstance(index, StoredVectors) else RowVectors(index)


class RowVectors:
    """`rows -> vectors` over a FAISS index, the way the ranker reads candidate rows.

    Flat and HNSW indexes keep their vectors in one float32 block, which is viewed without copying; IVF
    scatters them over its lists, so candidate rows are reconstructed on demand through a direct map.
    Either way the Library never holds every vector twice.
    """

    def __init__(self, index: faiss.Index) -> None:
        self._owner = index  # the wrapper that owns the C++ index: the downcast one below only borrows it
        self.index = faiss.downcast_index(index)
        self.dimension = int(self.index.d)
        self._view: np.ndarray | None = None
        storage = faiss.downcast_index(self.index.storage) if isinstance(self.index, faiss.IndexHNSW) else self.index
        if isinstance(storage, faiss.IndexFlat):
            n = int(storage.ntotal)
            self._view = (
                faiss.rev_swig_ptr(storage.get_xb(), n * self.dimension).reshape(n, self.dimension)
                if n
                else np.zeros((0, self.dimension), dtype=np.float32)
            )
        elif isinstance(self.index, faiss.IndexIVF):
            self.index.make_direct_map()
        else:  # pragma: no cover - only the kinds make_index builds are read
            self._view = all_rows(self.index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def __getitem__(self, rows: np.ndarray | slice) -> np.ndarray:
        if self._view is not None:
            return self._view[rows]
        ids = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.index.reconstruct_batch(ids.ravel()).reshape(*ids.shape, self.dimension)

    def all(self) -> np.ndarray:
        return np.array(self[:], dtype=np.float32)


def all_rows(index: faiss.Index) -> np.ndarray:
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexIVF):
        index.make_direct_map()
    return index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), dtype=np.float32)
