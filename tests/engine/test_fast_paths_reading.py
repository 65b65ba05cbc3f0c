"""Reading a question the fast way gives, character for character, what the passes it skips gave (issue 20).

`clean_question`'s plain-text path, the normal form's symbol table, closer and end-punctuation tests and kept words,
and `tokenize`'s per-word terms are each checked against the code they replaced, on questions built to hit the
cases those shortcuts skip (markup, URLs, symbols, closers, typos, odd letters).
"""

from __future__ import annotations

import dataclasses
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.canonical import _CLOSER, _END_PUNCT, _OPENER, _RUNS, _WORD, QuestionForm, _is_symbol
from index.cleaning import _cleaned, clean_question
from index.tokens import _tokenize_per_text, tokenize

STORY = [
    "Nearly 300 White Helmet rescue workers have been trapped in Syria after an evacuation on Sunday.",
    "The White Helmets rescued skilled workers. Transferred Syrians will remain in Jordan.",
]
PIECES = [
    "hey bot, ", "pls ", "lol", "thx", " ok", "k", "u", "?", "!!", "...", ",", " ", "  ", "\t", "\n", "’", "'", "`",
    "```code```", "**", "__", "_", "~~", "||", "[a](http://x.org)", "<@123>", "@here", ":smile:", "www.x.com",
    "HTTP://A.B", "WWW.", "#", "> ", "-# ", "🙏", "\ufe0f", "^", "é", "ǅ", "ſ", "K", "ﬁ", "²", "①", "\u200b", "Who",
    "WHITE", "helmets", "evacuted", "traped", "Syria", "is", "the", "ppl", "r", "thank u", "now please", "help",
    " asking for a friend", "115,000", "3.5", "Israeli-led", "don't",
]  # fmt: skip


def _old_normal(form: QuestionForm, question: str) -> str:
    """`QuestionForm.normal` as it was: every character through `_is_symbol`, every pattern tried, every word read."""
    text = "".join(" " if _is_symbol(ch) else ch for ch in question)
    text = " ".join(text.replace("’", "'").split()).lower()
    previous = None
    while previous != text:
        previous = text
        text = _OPENER.sub("", text)
        text = _CLOSER.sub("", text)
        text = _END_PUNCT.sub("", text)
    text = _RUNS.sub(r"\1", text)
    return _WORD.sub(lambda m: form._word(m.group(0)), text).strip()


def _questions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(count)]


def test_plain_questions_clean_as_every_pass_cleans_them() -> None:
    for question in [*_questions(4000, 1), "How many?", "a\x1fb\x0bc", "  spaced   out  ", "x_y", "a-b # c"]:
        assert clean_question(question) == _cleaned(question), question
    assert clean_question("see www.example.com now") == "see now"  # the fast path did not take it


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_any_ascii_text_cleans_as_every_pass_cleans_it(text: str) -> None:
    assert clean_question(text) == _cleaned(text)


def test_the_normal_form_is_what_the_old_passes_gave() -> None:
    form = QuestionForm.of(STORY)
    for question in _questions(4000, 2):
        assert form.normal(question) == _old_normal(form, question), question
        assert form.normal(question) == _old_normal(form, question)  # the second time from the kept words
    fresh = dataclasses.replace(form)  # a new form keeps its own words
    assert fresh._mended == {} and fresh.normal("how many r traped?") == "how many are trapped"


@pytest.mark.parametrize("closer", ["thx", "thank u", "k", "now please", "lmk"])
def test_a_closer_ending_is_still_taken_off(closer: str) -> None:
    form = QuestionForm.of(STORY)
    assert form.normal(f"Who rescued the workers? {closer}") == "who rescued the workers"
    assert form.normal(f"Who rescued the workers {closer}!!") == _old_normal(
        form, f"Who rescued the workers {closer}!!"
    )


def test_tokenize_by_word_is_tokenize_by_text() -> None:
    texts = _questions(4000, 3) + STORY + ["Ⅻ ٣ 𝟓 ｆｕｌｌ İstanbul", "1,2.3. 4' ’s o'clock", "U R ppl"]
    for text in texts:
        for keep in (False, True):
            assert tokenize(text, keep_stopwords=keep) == _tokenize_per_text(text, keep_stopwords=keep), text


def test_no_closer_phrase_hides_from_the_ending_test() -> None:
    """Every closer the pattern knows ends in a word `_CLOSER_ENDS` holds (the test is a shortcut, not a filter)."""
    from index.canonical import _CLOSER_ENDS, _CLOSERS

    phrases = [p.strip() for p in _CLOSERS.replace("\n", "|").split("|") if p.strip()]
    assert all(re.fullmatch(r"[a-z ]+", p) and p.endswith(_CLOSER_ENDS) for p in phrases)
    assert np.all([_CLOSER.search("x " + p) is not None for p in phrases])
