"""The quality benchmark computes its figures as documented, on data written here (no shared/ needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.quality import build_parser, load_data, main
from benchmarks.reader_set import QUESTIONS_FILE
from benchmarks.squad2 import evaluate_squad2, read_held_out
from benchmarks.story_asker import Reply, quote_holds_answer
from benchmarks.story_systems import Prediction, evaluate, oracle_threshold, run, with_threshold
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
    args = ["--sections", "story", "--story", str(story), "--questions", str(questions), "--off-topic", str(off)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 on-topic questions, 1 off-topic" in out
    # the engine's model has the shipped adapter, so plain dense retrieval on the model without it is measured too
    rows = out.split("3 on-topic questions, 1 off-topic\n")[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split()[0] for line in rows] == ["engine", "dense-only", "dense-plain", "bm25-only"]
    assert loaded == ["auto", "none"]
    # the summary has the story's rows measured and the sections not run left blank
    summary = out.split("== summary")[1]
    assert "| Notre_Dame | first quote holds the answer | ≥ 0.86 | 0.788 | 1.000 | yes |" in summary
    assert "| reader set | near-topic not confident | ≥ 0.85 | 0.704 | – | – |" in summary


def test_the_reader_set_section_needs_no_shared_data(
    tmp_path: Path, encoder: Encoder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("benchmarks.quality.load_encoder", lambda model, adapter: encoder)
    monkeypatch.chdir(tmp_path)  # as a fresh clone: no ../shared/eval
    lines = QUESTIONS_FILE.read_text(encoding="utf-8").splitlines()
    kinds = {json.loads(line)["kind"]: line for line in lines}  # one question of each kind keeps it quick
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join(kinds.values()) + "\n", encoding="utf-8")
    assert main(["--sections", "readers", "--readers", str(few)]) == 0
    out = capsys.readouterr().out
    assert "all" in out and "1/1/1" in out
    right = next(line for line in out.splitlines() if "answerable: first quote right when shown" in line)
    assert right.split("|")[5].strip() not in ("–", "")  # measured


def test_missing_or_bad_data_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("benchmarks.quality.load_encoder", lambda *a: pytest.fail("no model before the data is read"))
    assert main(["--sections", "squad2", "--squad2", str(tmp_path / "nope.json.gz")]) == 2
    assert "nope.json.gz does not exist (--squad2)" in capsys.readouterr().err
    bad = tmp_path / "readers.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    assert main(["--sections", "readers", "--readers", str(bad)]) == 2
    assert "readers.jsonl:1: not a reader question line" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # a default that is missing skips its section with a note saying what to pass
    data = load_data(build_parser().parse_args(["--sections", "story", "squad2"]))
    assert data.story is None and data.squad2 is None
    err = capsys.readouterr().err
    assert "skipping story" in err and "--story PATH" in err and "skipping squad2" in err


def test_question_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        read_questions(bad)


def test_squad2_scores_answerable_quotes_and_declined_tricks(tmp_path: Path) -> None:
    context = "Normandy is a region in France. Its dukes swore fealty to the king of France."
    qas = [
        {
            "id": "1",
            "question": "In what country is Normandy?",
            "answers": [{"text": "France"}],
            "is_impossible": False,
        },
        {"id": "2", "question": "Who swore fealty to Normandy?", "answers": [], "is_impossible": True},
        {"id": "3", "question": "What is France a region of?", "answers": [], "is_impossible": True},
    ]
    path = tmp_path / "dev.json"
    path.write_text(json.dumps({"data": [{"title": "Normans", "paragraphs": [{"context": context, "qas": qas}]}]}))
    with pytest.raises(ValueError, match=r"no article .*Force"):
        read_held_out(path)  # the fixed held-out titles are not in this file
    (article,) = read_held_out(path, ["Normans"])
    assert [len(q.answers) for q in article.questions] == [1, 0, 0]
    replies = {
        "In what country is Normandy?": Reply("Normandy is a region in France.", 1),
        "Who swore fealty to Normandy?": Reply(),
    }
    results = evaluate_squad2([article], lambda story, qs: [replies.get(q, Reply("Its dukes swore.", 1)) for q in qs])
    assert set(results) == {"Normans", "all"}
    scores = results["all"]
    assert (scores.answerable, scores.quote, scores.answered) == (1, 1.0, 1.0)
    assert (scores.unanswerable, scores.declined) == (2, 0.5)
