"""Rendering a CLOSEST reply: the same verbatim, attributed quotes as an answer, under a hedge that reads differently
at a glance (its own first line, embed colour and footer), inside Discord's limits, pinging nobody."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import CLOSEST_FOOTER
from bot.render import (
    CLOSEST_COLOUR,
    CLOSEST_MARK,
    COLOUR,
    CONTENT_LIMIT,
    closest_header,
    render_answer,
)
from index import Answer, AnswerStatus, Quote

from ..support.botkit import ATTRIBUTION, quoted_passages, unescape
from .test_render import TITLE, answered, check_limits, quote, visible

HEDGE = f"“{TITLE}” may not answer this directly; the closest passage is ¶2."


def closest(*quotes: Quote, message: str = HEDGE, question: str = "How many?") -> Answer:
    return Answer(question=question, status=AnswerStatus.CLOSEST, quotes=list(quotes), message=message)


def test_plain_closest_reply_is_the_hedge_line_then_the_quote_exactly_as_an_answer_quotes_it() -> None:
    passage = quote("There are still 300 White Helmets left.", 2, url="https://news.example/story")
    (reply,) = render_answer(closest(passage), "plain")
    (as_answer,) = render_answer(answered(passage), "plain")
    head, rest = reply.content.split("\n\n", 1)
    assert head == f"{CLOSEST_MARK} *“{TITLE}” may not answer this directly; the closest passage is ¶2.*"
    assert rest == as_answer.content  # quote, paragraph, title, link and sources: as an answer's
    assert not as_answer.content.startswith(CLOSEST_MARK)


def test_embed_closest_reply_has_its_own_colour_first_line_and_footer() -> None:
    passages = (quote("One.", 2), quote("Two.", 4))
    (reply,) = render_answer(closest(*passages), "embed", show_question=True)
    (as_answer,) = render_answer(answered(*passages), "embed", show_question=True)
    embed, plain_embed = reply.embeds[0], as_answer.embeds[0]
    assert embed.colour == CLOSEST_COLOUR != plain_embed.colour == COLOUR
    assert embed.footer.text == CLOSEST_FOOTER != plain_embed.footer.text
    assert embed.title == plain_embed.title == "“How many?”"
    first_line = embed.description.split("\n")[0]
    assert first_line == closest_header(closest(*passages)) and unescape(first_line[3:-1]) == HEDGE
    assert embed.description.endswith(plain_embed.description)
    assert quoted_passages(embed.description) == [("One.", 2), ("Two.", 4)]
    cites = [line for line in embed.description.split("\n") if line.startswith("—")]
    assert [ATTRIBUTION.match(line)["para"] for line in cites] == ["2", "4"]


def test_a_hostile_story_title_in_the_hedge_is_inert() -> None:
    title = "**Breaking** @everyone <@&123456789012345678> [x](https://e.vil) _now_"
    hedge = f"“{title}” may not answer this directly; the closest passage is ¶1."
    (reply,) = render_answer(closest(quote("Text.", 1, title=title), message=hedge), "plain")
    head = reply.content.split("\n\n")[0]
    assert "@everyone" not in head and "<@&1" not in head and "](" not in head
    assert head.count("*") - head.count("\\*") == 2  # only the hedge's own italics
    assert unescape(head[len(CLOSEST_MARK) + 2 : -1]) == hedge


@given(st.text(max_size=3000), st.text(max_size=500), st.sampled_from(["plain", "embed"]))
def test_any_closest_reply_fits_discords_limits_and_quotes_verbatim(text: str, title: str, style: str) -> None:
    if not text.split():
        return
    hedge = f"“{title}” may not answer this directly; the closest passage is ¶1."
    replies = render_answer(closest(quote(text, title=title or TITLE), message=hedge), style)  # type: ignore[arg-type]
    check_limits(replies)
    body = replies[0].content if style == "plain" else replies[0].embeds[0].description
    assert body.startswith(CLOSEST_MARK)
    passage = quoted_passages("\n".join(r.content or r.embeds[0].description for r in replies))[0][0]
    assert passage in visible(" ".join(text.split()))  # less the characters no reader sees (bot/escaping.py)


def test_long_closest_quotes_split_within_limits_with_the_hedge_first() -> None:
    quotes = [quote(("Word " * 350).strip() + ".", i) for i in range(1, 4)]
    plain = render_answer(closest(*quotes), "plain")
    check_limits(plain)
    assert plain[0].content.startswith(CLOSEST_MARK) and all(len(r.content) <= CONTENT_LIMIT for r in plain)
    assert sum(len(quoted_passages(r.content)) for r in plain) == 3
    embeds = render_answer(closest(*quotes), "embed")
    check_limits(embeds)
    assert all(r.embeds[0].colour == CLOSEST_COLOUR for r in embeds)
