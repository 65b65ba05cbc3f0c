"""The three-reply figures (benchmarks.tiers), the variant flip rate and the real-query sets' loaders and splits."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from benchmarks.story_asker import Reply
from benchmarks.tiers import Scored, auc, tier_scores
from benchmarks.variants import same_reply
from training.decision_math import threshold_for_precision
from training.real_queries import RealQuery, read_qed, read_quiz, split_qed, split_quiz
from training.variants import CHANGES, variant, variants


def test_tier_scores_count_each_tier_by_its_rule() -> None:
    rows = [
        Scored("answerable", True, Reply("q", 1, True, 0.9)),  # right and confident
        Scored("answerable", True, Reply("q", 1, False, 0.4)),  # right, shown under the hedge
        Scored("answerable", False, Reply("q", 2, True, 0.8)),  # wrong and confident
        Scored("answerable", False, Reply(None, None, False, 0.1)),  # not shown
        Scored("unanswered", False, Reply("q", 1, False, 0.3)),  # closest: not confident, but shown
        Scored("unanswered", False, Reply("q", 1, True, 0.7)),  # confident: wrong
        Scored("off_topic", False, Reply(None, None, False, 0.0)),
    ]
    s = tier_scores(rows)
    assert s.shown == 0.75 and s.right_when_shown == pytest.approx(2 / 3)
    assert s.right_confident == 0.25 and s.not_confident == 0.5 and s.no_quote_unanswered == 0.0
    assert s.no_quote_off == 1.0 and s.precision == pytest.approx(1 / 3)


def test_auc_counts_ties_half() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5
    assert auc([], [0.5]) is None


def test_a_reply_changes_with_its_tier_or_its_quote() -> None:
    a = Reply("q", 1, True, 0.9)
    assert same_reply(a, Reply("q", 1, True, 0.8))  # the confidence may move
    assert not same_reply(a, Reply("q", 1, False, 0.4))  # answered -> closest
    assert not same_reply(a, Reply("other", 2, True, 0.9))
    assert not same_reply(a, Reply())


def test_variants_are_seeded_distinct_and_change_the_question() -> None:
    q = "How many rescue workers were evacuated on Sunday?"
    drawn = variants(q, 5, seed=1)
    assert drawn == variants(q, 5, seed=1) and len({v for v, _ in drawn}) == 5
    assert all(v != q and set(kinds) <= set(CHANGES) for v, kinds in drawn)


@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_each_change_keeps_the_question_recognisable(kind: str) -> None:
    q = "How many rescue workers were evacuated on Sunday?"
    for seed in range(20):
        text, kinds = variant(q, random.Random(seed), (kind,))
        assert (kinds == (kind,) and "rescue" in text.lower()) or kind == "typo"


def test_precision_threshold_is_the_lowest_that_keeps_the_precision() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    right = np.array([1, 1, 1, 0, 0], dtype=float)
    assert threshold_for_precision(p, right, np.ones(5), 0.9) == 0.7
    assert threshold_for_precision(p, right, np.ones(5), 0.75) == 0.6  # 3 of 4 right
    assert threshold_for_precision(p, np.zeros(5), np.ones(5), 0.9) == 1.0


def _write(path: Path, rows: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def test_real_query_loaders_splits_and_folds(tmp_path: Path) -> None:
    qed = _write(
        tmp_path / "qed.jsonl.gz",
        [
            {
                "id": str(i),
                "title": "T",
                "question": f"q{i}",
                "paragraph": f"Text {i} . Answer{i} here .",
                "sentence_starts": [0],
                "answers": [f"Answer{i}"],
                "answer_spans": [[0, 1]],
            }
            for i in range(30)
        ],
    )
    queries = read_qed(qed)
    train, held = split_qed(queries, held_out=10)
    assert len(held) == 10 and not {q.id for q in train} & {q.id for q in held}
    assert split_qed(queries, held_out=10)[1] == held  # the same draw every time
    assert all(q.answerable for q in queries) and {q.fold for q in queries} <= set(range(10))
    quiz = _write(
        tmp_path / "quiz.jsonl.gz",
        [
            {
                "id": f"{year}0101_{i}",
                "date": f"{year}/01/01",
                "source": "CNN",
                "question": "Who?",
                "choices": ["A", "B"],
                "answer_index": [0],
                "answer_text": ["Smith"],
                "evidence": "Mr Smith  said so.",
            }
            for year in (2024, 2026)
            for i in range(3)
        ],
    )
    train_q, dev_q = split_quiz(read_quiz(quiz))
    assert len(train_q) == len(dev_q) == 3 and all(q.id.startswith("2026") for q in dev_q)
    assert dev_q[0].paragraph == "Mr Smith said so." and dev_q[0].answerable
    assert RealQuery("x", "q", "no answer", ("Smith",)).answerable is False
