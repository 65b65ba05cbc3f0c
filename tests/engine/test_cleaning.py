"""The engine reads the reader's question, not the link, markup, mentions or code pasted around it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index import Library, clean_question

from ..support.strategies import ANY_TEXT, INJECTION, ON_TOPIC, fuzz, hostile_question

QUESTION = "How many lives have the White Helmets saved?"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<@123> <@!456> <@&789> <#1011> @everyone @here How many are  trapped?", "How many are trapped?"),
        ("ask me@here.com or <@12a>", "ask me@here.com or <@12a>"),  # not mentions
        ("https://www.npr.org/2018/07/24/white-helmets how many were evacuated?", "how many were evacuated?"),
        ("is this true?? <https://twitter.com/x/status/17> was it a hack?", "is this true?? was it a hack?"),
        ("per [the story](https://cnn.com/a_(b)) who led it?", "per the story who led it?"),
        ("(see https://x.org/wiki/Sky_(UK)) what is it", "(see ) what is it"),
        ("**What do they do?** __really__ ~~no~~", "What do they do? really no"),
        ("||how many saved??|| <:thonk:845123456789012345> <a:wave:1> :sunny:", "how many saved??"),
        ("> how much did she pay?\n>>> and why", "how much did she pay? and why"),
        ("# Big\n-# small print", "Big small print"),
        ("what is `Khalid ibn al-Walid`?", "what is Khalid ibn al-Walid?"),  # inline code: a name, kept
        ("```js\nconsole.log(1)\n```\nhow long was it down", "how long was it down"),  # pasted code: dropped
        ("```\nhow long was it down\n```", "how long was it down"),  # ... unless it is the question
        ("snake_case and 10:30:45 and std::vector stay", "snake_case and 10:30:45 and std::vector stay"),
        ("use </ask:123> at <t:1700000000:R>", "use at"),
        ("[[a](http://x)](http://y)", "a"),
        ("How\u200b many\u00ad trapped?", "How many trapped?"),
    ],
)
def test_cleaning_keeps_the_question_and_drops_the_wrapping(raw: str, clean: str) -> None:
    assert clean_question(raw) == clean


MARKUP_QUESTION = st.lists(
    INJECTION
    | ON_TOPIC
    | ANY_TEXT
    | st.sampled_from(["**", "||", "`", "```", "[", "](", ")", "<", ">", "_", ":", "\n"]),
    max_size=12,
).map("".join)


@fuzz(400)
@given(question=hostile_question() | MARKUP_QUESTION)
def test_cleaning_never_raises_and_is_idempotent(question: str) -> None:
    once = clean_question(question)
    assert clean_question(once) == once
    assert once == once.strip() and "  " not in once


@pytest.mark.parametrize(
    "wrapped",
    [
        f"https://www.npr.org/2018/07/24/631791960/white-helmets-evacuated {QUESTION}",
        f"<@112233445566778899> **{QUESTION}** <:thonk:845123456789012345>",
        f"<#998877665544332211> ||{QUESTION}|| https://cnn.com/2018/07/23/middleeast/white-helmets",
        f"```\nTypeError: undefined is not a function\n```\n{QUESTION}",
    ],
)
def test_a_wrapped_question_is_answered_like_the_bare_one(library: Library, wrapped: str) -> None:
    bare, asked = library.ask(QUESTION), library.ask(wrapped)
    assert bare.quotes and "115,000" in bare.quotes[0].text
    assert asked.status == bare.status and asked.confidence == bare.confidence
    assert [(q.paragraph, q.text) for q in asked.quotes] == [(q.paragraph, q.text) for q in bare.quotes]
    assert asked.question == wrapped  # the answer still carries what was asked
