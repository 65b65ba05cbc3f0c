"""The throughput table of `python -m benchmarks.perf`: whole commands on a SQuAD-sized library, each beside the
naive pipeline measured in the same run.

Ours: `newsroom-bot build` into a fresh index folder, then `newsroom-bot ask --batch` of the library's questions,
each a process of its own (imports, model load and all), the cross-encoder off. The build is timed twice: with an empty
model cache (the first index on a machine pays the ONNX export) and into a second fresh folder with the cache the
first filled (every later index, a test's or a benchmark's).
The naive pipeline, as the design card has it: sentence-transformers on torch encodes every paragraph and every
sentence (pysbd as it ships splits them) into FAISS flat indexes written to disk; its `ask --batch` loads the model
and the indexes, encodes every question of the file in one `encode` call (batches of 32, no cache) and quotes each
one's nearest sentence. That is the strongest naive baseline: ours answers each line as `newsroom-bot ask` would
(see `bot.cli.batch`), encoding chunks of lines ahead on a thread, together where the int8 export is batch-invariant
(index.int8_graph). A naive pipeline that encodes line by line took 282 s where ours took 11.9 s, in a run on
2026-12-02 on a loaded machine (docs/results.md).

The library: SQuAD 2.0 dev articles outside the quality benchmark's held-out ones (`benchmarks.squad2.HELD_OUT`),
in file order, cut at 254 paragraphs, and 1,793 of their questions spread evenly (the held-out check's size: 6
articles, 254 paragraphs, 1,358 sentences, 1,793 questions). Wall time is what the targets are about; the CPU
seconds of each process are beside it, as on a shared machine they move less than the wall clock.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .perf_engine import ROOT
from .squad2 import HELD_OUT

SQUAD_FILE = ROOT.parent / "shared" / "eval" / "squad-dev-v2.0-other-articles.json.gz"
PARAGRAPHS, QUESTIONS = 254, 1793
GOALS = {"build": 0.5, "build_cold": 0.5, "ask": 0.2}  # ours ÷ naive, wall time

NAIVE_BUILD = """
import json, sys
from pathlib import Path
from index.offline import hub_offline
hub_offline()
import faiss, pysbd
from sentence_transformers import SentenceTransformer
from index.embedder import resolve_model
content, out = Path(sys.argv[1]), Path(sys.argv[2])
model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
segmenter = pysbd.Segmenter(language="en", clean=False)
paragraphs = [
    block.strip() for path in sorted(content.glob("*.txt")) for block in path.read_text().split("\\n\\n")
    if block.strip() and not block.startswith("# ") and not block.startswith("Original Source(s):")
]
sentences = [s.strip() for p in paragraphs for s in segmenter.segment(p) if s.strip()]
vectors = model.encode(paragraphs + sentences, batch_size=32, normalize_embeddings=True)
out.mkdir(parents=True, exist_ok=True)
for name, rows in (("paragraphs", vectors[: len(paragraphs)]), ("sentences", vectors[len(paragraphs):])):
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(rows)
    faiss.write_index(index, str(out / f"{name}.faiss"))
(out / "sentences.json").write_text(json.dumps(sentences))
print(json.dumps({"paragraphs": len(paragraphs), "sentences": len(sentences)}))
"""

NAIVE_ASK = """
import json, sys
from pathlib import Path
from index.offline import hub_offline
hub_offline()
import faiss
from sentence_transformers import SentenceTransformer
from index.embedder import resolve_model
index_dir, batch = Path(sys.argv[1]), sys.argv[2]
model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
sentences = json.loads((index_dir / "sentences.json").read_text())
index = faiss.read_index(str(index_dir / "sentences.faiss"))
with open(batch, encoding="utf-8") as lines:
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
vectors = model.encode(questions, batch_size=32, normalize_embeddings=True)
scores, rows = index.search(vectors, 3)
for question, score, row in zip(questions, scores, rows):
    print(json.dumps({"question": question, "quote": sentences[row[0]], "score": float(score[0])}))
"""


@dataclass(frozen=True)
class SquadLibrary:
    """The story files and the batch file of questions written for a run, and their size."""

    content: Path
    batch: Path
    articles: int
    paragraphs: int
    questions: int


def write_library(squad: Path, folder: Path, paragraphs: int = PARAGRAPHS, questions: int = QUESTIONS) -> SquadLibrary:
    """Story files (the plain-text shape) and a JSONL batch of questions from a SQuAD 2.0 file (see the docstring)."""
    opener = gzip.open if squad.suffix == ".gz" else open
    with opener(squad, "rt", encoding="utf-8") as handle:
        articles = [a for a in json.load(handle)["data"] if a["title"] not in HELD_OUT]
    content = folder / "content"
    content.mkdir(parents=True)
    taken, asked, written = 0, [], 0
    for article in articles:
        blocks = [" ".join(p["context"].split()) for p in article["paragraphs"][: paragraphs - taken]]
        asked += [q["question"] for p in article["paragraphs"][: len(blocks)] for q in p["qas"]]
        slug = re.sub(r"[^a-z0-9]+", "-", article["title"].lower()).strip("-")[:100]
        body = "\n\n".join(blocks)
        title = article["title"].replace("_", " ")
        (content / f"{slug}.txt").write_text(f"# {title}\n\n{body}\n\nOriginal Source(s): Wikipedia\n", "utf-8")
        taken, written = taken + len(blocks), written + 1
        if taken >= paragraphs:
            break
    if not asked:
        raise ValueError(f"{squad}: no articles with questions outside the held-out ones; is it SQuAD 2.0 dev?")
    step = len(asked) / min(questions, len(asked))
    picked = [asked[int(i * step)] for i in range(min(questions, len(asked)))]
    batch = folder / "questions.jsonl"
    batch.write_text("".join(json.dumps({"question": q}) + "\n" for q in picked), encoding="utf-8")
    return SquadLibrary(content, batch, written, taken, len(picked))


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Wall and CPU seconds of one command run to its end (a failure raises, naming the command and its stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:5])} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "lines": len(done.stdout.splitlines())}


def commands(squad: Path, repeat: int = 3) -> dict[str, Any]:
    """Ours and the naive pipeline's build and ask --batch on one library, alternated, in one run. `ask --batch` is
    timed `repeat` times, naive then ours each time, and the pair with the median ratio is reported (the others
    beside it): one pair moves with the machine's load by 0.02-0.05 of a ratio near 0.2."""
    with tempfile.TemporaryDirectory(prefix="newsroom-perf-") as tmp:
        folder = Path(tmp)
        library = write_library(squad, folder)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(PYTHONPATH=str(ROOT), CROSS_ENCODER_MODEL="none", MODEL_CACHE=str(folder / "model-cache"))
        ours = [sys.executable, "-m", "bot.cli"]

        def build(index: str) -> list[str]:
            return [*ours, "build", "--index", str(folder / index), "--content", str(library.content)]

        # cwd is the temporary folder: a developer's .env in the checkout must not change what is measured
        naive_build = timed(
            [sys.executable, "-c", NAIVE_BUILD, str(library.content), str(folder / "naive")], folder, env
        )
        build_cold = timed(build("index-cold"), folder, env)
        build_warm = timed(build("index"), folder, env)
        pairs = []
        for _ in range(max(repeat, 1)):
            naive_ask = timed([sys.executable, "-c", NAIVE_ASK, str(folder / "naive"), str(library.batch)], folder, env)
            ask = timed([*ours, "ask", "--index", str(folder / "index"), "--batch", str(library.batch)], folder, env)
            for figures in (ask, naive_ask):
                if figures["lines"] != library.questions:
                    raise RuntimeError(
                        f"ask --batch printed {figures['lines']} lines for {library.questions} questions"
                    )
            pairs.append({"ours": ask, "naive": naive_ask})
    ratios = [pair["ours"]["wall_s"] / pair["naive"]["wall_s"] for pair in pairs]
    median = sorted(range(len(pairs)), key=ratios.__getitem__)[len(pairs) // 2]
    size = {"articles": library.articles, "paragraphs": library.paragraphs, "questions": library.questions}
    return {
        "library": size,
        "build": {"ours": build_warm, "naive": naive_build},
        "build_cold": {"ours": build_cold, "naive": naive_build},
        "ask": {**pairs[median], "ratios": ratios},
    }


ROWS = {
    "build": "`build`, fresh index, model cache filled",
    "build_cold": "`build`, fresh index and empty model cache",
    "ask": "`ask --batch`, every question",
}


def table(figures: dict[str, Any]) -> str:
    """The throughput table: each command's wall seconds, ours and naive, the ratio and its goal; CPU beside."""
    size = figures["library"]
    lines = [
        f"Whole commands on {size['articles']} SQuAD 2.0 articles, {size['paragraphs']} paragraphs, "
        f"{size['questions']:,} questions; cross-encoder off.",
        "",
        "| command | ours (s) | naive (s) | ours × naive | goal | | CPU ours / naive (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in ROWS.items():
        ours, naive = figures[key]["ours"], figures[key]["naive"]
        ratio = ours["wall_s"] / naive["wall_s"]
        met = "met" if ratio <= GOALS[key] else "NOT met"
        lines.append(
            f"| {label} | {ours['wall_s']:.1f} | {naive['wall_s']:.1f} | {ratio:.2f}× | ≤ {GOALS[key]}× | {met} "
            f"| {ours['cpu_s']:.1f} / {naive['cpu_s']:.1f} |"
        )
    ratios = figures["ask"].get("ratios", [])
    if len(ratios) > 1:
        lines += [
            "",
            f"`ask --batch`: the pair with the median ratio of {len(ratios)}, each naive then ours: "
            + ", ".join(f"{r:.2f}×" for r in ratios)
            + ".",
        ]
    return "\n".join(lines)
