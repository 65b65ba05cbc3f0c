"""Rendering answers for Discord: quotes, attribution, escaping, and Discord's size limits (pure functions)."""

from __future__ import annotations

import datetime as dt
import unicodedata

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    MAX_MESSAGES,
    escape,
    render_answer,
    render_sources,
    render_stories,
    render_summary,
    trim,
)
from index import Answer, AnswerStatus, Quote, StoryInfo, Summary

from ..support.botkit import ATTRIBUTION, quoted_passages, unescape

TITLE = "White Helmets Trapped in Syria"


def quote(text: str, paragraph: int = 1, url: str | None = None, title: str = TITLE) -> Quote:
    return Quote(text=text, story="s", title=title, paragraph=paragraph, sources=["NPR", "CNN"], url=url, score=0.9)


def answered(*quotes: Quote, question: str = "How many?") -> Answer:
    return Answer(question=question, status=AnswerStatus.ANSWERED, quotes=list(quotes), message="found")


def check_limits(replies) -> None:
    assert 1 <= len(replies) <= MAX_MESSAGES
    for reply in replies:
        assert len(reply.content or "") <= CONTENT_LIMIT
        assert len(reply.embeds) <= 10
        for embed in reply.embeds:
            assert len(embed.description or "") <= EMBED_DESCRIPTION_LIMIT
            assert len(embed.title or "") <= EMBED_TITLE_LIMIT
            assert len(embed) <= EMBED_TOTAL_LIMIT


def test_quote_is_a_block_quote_followed_by_its_attribution() -> None:
    (reply,) = render_answer(answered(quote("There are still 300 White Helmets left.", 3)), "plain")
    assert reply.content == (
        "> There are still 300 White Helmets left.\n— *White Helmets Trapped in Syria*, ¶3 · Sources: NPR; CNN"
    )
    assert reply.embeds == []


def test_embed_style_puts_the_quotes_in_the_description_and_can_show_the_question() -> None:
    answer = answered(quote("One.", 1), quote("Two.", 4), question="What   happened?")
    (reply,) = render_answer(answer, "embed", show_question=True)
    (embed,) = reply.embeds
    assert reply.content is None and embed.title == "“What happened?”"
    assert quoted_passages(embed.description) == [("One.", 1), ("Two.", 4)]
    assert [ATTRIBUTION.match(line)["para"] for line in embed.description.split("\n") if line.startswith("—")] == [
        "1",
        "4",
    ]


def test_story_url_becomes_a_link_on_the_title_without_a_preview() -> None:
    (reply,) = render_answer(answered(quote("Text.", 2, url="https://news.example/story")), "plain")
    cite = reply.content.split("\n")[1]
    assert cite == "— [*White Helmets Trapped in Syria*](<https://news.example/story>), ¶2 · Sources: NPR; CNN"
    match = ATTRIBUTION.match(cite)
    assert match and match["url"] == "https://news.example/story"


def test_markdown_and_mentions_inside_a_quote_are_inert() -> None:
    hostile = "**Bold** _claims_ `code` ~~gone~~ ||spoiler|| @everyone @here <@&123456789012345678> [x](https://e.vil)"
    (reply,) = render_answer(answered(quote(hostile)), "plain")
    line = reply.content.split("\n")[0]
    assert "**" not in line.replace("\\*", "") and "||" not in line.replace("\\|", "")
    assert "@everyone" not in line and "@here" not in line and "<@&1" not in line
    assert unescape(line[2:]) == hostile  # escaping only: the words are exactly the story's


def test_a_title_cannot_break_the_link_or_the_italics() -> None:
    (reply,) = render_answer(answered(quote("Text.", url="https://x.example", title="A *bold* [claim]")), "plain")
    assert "[*A \\*bold\\* \\[claim\\]*](<https://x.example>)" in reply.content


def test_abstention_is_one_friendly_line_without_quotes() -> None:
    answer = Answer(question="Mona Lisa?", status=AnswerStatus.NOT_COVERED, message="The stories here don't say that.")
    (reply,) = render_answer(answer, "embed")
    assert reply.embeds == [] and reply.content.startswith("The story doesn't say that")
    assert ">" not in reply.content and "¶" not in reply.content
    (many,) = render_answer(answer, "embed", story_count=4)
    assert many.content.startswith("None of the stories here say that")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (AnswerStatus.EMPTY_QUESTION, "Ask me a question about the story"),
        (AnswerStatus.QUESTION_TOO_LONG, "That question is too long"),
    ],
)
def test_unusable_questions_get_polite_text(status: AnswerStatus, expected: str) -> None:
    message = "That question is too long; please ask it in under 1000 characters."
    (reply,) = render_answer(Answer(question="", status=status, message=message), "plain")
    assert reply.content.startswith(expected)


def test_an_overlong_quote_is_trimmed_at_a_sentence_boundary() -> None:
    sentence = "The rescue workers waited at the border for many days. "
    text = sentence * 100  # ~5,500 characters: too long for any single Discord field
    for style in ("plain", "embed"):
        replies = render_answer(answered(quote(text.strip())), style)
        check_limits(replies)
        body = replies[0].content if style == "plain" else replies[0].embeds[0].description
        (passage, number) = quoted_passages(body)[0]
        assert number == 1 and passage.endswith("days.") and passage in text
        assert body.split("\n")[0].endswith("days. …")


def test_many_long_quotes_split_into_several_messages_within_limits() -> None:
    quotes = [quote(("Word " * 350).strip() + ".", i) for i in range(1, 4)]  # ~1,750 characters each
    plain = render_answer(answered(*quotes), "plain")
    check_limits(plain)
    assert len(plain) == 3 and all(len(quoted_passages(r.content)) == 1 for r in plain)
    embed = render_answer(answered(*quotes), "embed", show_question=True)
    check_limits(embed)
    assert embed[0].embeds[0].title and all(r.embeds[0].title is None for r in embed[1:])


def test_a_huge_question_shown_as_title_is_trimmed() -> None:
    (reply,) = render_answer(answered(quote("Text."), question="why " * 400), "embed", show_question=True)
    assert len(reply.embeds[0].title) <= EMBED_TITLE_LIMIT and reply.embeds[0].title.endswith("…")


@given(st.text(max_size=3000), st.sampled_from(["plain", "embed"]))
def test_any_quote_text_renders_within_limits_and_reads_back_verbatim(text: str, style: str) -> None:
    if not text.split():
        return
    replies = render_answer(answered(quote(text)), style)  # type: ignore[arg-type]
    check_limits(replies)
    body = replies[0].content if style == "plain" else replies[0].embeds[0].description
    passage = quoted_passages(body)[0][0]
    assert passage in visible(" ".join(text.split()))


def test_trim_prefers_sentences_then_words() -> None:
    assert trim("Short.", 10) == "Short."
    assert trim("One two. Three four five six.", 20) == "One two. …"
    assert trim("alpha beta gamma delta", 12) == "alpha beta…"
    assert trim("x" * 50, 10) == "x" * 9 + "…"
    assert all(len(trim("word " * n, 37)) <= 37 for n in range(30))


def test_escape_leaves_plain_text_alone() -> None:
    assert escape("Nearly 300 White Helmet rescue workers, July 22nd.") == (
        "Nearly 300 White Helmet rescue workers, July 22nd."
    )


def test_summary_quotes_each_sentence_with_its_paragraph() -> None:
    summary = Summary(
        story="s",
        title=TITLE,
        url="https://news.example/s",
        sources=["NPR", "CNN"],
        quotes=[quote("First.", 1), quote("Second.", 3)],
    )
    (reply,) = render_summary(summary, "embed")
    (embed,) = reply.embeds
    assert embed.title == f"Summary: {TITLE}" and embed.url == "https://news.example/s"
    assert quoted_passages(embed.description) == [("First.", 1), ("Second.", 3)]
    assert embed.footer.text.startswith("Sources: NPR; CNN")
    (plain,) = render_summary(summary, "plain")
    assert plain.content.startswith(f"**Summary of {TITLE}**")
    assert "Sources: NPR; CNN" in plain.content and quoted_passages(plain.content)[1] == ("Second.", 3)


def test_story_list_and_sources() -> None:
    info = StoryInfo(
        slug="white-helmets",
        title=TITLE,
        sources=["NPR", "CNN"],
        paragraphs=4,
        indexed_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )
    (reply,) = render_stories([info], "embed")
    embed: discord.Embed = reply.embeds[0]
    assert (
        embed.title == "1 story indexed" and "`white-helmets` · 4 paragraphs · Sources: NPR; CNN" in embed.description
    )
    check_limits(render_stories([info] * 400, "embed"))
    (src,) = render_sources([info], "plain")
    assert "*White Helmets Trapped in Syria* · Sources: NPR; CNN" in src.content
    assert render_stories([], "embed")[0].content.startswith("No stories are indexed yet")


# Issue 19 item 7: each of these reached replies through escape(). Direction controls reorder the text around
# them (a question starting with U+202E showed its closing quote reversed); the others are invisible, or break a
# line where Discord's Markdown escaping doesn't look for a line start.
HIDDEN = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"  # direction
    "\u200b\u2060\ufeff\u180e\u00ad\u2061\u206a\ufff9\x00\x1b\x7f\x9b"  # invisible
)
BREAKS = "\r\x0b\x0c\x85\u2028\u2029"


def visible(text: str) -> str:
    """`text` less what escape() removes, defined apart from it: Unicode's controls and format characters, but
    for line breaks and tabs, the joiners writing needs and the tag characters of flag emoji."""
    kept = "\n\t\u200c\u200d"
    return "".join(
        ch
        for ch in text
        if ch in kept or "\U000e0020" <= ch <= "\U000e007f" or unicodedata.category(ch) not in ("Cc", "Cf")
    )


def test_the_hidden_characters_are_every_control_and_format_character() -> None:
    every = "".join(map(chr, range(0x110000)))
    removed = set(every) - set(escape(every))
    assert removed == set(every) - set(visible(every)) | {"\u2028", "\u2029"}  # the separators become spaces


@pytest.mark.parametrize("hidden", [*HIDDEN, *BREAKS], ids=lambda ch: f"U+{ord(ch):04X}")
def test_invisible_and_direction_characters_are_neutralised(hidden: str) -> None:
    shown = escape(f"Who{hidden}pays- for it?")
    assert shown in ("Whopays- for it?", "Who pays- for it?"), repr(shown)


def test_a_question_led_by_a_right_to_left_override_shows_as_asked() -> None:
    answer = answered(quote("One."), question="\u202eHow many are\u2066 trapped?\u2069")
    (reply,) = render_answer(answer, "embed", show_question=True)
    title = reply.embeds[0].title or ""
    assert title == "“How many are trapped?”" and not set(title) & set(HIDDEN)
    assert answer.question.startswith("\u202e")  # the answer itself (the log, the JSON) keeps what was asked


def test_joiners_that_writing_needs_are_kept() -> None:
    for text in (
        "👩\u200d🔬 scientists",
        "می\u200cخواهم",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    ):
        assert escape(text) == text
