"""The engine's figures for `python -m benchmarks.perf`, each beside the naive way measured in the same run.

The naive bot: sentence-transformers on torch for every encode, a FAISS flat index, everything loaded at
start. Ours: the index's ONNX export (int8 by default), FAISS kind by size, lazy imports.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss

    from index.vectors import StoredVectors

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many White Helmets are still trapped in Syria?"
TOPICS = [
    "evacuation",
    "rescue",
    "workers",
    "Syria",
    "Jordan",
    "Israel",
    "families",
    "border",
    "lives",
    "funding",
    "UN",
    "camps",
    "Golan",
]
FORMS = ["How many {} were there?", "What happened to the {}?", "Who paid for the {} {}?", "why {} and {}", "{} {}?"]

# A naive bot in one file: sentence-transformers + FAISS flat, stories embedded when the process starts.
NAIVE_BOT = """
import json, sys, time
import faiss
from sentence_transformers import SentenceTransformer
from index.embedder import resolve_model
build, question, mode = sys.argv[1], sys.argv[2], sys.argv[3]
model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
stories = json.load(open(build + "/stories.json"))
paragraphs = [p["text"] for s in stories for p in s["paragraphs"]]
if mode == "embed":  # what a naive bot does at start: embed its stories (it has no stored index)
    vectors = model.encode(paragraphs + [paragraphs[0][:200]] * 11, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1]); index.add(vectors[: len(paragraphs)])
else:
    index = faiss.read_index(build + "/paragraphs.faiss")
query = model.encode([question], normalize_embeddings=True)
_, rows = index.search(query, 3)
print(paragraphs[rows[0][0]][:80])
print("RSS", [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""

OUR_RSS = """
import sys
from index import Library
library = Library.load(sys.argv[1])
for i in range(50):
    library.ask(f"{sys.argv[2]} {i}")
library.summary()
print("RSS", [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _run(argv: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {done.stderr[-2000:]}")
    return elapsed, done.stdout


def cold_start(index_dir: Path, runs: int = 3) -> dict[str, float]:
    """Seconds from process start to the first answer printed (median of `runs`), ours and naive."""
    build = str((index_dir / "current").resolve())
    ours = [_run([sys.executable, "-m", "bot.cli", "ask", "--index", str(index_dir), QUESTION])[0] for _ in range(runs)]
    naive = [_run([sys.executable, "-c", NAIVE_BOT, build, QUESTION, "load"])[0] for _ in range(runs)]
    return {"ours": float(np.median(ours)), "naive": float(np.median(naive))}


def _rss_kb(output: str) -> int:
    """The "RSS <kB>" line a measuring subprocess prints."""
    found = re.search(r"RSS (\d+)", output)
    if found is None:
        raise RuntimeError(f"no RSS figure in the subprocess output: {output[-500:]!r}")
    return int(found.group(1))


def rss(index_dir: Path) -> dict[str, float]:
    """Peak RSS in MB: ours serving the shipped story (50 questions and a summary); naive after embedding."""
    build = str((index_dir / "current").resolve())
    ours = _run([sys.executable, "-c", OUR_RSS, str(index_dir), QUESTION])[1]
    naive = _run([sys.executable, "-c", NAIVE_BOT, build, QUESTION, "embed"])[1]
    kb = [_rss_kb(out) for out in (ours, naive)]
    return {"ours": kb[0] / 1024, "naive": kb[1] / 1024}


def unchanged_rebuild(index_dir: Path, content: Path) -> float:
    """Seconds for `newsroom-bot build` when nothing changed (a process of its own, imports included)."""
    argv = [sys.executable, "-m", "bot.cli", "build", "--index", str(index_dir), "--content", str(content)]
    _run(argv)
    return float(np.median([_run(argv)[0] for _ in range(3)]))


def distinct_questions(n: int, seed: int = 3) -> list[str]:
    """`n` different reader-like questions (a cache never answers them)."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        form = FORMS[int(rng.integers(len(FORMS)))]
        words = [TOPICS[int(i)] for i in rng.integers(0, len(TOPICS), form.count("{}"))]
        question = form.format(*words) + f" ({len(out)})"
        out.append(question)
    return out


def throughput(encode: Callable[[list[str]], object], texts: list[str]) -> float:
    """Texts per second for one call that embeds all of `texts` (after a small warm-up)."""
    encode(texts[:8])
    started = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - started)


def latency(
    encode: Callable[[list[str]], np.ndarray], indexes: Sequence[faiss.Index | StoredVectors], questions: list[str]
) -> dict[str, float]:
    """p50/p99 ms of encode + search (paragraphs and sentences, 40 candidates each), one question at a time."""
    encode(questions[:3])
    times = []
    for question in questions:
        started = time.perf_counter()
        vector = encode([question])
        for index in indexes:
            index.search(vector, 40)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": pct(times, 50), "p99": pct(times, 99)}


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


class Clustered:
    """Synthetic 384-d unit vectors with topic structure: 1,000 topics, 50 subtopics each, points around those.

    Nearest neighbours sit at cosine ~0.6 and the 10th at ~0.4, like sentence embeddings of a news archive;
    isotropic noise alone would make every neighbour a near-tie, which no real embedding space looks like.
    Chunks are generated on demand from their own seed, so a million vectors never exist twice in memory.
    """

    def __init__(self, d: int = 384, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        topics = unit(rng.standard_normal((1000, d), dtype=np.float32))
        noise = rng.standard_normal((50_000, d), dtype=np.float32) / np.sqrt(d)
        self.subtopics = unit(topics[np.repeat(np.arange(1000), 50)] + noise)
        self.d, self.seed = d, seed

    def chunk(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, seed))
        middle = self.subtopics[rng.integers(0, len(self.subtopics), n)]
        return unit(middle + 0.8 * rng.standard_normal((n, self.d), dtype=np.float32) / np.sqrt(self.d))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")
