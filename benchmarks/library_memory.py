"""What each serving process spends on a library besides the vectors, and how long it takes to load, by size.

    python -m benchmarks.library_memory [--stories 2000,10000]

The FAISS files, the BM25 weights and the per-sentence inputs are memory-mapped and shared by every process on a
machine (benchmarks.perf_shards). What else `Library.load` builds is each process's own and grows with the library:
the parsed stories, the BM25 vocabulary and the row layout. This writes a build of
synthetic stories (10 paragraphs of 4 sentences of 20 words drawn from a Zipf-distributed 50,000-word vocabulary;
random unit vectors; flat FAISS files, since the index kind changes only the shared part), then loads it in a fresh
child process and reads the child's anonymous memory (its heap: not the mapped files) before and after
`Library.load`, and the time the load took. Linux only (/proc). Prints figures; asserts nothing about them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedder import Encoder
from index.models import Paragraph, Sentence, Story

DIMENSION = 384
PARAGRAPHS, SENTENCES, WORDS = 10, 4, 20
VOCABULARY = 50_000
MODEL = "synthetic-random"


class RandomEncoder(Encoder):
    """Random unit vectors: the child asks one question to show the loaded library answers."""

    name, dimension = MODEL, DIMENSION

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        vectors = np.random.default_rng(len(texts)).standard_normal((len(texts), DIMENSION)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def vocabulary(rng: np.random.Generator) -> np.ndarray:
    syllables = np.array([c + v for c in "bdfghklmnprstvz" for v in "aeiou"])
    return np.array(["".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(VOCABULARY)])


def synthetic_stories(count: int, seed: int = 5) -> list[Story]:
    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    weights /= weights.sum()
    stories = []
    for s in range(count):
        paragraphs = []
        drawn = words[rng.choice(VOCABULARY, size=(PARAGRAPHS, SENTENCES, WORDS), p=weights)]
        for p in range(PARAGRAPHS):
            texts = [" ".join(drawn[p, i]).capitalize() + "." for i in range(SENTENCES)]
            starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
            spans = tuple(Sentence(start=int(a), end=int(a) + len(t)) for a, t in zip(starts, texts, strict=True))
            paragraphs.append(Paragraph(number=p + 1, text=" ".join(texts), sentences=spans))
        digest = hashlib.sha256(f"{seed}-{s}".encode()).hexdigest()
        stories.append(
            Story(
                slug=f"story-{s}", title=f"Story {s}", paragraphs=tuple(paragraphs), file=f"{s}.md", content_hash=digest
            )
        )
    return stories


def write(index_dir: Path, count: int) -> tuple[int, float]:
    """A build of `count` synthetic stories in `index_dir`: its vectors and FAISS files' size in MB."""
    from index.store import BuildContents, write_build

    stories = synthetic_stories(count)
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((count * PARAGRAPHS * (1 + SENTENCES), DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cut = count * PARAGRAPHS
    folder = write_build(
        index_dir,
        BuildContents.of(stories, vectors[:cut], vectors[cut:]),
        model=MODEL,
        backend="custom",
        content_dir=Path("synthetic"),
        indexed_at={s.slug: dt.datetime.now(dt.UTC) for s in stories},
        index_type="flat",
    )
    return len(vectors), sum(f.stat().st_size for f in folder.glob("*.faiss")) / 2**20


def anonymous_mb() -> float:
    """This process's anonymous memory (heap and private arrays; not file mappings), in MB."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no Anonymous line in /proc/self/smaps_rollup")


def child(index_dir: Path) -> None:
    """Load the build as `Library.load` does, in its two steps: `read_build` (stories, BM25, mapped vectors), then
    the `Library` (row layout; the per-sentence inputs are mapped). Print anonymous MB at each step and the seconds each took."""
    import gc

    from index import Library
    from index.store import read_build

    gc.collect()
    marks = [anonymous_mb()]
    start = time.perf_counter()
    data = read_build(index_dir)
    read = time.perf_counter() - start
    gc.collect()
    marks.append(anonymous_mb())
    start = time.perf_counter()
    library = Library(data, RandomEncoder())
    ready = time.perf_counter() - start
    library.ask("How many were trapped?")
    gc.collect()
    marks.append(anonymous_mb())
    print(*marks, read, ready, flush=True)


def measure(count: int) -> str:
    with tempfile.TemporaryDirectory(prefix="library-memory-") as tmp:
        vectors, files_mb = write(Path(tmp), count)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.library_memory", "--child", tmp],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    start, read, ready, read_s, ready_s = (float(x) for x in out)
    own = ready - start
    return (
        f"{count:>8,} {vectors:>10,} {files_mb:>9,.0f} {own:>11,.0f} {read - start:>10,.0f} {ready - read:>9,.0f}"
        f" {own * 1024 / count:>9,.0f} {read_s:>8,.1f} {ready_s:>8,.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--stories", default="2000,10000", help="comma-separated library sizes, in stories")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    print("process MB: the loaded library's own memory (read_build: stories, BM25 vocabulary; Library: row layout);")
    print(
        "files MB: the FAISS files, mapped and shared, not in process MB (nor are the mapped BM25 and sentence arrays)"
    )
    print(" stories    vectors  files MB  process MB  read_build  Library  KB/story  read s  Library s")
    for count in (int(x) for x in args.stories.split(",")):
        print(measure(count), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
