"""The quality benchmark computes its figures as documented, on data written here (no shared/ needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.quality import Prediction, evaluate, main, oracle_threshold, quote_holds_answer, run, with_threshold
from index import Encoder
from training.data import Question, read_questions

QUESTIONS = [
    Question("q1", 2, ["forty-two"]),
    Question("q2", 2, ["blue"]),
    Question("q3", 2, ["red"]),
    Question("q4", 4, ["Paris", "the capital"]),
]
PREDICTIONS = {
    "q1": Prediction([2, 1, 3], "The answer is FORTY-TWO, they said."),  # top-1, quote holds it (any case)
    "q2": Prediction([1, 3, 2], "Nothing about colours."),  # top-3 only, quote misses
    "q3": Prediction([1, 3, 4, 2], None),  # gold fourth, abstained
    "q4": Prediction([4], "It is the Capital of France."),  # second gold answer matches
    "off1": Prediction([1], None),
    "off2": Prediction([3], "A quote where there should be silence."),
}


def test_metrics_are_computed_per_their_definitions() -> None:
    metrics = evaluate(lambda q: PREDICTIONS[q], QUESTIONS, [Question("off1"), Question("off2")])
    assert (metrics.top1, metrics.top3, metrics.first_quote) == (0.5, 0.75, 0.5)
    assert (metrics.answered, metrics.abstained) == (0.75, 0.5)
    assert metrics.p50_ms >= 0


def test_quote_containment_is_case_insensitive_and_ignores_empty_gold() -> None:
    assert quote_holds_answer("Over 115,000 LIVES", ["115,000 lives"])
    assert not quote_holds_answer("anything", ["", "  "])
    assert not quote_holds_answer(None, ["x"])


def test_baseline_threshold_answers_the_requested_share() -> None:
    scores = {f"q{i}": float(i) for i in range(20)}
    system = lambda q: Prediction([1], "quote", scores[q])  # noqa: E731
    questions = [Question(q, 1, ["quote"]) for q in scores]
    threshold = oracle_threshold(system, questions, rate=0.9)
    assert evaluate(with_threshold(system, threshold), questions, []).answered == pytest.approx(0.9, abs=0.051)


STORY = """# A Tiny Test Story

The city council voted on Tuesday to close the old harbour bridge for repairs. Engineers found rust in 14 of its steel beams.

A local bakery won the national prize for sourdough bread. Its owner, Maria Lopez, has baked bread there since 1998.

The football club signed a new goalkeeper from Norway. He will wear the number 23 shirt this season.

Original Source(s): Test Wire
"""


def _write(tmp_path: Path) -> tuple[Path, Path, Path]:
    story = tmp_path / "tiny.txt"
    story.write_text(STORY, encoding="utf-8")
    rows = [
        {"question": "How many steel beams had rust?", "paragraph": 1, "answers": ["14"]},
        {"question": "Who owns the bakery that won the bread prize?", "paragraph": 2, "answers": ["Maria Lopez"]},
        {"question": "Where does the new goalkeeper come from?", "paragraph": 3, "answers": ["Norway"]},
    ]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    off = tmp_path / "off.jsonl"
    off.write_text('{"question": "What is the boiling point of water?"}\n', encoding="utf-8")
    return story, questions, off


def test_all_three_systems_find_easy_answers_on_a_tiny_story(tmp_path: Path, encoder: Encoder) -> None:
    story, questions, off = _write(tmp_path)
    results = run(story, read_questions(questions), read_questions(off), encoder)
    assert set(results) == {"engine", "dense-only", "bm25-only"}
    for name, metrics in results.items():
        assert metrics.top1 == 1.0 and metrics.top3 == 1.0, name
    assert results["engine"].first_quote == 1.0 and results["engine"].answered == 1.0


def test_command_line_prints_one_row_per_system(
    tmp_path: Path, encoder: Encoder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    story, questions, off = _write(tmp_path)
    loaded: list[str] = []
    monkeypatch.setattr("benchmarks.quality.load_encoder", lambda model, adapter: loaded.append(adapter) or encoder)
    assert main(["--story", str(story), "--questions", str(questions), "--off-topic", str(off)]) == 0
    out = capsys.readouterr().out
    assert "3 on-topic questions, 1 off-topic" in out
    # the engine's model has the shipped adapter, so plain dense retrieval on the model without it is measured too
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["engine", "dense-only", "dense-plain", "bm25-only"]
    assert loaded == ["auto", "none"]


def test_question_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        read_questions(bad)
