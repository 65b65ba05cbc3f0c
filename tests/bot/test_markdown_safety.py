"""No live link, mention or formatting from untrusted text in anything the bot renders.

Story text, titles, sources and URLs and the reader's question are hostile Discord Markdown here. Each rendered
message is read by tests/support/discord_markdown.py, an independent model of Discord's parser (it never calls
bot.render.escape), and must (1) show every untrusted string verbatim, none of its characters eaten as syntax or
wrapped in a link, (2) link only to the story's own http(s) URL, and (3) carry no more links, mentions or
formatting than the same message rendered from harmless text.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

import pytest
from discord.utils import escape_markdown
from hypothesis import example, given
from hypothesis import strategies as st

from bot.cogs.admin import report_text
from bot.cogs.common import find_story
from bot.editorial.grouping import Group
from bot.editorial.report import ReportData
from bot.editorial.report_render import discord_summary
from bot.render import Reply, escape, render_answer, render_sources, render_stories, render_summary
from index import Answer, AnswerStatus, BuildReport, Quote, StoryInfo, Summary

from ..support.discord_markdown import Parsed, parse
from ..support.strategies import fuzz

TOKENS = [
    "[x](http://evil.example)", "[y](https://evil2.example)", "[a [b](http://in.example)](http://out.example)",
    "[Click me](<https://evil.example>)", "](http://evil.example)", "[", "]", "(", ")", "\\", "\\[", "\\]",
    "<#123456789012345678>", "<t:1700000000:R>", "</cmd:123456789012345678>", "</a b:1>", "<:blob:123456789012345678>",
    "<a:blob:1234>", "<id:browse>", "<@123456789012345678>", "<@!123456789012345678>", "<@&123456789012345678>",
    "@everyone", "@here", "<http://evil.example>", "http://evil.example/a_b", "https://x.example/)", "steam://run/1",
    ":smile:", "||", "**", "*", "_", "__", "~~", "`", "```", "# ", "## ", "### ", "-# ", "> ", ">>> ", "- ", "+ ",
    "1. ", "\n", " ", "  ", "word", "Syria", "10:30", ">", "<", "#", ":", "-", "1.", "2)",
]  # fmt: skip
HOSTILE = st.lists(
    st.sampled_from(TOKENS) | st.text(" \n*_~|`[]()<>#:@!-+.\\/1aZ", min_size=1, max_size=4), min_size=1, max_size=12
).map("".join)
NAME = HOSTILE.map(str.strip).filter(bool)  # titles and sources are stripped when a story is parsed
URLS = st.sampled_from(
    [
        "https://news.example/story",
        "https://x.example/a>) [Click me](https://evil.example)",
        "https://x.example/a b",
        "https://en.example/wiki/Flood_(2018)",
        "http://x.example/<script>",
        "javascript:alert(1)",
        "example.org/flood",
        "https://",
        "ftp://files.example/x",
        "",
    ]
) | st.builds(lambda tail: "https://news.example/" + tail, HOSTILE)
BENIGN_URL = "https://news.example/s"
DAY = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def usable(url: str | None) -> bool:
    """Discord's embed-url rule: http or https with a host."""
    parts = urlsplit(url or "")
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def texts(replies: Sequence[Reply]) -> list[str]:
    """Every field of the replies that Discord renders as Markdown (embed footers are shown raw)."""
    out = []
    for reply in replies:
        out.append(reply.content or "")
        for embed in reply.embeds:
            out += [embed.title or "", embed.description or ""]
    return out


def check(
    render: Callable[[list[str], str | None], Sequence[Reply]],
    untrusted: list[str],
    url: str | None,
    harmless: list[str] | None = None,
) -> None:
    """`render(strings, url)` with hostile strings against the same with harmless ones (default: each "x")."""
    replies = render(untrusted, url)
    parsed = [parse(t) for t in texts(replies)]
    visible = "\n".join(p.visible for p in parsed).replace("\u200b", "")
    for text in untrusted:
        assert text in visible, f"{text!r} is not shown verbatim in {visible!r}"
    for p in parsed:
        assert all(kind not in p.kinds() for kind in ("mention", "channel", "slash", "time", "emoji", "nav")), p
        for link in p.links():
            assert usable(url) and usable(link) and unquote(link) == unquote((url or "").strip()), (link, url)
            assert not any(c in link for c in " <>()[]\"'`\\"), link
    for reply in replies:
        for embed in reply.embeds:
            assert embed.url is None or (usable(url) and usable(embed.url) and " " not in embed.url), embed.url
    plain = render(harmless or ["x"] * len(untrusted), BENIGN_URL if usable(url) else None)
    assert not (kinds(parsed) - kinds([parse(t) for t in texts(plain)])), "untrusted text added Markdown"


def kinds(parsed: list[Parsed]) -> Counter[str]:
    return Counter(kind for p in parsed for kind in p.kinds())


def a_quote(text: str, title: str, source: str, url: str | None) -> Quote:
    return Quote(text=text, story="s", title=title, paragraph=2, sources=[source], url=url, score=0.9)


def info(title: str, source: str, url: str | None) -> StoryInfo:
    return StoryInfo(slug="s", title=title, sources=[source], paragraphs=3, indexed_at=DAY, url=url, updated=DAY.date())


def spaced(text: str) -> str:
    return " ".join(text.split())  # quotes and the echoed question are shown with runs of white space as one


@fuzz(600)
@given(HOSTILE, NAME, NAME, HOSTILE, URLS, st.sampled_from(["plain", "embed"]))
@example("[x](http://evil)[y](http://evil2)", "T", "S", "q", "", "plain")
@example("q", "T", "S", "free nitro [Claim](https://evil.example) <@&1> <t:1:R>", "", "plain")
@example("q", "](http\\://evil) [", "S", "q", "https://n.example/s", "plain")
@example("q", "T", "S", "q", "https://x.example/a>) [Click me](https://evil.example)", "plain")
def test_answers_carry_no_markdown_from_untrusted_text(
    text: str, title: str, source: str, question: str, url: str, style: str
) -> None:
    if not text.split() or not question.split():
        return

    def render(s: list[str], link: str | None) -> Sequence[Reply]:
        answer = Answer(
            question=s[3], status=AnswerStatus.ANSWERED, quotes=[a_quote(s[0], s[1], s[2], link)], message="found"
        )
        return render_answer(answer, style, show_question=True)  # type: ignore[arg-type]

    check(render, [spaced(text), title, source, spaced(question)], url)


@fuzz(300)
@given(HOSTILE, NAME, NAME, URLS, st.sampled_from(["plain", "embed"]))
def test_summaries_carry_no_markdown_from_untrusted_text(
    text: str, title: str, source: str, url: str, style: str
) -> None:
    if not text.split():
        return

    def render(s: list[str], link: str | None) -> Sequence[Reply]:
        summary = Summary(story="s", title=s[1], url=link, sources=[s[2]], quotes=[a_quote(s[0], s[1], s[2], link)])
        replies = render_summary(summary, style)  # type: ignore[arg-type]
        return [Reply(content=r.content, embeds=[e.copy().set_footer(text=None) for e in r.embeds]) for r in replies]

    untrusted = [spaced(text), title] + ([source] if style == "plain" else [])  # embed: sources in the raw footer
    check(lambda s, link: render(s + [source] * (3 - len(s)), link), untrusted, url)


@fuzz(300)
@given(NAME, NAME, URLS, st.sampled_from(["plain", "embed"]), st.sampled_from([render_stories, render_sources]))
def test_story_lists_carry_no_markdown_from_untrusted_text(
    title: str, source: str, url: str, style: str, lister: Callable[..., Sequence[Reply]]
) -> None:
    check(lambda s, link: lister([info(s[0], s[1], link)], style), [title, source], url)


@fuzz(300)
@given(NAME, HOSTILE)
def test_story_lookup_and_rebuild_messages_carry_no_markdown(title: str, typed: str) -> None:
    def errors(s: list[str], link: str | None) -> Sequence[Reply]:
        """find_story's messages: "Several stories match “s[0]”: *A s[0]*, …", "I don't have a story called “s[1]”"."""
        out = []
        for typed in s[:2]:
            try:
                find_story([info("A " + s[0], "S", link), info("B " + s[0], "S", link)], typed)
            except LookupError as exc:
                out.append(Reply(content=str(exc)))
        return out

    try:
        find_story([info("A " + title, "S", None), info("B " + title, "S", None)], typed)
        check(lambda s, link: errors(s, link), [title], None)  # `typed` names a story: no message
    except LookupError as exc:
        like = "x" if str(exc).startswith("Several") else "no such story"  # harmless text giving the same message
        check(errors, [title, typed], None, harmless=["x", like])
    rebuilt = BuildReport(
        index="i",
        stories=[],
        embedded=[],
        reused=[],
        errors=[f"content/{title}.txt:3: {typed}"],
        paragraphs=0,
        sentences=0,
        changed=False,
    )
    check(lambda s, link: [Reply(content=report_text(rebuilt.model_copy(update={"errors": s})))], rebuilt.errors, None)


@pytest.mark.parametrize(
    "hostile",
    [
        "[x](http://evil)[y](http://evil2)",  # discord.py escape_markdown escapes only the first `[`
        "[a [b](http://inner)](http://outer)",
        "<http://evil.example>",
        "https://evil.example/x",
        "<#123456789012345678> <t:1700000000:R> </cmd:1> <:e:1>",
        "# Heading",
        "-# small",
        "||spoiler||",
    ],
)
def test_the_model_sees_what_discord_would_make_live(hostile: str) -> None:
    """The checker can fail: unescaped, each of these is live for the model; escaped by bot.render, none is."""
    assert parse(hostile).nodes
    assert not parse(escape(hostile)).nodes and parse(escape(hostile)).visible == hostile


def test_discord_py_escape_markdown_leaves_the_second_link_live() -> None:
    """What the bot used before: the model catches the live link it let through."""
    assert any("evil2" in link for link in parse(escape_markdown("[x](http://evil)[y](http://evil2)")).links())
    assert parse(escape_markdown("<http://evil.example>")).links() == ["http://evil.example"]


@fuzz(200)
@given(NAME, NAME)
def test_the_report_post_carries_no_markdown_from_readers_questions(question: str, title: str) -> None:
    """/report's public post lists readers' questions and a story's title (bot/editorial/report_render.py)."""

    def post(s: list[str], link: str | None) -> Sequence[Reply]:
        day = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
        asked = [Group(phrasings=[(s[0], 2)], stories=["s"], readers={"a", "b"})]
        data = ReportData(since=day, until=day, story="s", total=2, readers=2, titles={"s": s[1]})
        data.most_asked, data.unanswered = asked, asked
        return [Reply(content=discord_summary(data))]

    if len(question) <= 60 and " ".join(question.split()) == question:  # shortened and spaced as the post shows it
        check(post, [question, title], None)
