"""Answers: the right paragraph, verbatim quotes with attribution, and silence when the story is silent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import AnswerStatus, Library

from ..conftest import SEED_SLUG


def _paragraph_texts(library: Library) -> dict[tuple[str, int], str]:
    return {(s.slug, p.number): p.text for s in library.data.stories for p in s.paragraphs}


def test_demo_question_quotes_the_paragraph_that_says_so(library: Library) -> None:
    answer = library.ask("How many White Helmets are still trapped in Syria?")
    assert answer.shows_quotes  # answered, or the closest passage: either way the paragraph that says so
    first = answer.quotes[0]
    assert first.paragraph == 1 and "300" in first.text
    assert first.title == "White Helmets Trapped in Syria" and first.sources == ["NPR", "CNN"]
    assert first.text in _paragraph_texts(library)[(SEED_SLUG, 1)]
    assert 1 <= len(answer.quotes) <= 3 and all(len(q.text) <= 400 for q in answer.quotes)


def test_lives_saved_figure(library: Library) -> None:
    answer = library.ask("How many lives have the White Helmets saved?", SEED_SLUG)
    assert answer.shows_quotes and answer.quotes[0].paragraph == 3 and "115,000" in answer.quotes[0].text


def test_off_topic_questions_abstain_without_quotes(library: Library) -> None:
    for question in ["Who painted the Mona Lisa?", "What's a good recipe for banana bread?", "hello bot, how are you?"]:
        answer = library.ask(question)
        assert answer.status is AnswerStatus.NOT_COVERED and answer.quotes == [], question
        assert "doesn't say" in answer.message or "don't say" in answer.message


def test_on_subject_question_the_story_does_not_answer_is_not_answered_with_confidence(library: Library) -> None:
    answer = library.ask("How many White Helmets were killed?")
    assert not answer.answered  # declined, or the closest passage under a hedge (tests/engine/test_tiers.py)
    assert answer.status in (AnswerStatus.CLOSEST, AnswerStatus.NOT_COVERED)


def test_empty_and_huge_questions_get_a_status_not_an_exception(library: Library) -> None:
    assert library.ask("   \u200b ").status is AnswerStatus.EMPTY_QUESTION
    assert library.ask("🙂🙂").status is AnswerStatus.EMPTY_QUESTION
    assert library.ask("why " * 3000).status is AnswerStatus.QUESTION_TOO_LONG


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=200))
def test_every_quote_is_verbatim_from_its_story(library: Library, question: str) -> None:
    texts = _paragraph_texts(library)
    answer = library.ask(question)
    for quote in answer.quotes:
        assert quote.text and quote.text in texts[(quote.story, quote.paragraph)]


def test_summary_is_verbatim_in_story_order_and_attributed(library: Library) -> None:
    summary = library.summary(SEED_SLUG, sentences=3)
    texts = _paragraph_texts(library)
    assert len(summary.quotes) == 3
    positions = []
    for quote in summary.quotes:
        paragraph = texts[(SEED_SLUG, quote.paragraph)]
        assert quote.text in paragraph and quote.sources == ["NPR", "CNN"]
        positions.append((quote.paragraph, paragraph.index(quote.text)))
    assert positions == sorted(positions)
