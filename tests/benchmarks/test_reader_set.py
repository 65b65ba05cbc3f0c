"""The reader-style question set loads, its gold is checked against the stories, and it is scored as documented."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchmarks.reader_set import (
    STORY_FOLDERS,
    ReaderQuestion,
    ReaderSetError,
    evaluate_readers,
    is_right,
    read_reader_set,
    score,
)
from benchmarks.story_asker import Reply
from index.models import Story

WH = "white-helmets-trapped-in-syria"


def test_the_shipped_set_loads_with_every_kind_on_five_stories() -> None:
    reader_set = read_reader_set()
    kinds = Counter(q.kind for q in reader_set.questions)
    assert len(reader_set.questions) >= 80 and min(kinds.values()) >= 10, kinds
    assert len(reader_set.stories) == 5 and WH in reader_set.stories
    by_text = {q.question: q for q in reader_set.questions}
    # the two examples, with the paragraphs a reader expects
    assert by_text["How many people were evacuated?"].paragraphs == (1,)
    assert by_text["What do the White Helmets do?"].paragraphs == (2,)


def _line(**row: object) -> str:
    base = {
        "question": "How many are trapped?",
        "story": WH,
        "kind": "answerable",
        "paragraphs": [1],
        "answers": ["300"],
    }
    return json.dumps({**base, **row})


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "not a reader question line"),
        (_line(paragraphs=[]), "needs gold"),
        (_line(kind="near_topic"), "has no gold"),
        (_line(kind="sideways"), "not a reader question line"),
        (_line(story="no-such-story"), "no story 'no-such-story'"),
        (_line(paragraphs=[9]), r"outside 1\.\.4"),
        (_line(answers=["115,000"]), "in none of the gold paragraphs"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path, bad: str, reason: str) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text(_line() + "\n\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(ReaderSetError, match=rf"questions.jsonl:3: .*{reason}"):
        read_reader_set(path, STORY_FOLDERS)


Q = ReaderQuestion(question="q", story=WH, kind="answerable", paragraphs=(1, 2), answers=("300",))


def test_right_means_a_gold_paragraph_and_a_gold_answer() -> None:
    assert is_right(Q, Reply("There are still 300 left.", 2))
    assert not is_right(Q, Reply("There are still 300 left.", 3))  # right words, wrong paragraph
    assert not is_right(Q, Reply("Nobody knows.", 1))
    assert not is_right(Q, Reply())


def test_scores_per_kind_and_groups() -> None:
    near = ReaderQuestion(question="n", story=WH, kind="near_topic", style="chat")
    off = ReaderQuestion(question="o", story=WH, kind="off_topic", style="plain")
    pairs = [(Q, Reply("300 of them", 1)), (Q, Reply("wrong", 4)), (Q, Reply()), (near, Reply()), (off, Reply("x", 1))]
    s = score(pairs)
    assert s.answerable == 3 and s.right == pytest.approx(1 / 3) and s.answered == pytest.approx(2 / 3)
    assert (s.near_declined, s.off_declined) == (1.0, 0.0)
    assert score([]).right is None
    reader_set = read_reader_set()
    seen: list[str] = []

    def ask(story: Story, questions: Sequence[str]) -> list[Reply]:
        seen.extend(questions)
        return [Reply() for _ in questions]

    results = evaluate_readers(reader_set, ask)
    assert sorted(seen) == sorted(q.question for q in reader_set.questions)
    assert results["all"].right == 0.0 and results["all"].near_declined == 1.0
    assert set(reader_set.stories) < set(results) and "style: chat" in results
