"""A million 384-d vectors: FAISS flat (the naive index) against the kind `index.vectors` picks at that size.

Vectors are `perf_engine.Clustered` (synthetic, topic-structured) and are added in chunks, so the input
never sits in memory beside the index. Recall@10 is measured against the flat index's exact answers.
"""

from __future__ import annotations

import gc
import time

import faiss
import numpy as np

from index.vectors import choose_type, empty_index, train, training_rows

from .perf_engine import Clustered, pct, rss_mb

CHUNK = 50_000


def _fill(index: faiss.Index, data: Clustered, n: int) -> float:
    """Train (if needed) and add `n` vectors chunk by chunk; seconds taken."""
    started = time.perf_counter()
    wanted = training_rows(index, n)
    if wanted:
        sample = np.vstack([data.chunk(CHUNK, i) for i in range(-(-wanted // CHUNK))])[:wanted]
        train(index, sample)
        del sample
    for i, start in enumerate(range(0, n, CHUNK)):
        index.add(data.chunk(min(CHUNK, n - start), i))
    return time.perf_counter() - started


def _search(index: faiss.Index, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """One query at a time on one thread, as the bot searches (several OpenMP threads only add waiting)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return _timed_search(index, queries)
    finally:
        faiss.omp_set_num_threads(threads)


def _timed_search(index: faiss.Index, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    index.search(queries[:5], 10)
    found, times = [], []
    for row in queries:
        started = time.perf_counter()
        _, ids = index.search(row[None, :], 10)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return np.array(found), times


def million(n: int = 1_000_000, queries: int = 200, kind: str = "auto") -> dict[str, dict[str, float]]:
    """Build time (s), search p50/p99 (ms, one query at a time), recall@10 and added RSS (MB) per index."""
    data = Clustered()
    probe = data.chunk(queries, seed=10**9)
    out: dict[str, dict[str, float]] = {}

    gc.collect()
    before = rss_mb()
    flat = faiss.IndexFlatIP(data.d)
    built = _fill(flat, data, n)
    truth, times = _search(flat, probe)
    out["flat"] = {"build_s": built, "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "recall10": 1.0}
    out["flat"]["ram_mb"] = rss_mb() - before
    del flat
    gc.collect()

    chosen = choose_type(n, kind)
    before = rss_mb()
    index = empty_index(n, data.d, chosen)
    built = _fill(index, data, n)
    found, times = _search(index, probe)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)]))
    out[chosen] = {"build_s": built, "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "recall10": recall}
    out[chosen]["ram_mb"] = rss_mb() - before
    if chosen == "ivf":
        ivf = faiss.extract_index_ivf(index)
        out[chosen].update(cells=float(ivf.nlist), nprobe=float(ivf.nprobe))
    return out
