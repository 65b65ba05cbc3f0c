"""Does int8 cost answer quality? `benchmarks.quality` run once per encoder, on the same questions.

The project's quality benchmark (see there) builds an in-memory library of the SQuAD article in `../shared/eval`
with the given encoder and scores the engine. Here only the encoder changes: sentence-transformers on torch in
fp32 (what the naive bot serves) against the index's int8 ONNX export.
"""

from __future__ import annotations

from pathlib import Path

from index import Encoder
from training.data import read_questions

from .story_systems import run


def compare(eval_dir: Path, encoders: dict[str, Encoder]) -> dict[str, dict[str, float]]:
    """Engine top-1, top-3, first-quote and abstention rates per encoder (fractions of the questions)."""
    story = eval_dir / "university-of-notre-dame.txt"
    questions = read_questions(eval_dir / "university-of-notre-dame.questions.jsonl")
    off_topic_file = eval_dir / "off-topic.questions.jsonl"
    off_topic = read_questions(off_topic_file) if off_topic_file.exists() else []
    out = {}
    for name, encoder in encoders.items():
        engine = run(story, questions, off_topic, encoder)["engine"]
        out[name] = {
            "top1": engine.top1,
            "top3": engine.top3,
            "first_quote": engine.first_quote,
            "abstained": engine.abstained,
        }
    return out
