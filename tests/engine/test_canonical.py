"""The normal form of a question: trivial variants read alike, real words are never "corrected", idempotent."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.canonical import QuestionForm, english_words
from training.variants import CHANGES, variant

STORY = [
    "Nearly 300 White Helmet rescue workers have been trapped in Syria after an evacuation on Sunday.",
    "The White Helmets rescued skilled workers. Transferred Syrians will remain in Jordan.",
]
FORM = QuestionForm.of(STORY)


@pytest.mark.parametrize(
    "asked",
    [
        "How many White Helmets are trapped in Syria?",
        "how many white helmets are trapped in syria",
        "HOW MANY WHITE HELMETS ARE TRAPPED IN SYRIA??",
        "hey bot, how many white helmets r trapped in syria? thx lol",
        "quick question: how many White Helmets are trapped in Syria 🙏🙏",
        "Hi! Can you tell me how many White Helmets are trapped in Syria pls",
        "how many white helmets are traped in syria",  # a typo of a story word
    ],
)
def test_variants_read_alike(asked: str) -> None:
    assert FORM.normal(asked) == "how many White Helmets are trapped in Syria"


def test_real_words_are_not_corrected() -> None:
    # "killed" is one edit from the story's "skilled", but it is an English word: the question keeps it
    assert "killed" in english_words()
    assert FORM.normal("How many were killed?") == "how many were killed"


def test_case_comes_from_the_library_not_the_reader() -> None:
    assert (
        FORM.normal("WHO PAINTED THE MONA LISA")
        == FORM.normal("Who painted the Mona Lisa?")
        == "who painted the mona lisa"
    )
    assert FORM.normal("what happened in jordan") == "what happened in Jordan"


def test_a_greeting_alone_leaves_nothing_to_ask() -> None:
    assert FORM.normal("hi") == FORM.normal("thanks!") == FORM.normal("🙏") == ""


@given(st.text(max_size=80))
def test_idempotent(text: str) -> None:
    once = FORM.normal(text)
    assert FORM.normal(once) == once


@given(st.integers(0, 10_000))
def test_non_typo_variants_read_like_the_question(seed: int) -> None:
    question = "How many rescue workers were evacuated on Sunday?"
    kinds = tuple(k for k in CHANGES if k not in ("typo", "filler"))  # fillers inside a question may stay
    text, _ = variant(question, random.Random(seed), (random.Random(seed).choice(kinds),))
    assert FORM.normal(text) == FORM.normal(question)


def test_a_word_longer_than_any_known_one_is_not_mended(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 6,000-letter "word" (a hostile question) took 2.7 s to read: every one-edit string of it was made and looked
    up, and none can be a known word. Now words past the longest known word plus one are left as they are."""
    import index.canonical as canonical

    form = QuestionForm.of(["The White Helmets evacuated rescue workers."])
    edited: list[int] = []
    real = canonical._edits
    monkeypatch.setattr(canonical, "_edits", lambda word: edited.append(len(word)) or real(word))
    longest = max(len(w) for w in [*form.library_words, *english_words()])
    read = form.normal("who evacuatd the rescue workers? " + "x" * 5960)
    assert read.startswith("who evacuated the rescue workers") and read.endswith("x" * 5960)  # the typo mended
    assert edited == [len("evacuatd")] and longest + 1 < 5960
