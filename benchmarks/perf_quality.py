"""Does int8 cost answer quality? The same questions through the engine with each encoder.

The SQuAD article in `../shared/eval` (University of Notre Dame, 55 paragraphs, 269 questions) becomes one
story; each encoder embeds it (`Library.from_stories`) and answers every question. Two figures per encoder:
paragraph top-1 (the first quote comes from the gold paragraph) and answer-in-first-quote (the first quote
holds a gold answer text). The quality benchmark (`benchmarks/quality.py`) is the project's bar; this is the
narrower question of whether quantisation moves it.
"""

from __future__ import annotations

import json
from pathlib import Path

from index import Library
from index.embedder import Encoder
from index.stories import parse_story


def answer_quality(story_file: Path, questions_file: Path, encoder: Encoder) -> dict[str, float]:
    story = parse_story(story_file)
    library = Library.from_stories([story], encoder)
    rows = [json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    top1 = holds = 0
    for row in rows:
        answer = library.ask(row["question"], top_k=1)
        first = answer.quotes[0] if answer.quotes else None
        top1 += bool(first and first.paragraph == row["paragraph"])
        holds += bool(first and any(a.lower() in first.text.lower() for a in row["answers"]))
    return {"paragraph_top1": top1 / len(rows), "answer_in_first_quote": holds / len(rows), "questions": len(rows)}


def compare(eval_dir: Path, encoders: dict[str, Encoder]) -> dict[str, dict[str, float]]:
    story = eval_dir / "university-of-notre-dame.txt"
    questions = eval_dir / "university-of-notre-dame.questions.jsonl"
    return {name: answer_quality(story, questions, encoder) for name, encoder in encoders.items()}
