"""Hostile questions at the engine: every one gets an Answer with a status and a message, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from index import Answer, AnswerStatus, Encoder, Library
from index.live import LiveLibrary

from ..conftest import SEED_SLUG
from ..support.strategies import fuzz, hostile_question

EMPTY, TOO_LONG = AnswerStatus.EMPTY_QUESTION, AnswerStatus.QUESTION_TOO_LONG


def check_answer(answer: Answer, library: Library) -> None:
    assert isinstance(answer.status, AnswerStatus) and answer.message.strip()
    answer.model_dump_json()  # the CLI prints it and the bot logs it: it must be valid UTF-8 text
    if not answer.shows_quotes:  # declined or refused: nothing quoted
        assert answer.quotes == []
        return
    assert answer.quotes  # answered, or the closest passage: quoted and checkable alike
    texts = {(s.slug, p.number): p.text for s in library.data.stories for p in s.paragraphs}
    for quote in answer.quotes:
        assert quote.text and quote.text in texts[(quote.story, quote.paragraph)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", {EMPTY}),
        ("   \t\n\u00a0\u3000", {EMPTY}),
        ("Why? " * 2000, {TOO_LONG}),
        ("How many White Helmets are trapped? " + "x" * 9964, {TOO_LONG}),
        ("😀👍🏽🇸🇾🧑‍🚒", {EMPTY}),
        ("\u200b\u200c\u200d\u2060\ufeff", {EMPTY}),
        ("?!.,;:—…", {EMPTY}),
        ("@everyone <@&123456789012345678> how many are trapped?", None),
        ("```\n@here\n``` [link](https://evil.example) **bold**", None),
        ("How\u200b many White\u200d Helmets are trapped?", {AnswerStatus.ANSWERED, AnswerStatus.CLOSEST}),
        ("¿Cuántos cascos blancos siguen atrapados en Siria?", None),
        ("كم عدد الخوذ البيضاء المحاصرين في سوريا؟", None),
        ("有多少白头盔仍被困在叙利亚？", None),
        ("\u202eevlohssa\u202c", None),
        # lone surrogates (JSON's "\ud800", a non-UTF-8 byte from a command line): the tokenizer raises on them
        ("\ud800 How many White Helmets are trapped?", {AnswerStatus.ANSWERED, AnswerStatus.CLOSEST}),
        ("How many White Helmets are trapped?\udcff", {AnswerStatus.ANSWERED, AnswerStatus.CLOSEST}),
        ("\udced\udca0\udc80", {EMPTY}),
    ],
    ids=lambda value: repr(value)[:30] if isinstance(value, str) else None,
)
def test_bad_questions_get_a_status(library: Library, question: str, expected: set[AnswerStatus] | None) -> None:
    for story in (None, SEED_SLUG):
        answer = library.ask(question, story)
        check_answer(answer, library)
        if expected is not None:
            assert answer.status in expected, (question[:50], answer.status)


@fuzz(150)
@given(question=hostile_question())
def test_fuzzed_questions_never_raise(library: Library, question: str) -> None:
    check_answer(library.ask(question), library)


@pytest.fixture(scope="module")
def live(built_index: Path, encoder: Encoder) -> LiveLibrary:
    return LiveLibrary(built_index, encoder=encoder)


@fuzz(50)
@given(question=hostile_question())
def test_fuzzed_questions_through_the_live_library(live: LiveLibrary, question: str) -> None:
    check_answer(live.ask(question, SEED_SLUG, top_k=3), live.library)
