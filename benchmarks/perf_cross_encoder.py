"""What the cross-encoder costs: the engine with and without it, measured in one run on a 20-paragraph story.

    python -m benchmarks.perf_cross_encoder [--story ../shared/eval/university-of-notre-dame.txt] [--paragraphs 20]

Two indexes of the same story are built (CROSS_ENCODER_MODEL=auto and none). Reported for each: a whole answer (encode,
search, rank, read, quote) p50/p99 one question at a time, the bot's batched path (`ask_many` of 8) per question,
cold start (`newsroom-bot ask` in a fresh process, to the answer printed) and peak RSS serving 50 questions.
Questions alternate between the two libraries so other jobs on a shared machine hit both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from index import EngineOptions, Library, build_index
from index.stories import parse_story

from .perf_engine import OUR_RSS, ROOT, _rss_kb, _run, pct

QUESTION = "What is the oldest structure on campus?"


def story_file(source: Path, paragraphs: int, folder: Path) -> Path:
    story = parse_story(source)
    body = "\n\n".join(p.text for p in story.paragraphs[:paragraphs])
    path = folder / "content" / source.name
    path.parent.mkdir(parents=True)
    path.write_text(f"{body}\n\nOriginal Source(s): Wikipedia\n", encoding="utf-8")
    return path


def questions_for(source: Path, paragraphs: int, limit: int) -> list[str]:
    path = source.with_name(source.stem + ".questions.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if (r.get("paragraph") or 0) <= paragraphs][:limit]


def timings(libraries: dict[str, Library], questions: list[str]) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {name: [] for name in libraries}
    batched: dict[str, list[float]] = {name: [] for name in libraries}
    for library in libraries.values():
        library.ask_many(questions[:4])  # warm the sessions
    for question in questions:
        for name, library in libraries.items():
            started = time.perf_counter()
            library.ask(question)
            times[name].append((time.perf_counter() - started) * 1000)
    for start in range(0, len(questions) - 7, 8):
        for name, library in libraries.items():
            started = time.perf_counter()
            library.ask_many(questions[start : start + 8])
            batched[name].append((time.perf_counter() - started) * 1000 / 8)
    return {
        name: {
            "p50": pct(times[name], 50),
            "p99": pct(times[name], 99),
            "batched_per_question": statistics.median(batched[name]),
        }
        for name in libraries
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf_cross_encoder", description=__doc__.split("\n\n")[0])
    p.add_argument("--story", type=Path, default=ROOT.parent / "shared/eval/university-of-notre-dame.txt")
    p.add_argument("--paragraphs", type=int, default=20)
    p.add_argument("--questions", type=int, default=120)
    p.add_argument("--runs", type=int, default=3, help="cold starts per index (median)")
    args = p.parse_args(argv)
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        story_file(args.story, args.paragraphs, root)
        indexes = {"with cross-encoder": root / "index-cross-encoder", "without": root / "index-plain"}
        for name, index_dir in indexes.items():
            build_index(
                root / "content",
                index_dir,
                EngineOptions(cross_encoder="auto" if name == "with cross-encoder" else "none"),
            )
        libraries = {name: Library.load(index_dir) for name, index_dir in indexes.items()}
        if libraries["with cross-encoder"].cross_encoder is None:
            print("no cross-encoder ships (index/cross_encoders/): nothing to compare", file=sys.stderr)
            return 2
        out = timings(libraries, questions_for(args.story, args.paragraphs, args.questions))
        for name, index_dir in indexes.items():
            argv_ask = [sys.executable, "-m", "bot.cli", "ask", "--index", str(index_dir), QUESTION]
            out[name]["cold_start_s"] = statistics.median(_run(argv_ask)[0] for _ in range(args.runs))
            out[name]["rss_mb"] = _rss_kb(_run([sys.executable, "-c", OUR_RSS, str(index_dir), QUESTION])[1]) / 1024
    print(f"{'':14} {'p50 ms':>8} {'p99 ms':>8} {'batch ms/q':>10} {'cold s':>7} {'RSS MB':>7}")
    for name, f in out.items():
        print(
            f"{name:14} {f['p50']:8.1f} {f['p99']:8.1f} {f['batched_per_question']:10.1f} "
            f"{f['cold_start_s']:7.2f} {f['rss_mb']:7.0f}"
        )
    print("budget (issue 12): p50 <= 25 ms, p99 <= 60 ms, cold start <= 1.5 s, RSS <= 300 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
