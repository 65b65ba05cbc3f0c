"""benchmarks.library_memory builds what it claims to measure: a loadable build of well-formed synthetic stories."""

from __future__ import annotations

from pathlib import Path

from benchmarks.library_memory import PARAGRAPHS, SENTENCES, WORDS, RandomEncoder, synthetic_stories, write
from index import AnswerStatus, Library


def test_synthetic_sentences_are_spans_of_their_paragraph() -> None:
    stories = synthetic_stories(3)
    assert len({s.slug for s in stories}) == 3
    for story in stories:
        assert len(story.paragraphs) == PARAGRAPHS
        for paragraph in story.paragraphs:
            texts = [paragraph.sentence_text(i) for i in range(len(paragraph.sentences))]
            assert len(texts) == SENTENCES
            assert " ".join(texts) == paragraph.text
            assert all(len(t.split()) == WORDS and t.endswith(".") for t in texts)


def test_the_build_loads_and_answers(tmp_path: Path) -> None:
    vectors, files_mb = write(tmp_path, 4)
    assert vectors == 4 * PARAGRAPHS * (1 + SENTENCES)
    assert files_mb > 0
    library = Library.load(tmp_path, encoder=RandomEncoder())
    assert len(library.stories()) == 4
    assert library.ask("What happened?").status in (AnswerStatus.ANSWERED, AnswerStatus.NOT_COVERED)
