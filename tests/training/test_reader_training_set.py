"""The reader-style training set (training/readers/) loads with its gold checked, has every kind of question on
every story, and stays apart from the test set in benchmarks/readers/: no shared story, no repeated question."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.reader_set import ReaderSet, read_reader_set

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training" / "readers"


@pytest.fixture(scope="module")
def training() -> ReaderSet:
    return read_reader_set(TRAINING / "questions.jsonl", [TRAINING / "stories"])


@pytest.fixture(scope="module")
def test_set() -> ReaderSet:
    return read_reader_set()


def _same_words(question: str) -> str:
    """A question as a reader would see it repeated: case, spacing and punctuation ignored."""
    return " ".join(re.findall(r"[a-z0-9]+", question.lower()))


def test_every_story_has_each_kind_in_roughly_the_written_shares(training: ReaderSet) -> None:
    assert len(training.stories) == 14
    for slug in training.stories:
        kinds = Counter(q.kind for q in training.questions if q.story == slug)
        assert 25 <= kinds["answerable"] <= 35, (slug, kinds)
        assert 8 <= kinds["near_topic"] <= 14, (slug, kinds)
        assert 3 <= kinds["off_topic"] <= 6, (slug, kinds)


def test_every_story_in_the_folder_is_asked_about(training: ReaderSet) -> None:
    files = {p.name for p in (TRAINING / "stories").iterdir() if p.suffix in (".md", ".txt")}
    assert {story.file for story in training.stories.values()} == files


def test_the_stories_are_news_length(training: ReaderSet) -> None:
    for story in training.stories.values():
        words = sum(len(p.text.split()) for p in story.paragraphs)
        assert 9 <= len(story.paragraphs) <= 14 and 350 <= words <= 600, (story.slug, len(story.paragraphs), words)


def test_no_story_or_question_is_shared_with_the_test_set(training: ReaderSet, test_set: ReaderSet) -> None:
    assert not set(training.stories) & set(test_set.stories)
    assert not {s.title for s in training.stories.values()} & {s.title for s in test_set.stories.values()}
    tested = {_same_words(q.question) for q in test_set.questions}
    assert [q.question for q in training.questions if _same_words(q.question) in tested] == []


def test_no_question_is_written_twice(training: ReaderSet) -> None:
    counts = Counter(_same_words(q.question) for q in training.questions)
    assert [text for text, n in counts.items() if n > 1] == []


def test_questions_are_asked_the_ways_readers_ask(training: ReaderSet) -> None:
    styles = Counter(q.style for q in training.questions if q.kind == "answerable")
    assert set(styles) == {"paraphrase", "story-words", "chat", "markup"}
    assert styles["paraphrase"] > len(training.questions) / 3  # mostly in the reader's own words


def test_the_comparison_of_questions_ignores_case_and_punctuation() -> None:
    assert _same_words("How did the council vote?") == _same_words("how did the council  vote")
    assert _same_words("How did the council vote?") != _same_words("How did the board vote?")
