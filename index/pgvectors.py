"""Vectors served by PostgreSQL with pgvector, with the face the engine already reads FAISS through.

`CandidateScorer` asks an index for `ntotal`, a batched `search(queries, k)` and the vectors of candidate rows
(`RowVectors`); `PgVectors` answers the same three from one build's rows in `index_paragraphs` or
`index_sentences`, so the ranking, the decision, the cross-encoder and the quoting see the same candidates from either
store. Row numbers stay the build's `RowLayout` positions: the build stores each position's row id, and the ids
pgvector finds are mapped back here.

- search: one query per kind for a whole batch of questions (`unnest` of the question vectors, a LATERAL k-NN
  each). Up to `vectors.FLAT_MAX_ROWS` rows the search is exact (a sequential scan: the ORDER BY is written so the
  HNSW index can't serve it), as FAISS is flat at that size; above, HNSW with `hnsw.ef_search` and iterative scans
  (the rows of other builds are filtered out).
- rows: `SELECT ... WHERE id = ANY(...)`, binary, a few hundred rows a question.

Connections come from a small pool per process; one that breaks (PostgreSQL restarting) is dropped and the call
raises DatabaseUnavailable, which the bot turns into its polite "not ready"; the next call connects again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import postgres
from .vectors import FLAT_MAX_ROWS, StoredVectors

HNSW_EF_SEARCH = 100  # candidates are rescored by the ranker: recall matters more than the last millisecond
POOL_SIZE = 8


class Connections:
    """A few connections to DATABASE_URL, shared by the threads of one process; vectors come back as numpy."""

    def __init__(self, url: str, size: int = POOL_SIZE) -> None:
        self.url = url
        self.where = postgres.redacted(url)
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    def _connect(self) -> Any:
        from pgvector.psycopg import register_vector
        from psycopg.types import TypeInfo

        conn = postgres.connect(self.url)
        try:
            register_vector(conn)
            info = TypeInfo.fetch(conn, "vector")
            conn.adapters.register_loader(info.oid, _vector_loader())  # type: ignore[union-attr]
            conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
        except Exception as exc:
            conn.close()
            raise postgres.failure(self.url, exc) from None
        return conn

    @contextmanager
    def get(self) -> Iterator[Any]:
        """A connection for one call; a broken one is closed (not returned) and the call gets DatabaseUnavailable."""
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                yield conn
            except Exception as exc:
                if postgres.lost(exc) or conn.closed:
                    conn.close()
                    self.close()  # the idle ones went with the same server: connect anew next time
                    raise postgres.failure(self.url, exc) from None
                self._idle.put(conn)
                raise
            self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def _vector_loader() -> type:
    """pgvector's binary format read straight into numpy (a 4-byte header, then big-endian float32s): the
    adapter's own loader makes a Python object per row first."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class VectorAsNumpy(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> np.ndarray:
            return np.frombuffer(data, dtype=">f4", offset=4)

    return VectorAsNumpy


class PgVectors(StoredVectors):
    """One kind's rows of one build: FAISS's `ntotal`, `d` and `search`, and `RowVectors`' row access."""

    def __init__(self, connections: Connections, kind: str, build_id: int, ids: np.ndarray, dimension: int) -> None:
        self.connections = connections
        self.table = f"index_{kind}"
        self.build_id = build_id
        self.ids = np.asarray(ids, dtype=np.int64)  # the row id of each RowLayout position
        self._order = np.argsort(self.ids, kind="stable")
        self._sorted = self.ids[self._order]
        self.ntotal, self.d = len(self.ids), int(dimension)
        self.dimension = self.d
        self.exact = self.ntotal <= FLAT_MAX_ROWS

    def __len__(self) -> int:
        return self.ntotal

    def positions(self, found: np.ndarray) -> np.ndarray:
        """RowLayout positions of row ids (-1 for an id this build does not hold)."""
        found = np.asarray(found, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, found), max(self.ntotal - 1, 0))
        hit = self._sorted[at] == found if self.ntotal else np.zeros(len(found), dtype=bool)
        return np.where(hit, self._order[at], -1)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of each query's `k` nearest rows, as FAISS returns them (-1 where fewer)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        if len(queries) == 0 or k <= 0 or self.ntotal == 0:
            return scores, rows
        distance = "(embedding <#> q.v) + 0" if self.exact else "embedding <#> q.v"  # + 0: no index can serve it
        sql = (
            "SELECT q.n, s.id, s.distance FROM unnest(%s::vector[]) WITH ORDINALITY AS q(v, n) CROSS JOIN LATERAL"
            f" (SELECT id, {distance} AS distance FROM {self.table}"
            " WHERE born <= %s AND (died IS NULL OR died > %s) ORDER BY distance LIMIT %s) s"
        )
        with self.connections.get() as conn:
            found = conn.execute(sql, (list(queries), self.build_id, self.build_id, k), binary=True).fetchall()
        if not found:
            return scores, rows
        numbers = np.array([r[0] for r in found], dtype=np.int64) - 1
        ids = np.array([r[1] for r in found], dtype=np.int64)
        negated = np.array([r[2] for r in found], dtype=np.float32)  # <#> is the negative inner product
        slot = np.zeros(len(found), dtype=np.int64)
        for i in range(1, len(found)):  # the rank of each result within its query (results come grouped)
            slot[i] = slot[i - 1] + 1 if numbers[i] == numbers[i - 1] else 0
        keep = slot < k
        rows[numbers[keep], slot[keep]] = self.positions(ids[keep])
        scores[numbers[keep], slot[keep]] = -negated[keep]
        return scores, rows

    def __getitem__(self, rows: np.ndarray | slice) -> np.ndarray:
        positions = np.arange(self.ntotal)[rows] if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)
        flat = positions.ravel()
        out = np.zeros((len(flat), self.d), dtype=np.float32)
        if len(flat):
            wanted = self.ids[flat]
            with self.connections.get() as conn:
                found = conn.execute(
                    f"SELECT id, embedding FROM {self.table} WHERE id = ANY(%s)", (wanted.tolist(),), binary=True
                ).fetchall()
            by_id = {int(i): v for i, v in found}
            missing = [int(i) for i in wanted if int(i) not in by_id]
            if missing:
                raise postgres.DatabaseUnavailable(
                    f"{self.connections.where}: rows {missing[:3]} of build {self.build_id} are gone (a newer build "
                    "pruned them); this process picks up the current build shortly"
                )
            out[:] = np.stack([by_id[int(i)] for i in wanted])
        return out.reshape(*positions.shape, self.d)

    def all(self) -> np.ndarray:
        return self[:]
