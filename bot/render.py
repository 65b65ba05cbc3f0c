"""Answer / Summary → what Discord shows: pure functions, no I/O, so every formatting rule is unit-tested.

Each quote becomes a Markdown block quote followed by its attribution line, `— *Title*, ¶3 · Sources: NPR; CNN`
(the title links to the story when it has a URL). A CLOSEST reply (the story may not answer the question) quotes
the same way, under a hedge line (🔎, in italics) and in an amber embed instead of a blue one, with its own footer,
so a reader tells it from a confident answer at a glance. Story text is escaped (Markdown and mentions) so a story can't
break the layout or look like a ping, and every message stays inside Discord's limits: long replies are split
between blocks, and a block too long on its own is trimmed at a sentence boundary, marked with "…".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import discord

from index import Answer, AnswerStatus, Quote, StoryInfo, Summary

from .escaping import escape
from .messages import (
    ANSWER_FOOTER,
    CLOSEST_FOOTER,
    EMPTY_QUESTION,
    MORE_THAN_FITS,
    NO_STORIES,
    NO_STORIES_ADMIN_HINT,
    SUMMARY_FOOTER,
    TOO_LONG_HINT,
    not_covered,
)

Style = Literal["embed", "plain"]

CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
MAX_MESSAGES = 3  # a reply longer than this many messages is cut short with a note
ELLIPSIS = "…"
COLOUR = discord.Colour(0x2B6CB0)  # a confident answer (and every other embed): blue
CLOSEST_COLOUR = discord.Colour(0xC27C0E)  # the closest passage under a hedge: amber
CLOSEST_MARK = "🔎"
_SENTENCE_END = re.compile(r"(?<=[.!?…”\"'])\s+")


@dataclass(frozen=True)
class Reply:
    """One Discord message: content and/or one embed. `kwargs()` feeds `send`, `reply` or `followup.send`."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None  # e.g. the 👍 / 👎 buttons under an answer

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.content:
            out["content"] = self.content
        if self.embeds:
            out["embeds"] = self.embeds
        if self.view is not None:
            out["view"] = self.view
        return out


# ----------------------------------------------------------------- escaping and trimming
_URL_SAFE = "/:?#&=+;,%@!$*~.-_"  # kept as is in a story URL; anything else (spaces, <>()[]'" …) is %-encoded


def safe_url(url: str | None) -> str | None:
    """A story URL fit for a link and an embed: http(s) with a host (else None), with characters that could end
    the link (`>`, `)`, spaces, brackets, quotes) %-encoded. Stories are checked when parsed; this also covers
    indexes built before that check."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_URL_SAFE)


def trim(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters: at a sentence end if one is in reach, else a word, plus "…"."""
    if len(text) <= limit:
        return text
    cuts = [m.start() for m in _SENTENCE_END.finditer(text) if m.start() + 2 <= limit]
    if cuts and cuts[-1] >= limit // 3:
        return _whole_escapes(text[: cuts[-1]]) + " " + ELLIPSIS
    room = limit - len(ELLIPSIS)
    space = text.rfind(" ", 0, room)
    cut = space if space > room // 2 else room
    return _whole_escapes(text[:cut].rstrip()) + ELLIPSIS


def _whole_escapes(text: str) -> str:
    """`text` without a trailing backslash cut off from the character it escaped."""
    run = len(text) - len(text.rstrip("\\"))
    return text[:-1] if run % 2 else text


def block_quote(text: str, limit: int) -> str:
    """`text` escaped as a one-line Markdown block quote of at most `limit` characters (trimmed at a sentence).

    Runs of white space (a hard-wrapped paragraph's line breaks) show as one space; every word is verbatim.
    """
    escaped = escape(" ".join(text.split()))
    return "> " + trim(escaped, max(limit - 2, 1))


def pack(blocks: Sequence[str], limit: int, *, separator: str = "\n\n") -> list[str]:
    """Blocks joined into as few chunks of at most `limit` characters as possible, never splitting a block."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        block = trim(block, limit)
        if current and len(current) + len(separator) + len(block) <= limit:
            current += separator + block
        else:
            if current:
                chunks.append(current)
            current = block
    if current:
        chunks.append(current)
    return chunks


# ----------------------------------------------------------------- pieces
def sources_text(sources: Sequence[str]) -> str:
    return "; ".join(escape(s) for s in sources) if sources else "not listed"


def title_link(title: str, url: str | None) -> str:
    """`*Title*`, linked to the story when it has a URL (angle brackets: no preview card in plain messages)."""
    link = safe_url(url)
    return f"[*{escape(title)}*](<{link}>)" if link else f"*{escape(title)}*"


def attribution(quote: Quote) -> str:
    updated = f" · updated {quote.updated:%Y-%m-%d}" if quote.updated else ""
    return (
        f"— {title_link(quote.title, quote.url)}, ¶{quote.paragraph} · Sources: {sources_text(quote.sources)}{updated}"
    )


def quote_block(quote: Quote, limit: int) -> str:
    cite = attribution(quote)
    return block_quote(quote.text, max(limit - len(cite) - 1, 40)) + "\n" + cite


def status_text(answer: Answer, story_count: int = 1) -> str:
    """The polite line for every answer that carries no quote."""
    if answer.status is AnswerStatus.NOT_COVERED:
        return not_covered(many_stories=story_count > 1 and answer.story is None)
    if answer.status is AnswerStatus.EMPTY_QUESTION:
        return EMPTY_QUESTION
    if answer.status is AnswerStatus.QUESTION_TOO_LONG:
        return f"{escape(answer.message)} {TOO_LONG_HINT}"
    return escape(answer.message)


def closest_header(answer: Answer) -> str:
    """The hedge above a CLOSEST reply's quotes: the engine's one line (it names the story), marked and in italics."""
    return f"{CLOSEST_MARK} *{escape(' '.join(answer.message.split()))}*"


def _embed(
    description: str,
    *,
    title: str | None = None,
    url: str | None = None,
    footer: str | None = None,
    colour: discord.Colour = COLOUR,
) -> discord.Embed:
    embed = discord.Embed(
        title=trim(title, EMBED_TITLE_LIMIT) if title else None,
        url=safe_url(url),
        description=description,
        colour=colour,
    )
    if footer:
        embed.set_footer(text=trim(footer, EMBED_FOOTER_LIMIT))
    return embed


def _replies(
    blocks: Sequence[str],
    style: Style,
    *,
    title: str | None = None,
    url: str | None = None,
    footer: str | None = None,
    colour: discord.Colour = COLOUR,
) -> list[Reply]:
    """Blocks laid out as plain messages or embeds, split between blocks to stay inside every limit."""
    if style == "plain":
        head = f"**{title}**" if title else None
        body = ([head] if head else []) + list(blocks) + ([f"-# {footer}"] if footer else [])
        chunks = pack(body, CONTENT_LIMIT)
        return _cap([Reply(content=c) for c in chunks])
    budget = EMBED_TOTAL_LIMIT - len(trim(title or "", EMBED_TITLE_LIMIT)) - len(footer or "")
    chunks = pack(blocks, min(EMBED_DESCRIPTION_LIMIT, budget))
    replies = [
        Reply(
            embeds=[
                _embed(c, title=title if i == 0 else None, url=url if i == 0 else None, footer=footer, colour=colour)
            ]
        )
        for i, c in enumerate(chunks)
    ]
    return _cap(replies)


def _cap(replies: list[Reply]) -> list[Reply]:
    if len(replies) <= MAX_MESSAGES:
        return replies
    return [*replies[: MAX_MESSAGES - 1], Reply(content=f"{ELLIPSIS} {MORE_THAN_FITS}")]


# ----------------------------------------------------------------- public renderers
def render_answer(
    answer: Answer, style: Style = "embed", *, show_question: bool = False, story_count: int = 1
) -> list[Reply]:
    """An Answer as one or more Discord messages. Abstentions and refusals are one short plain line; the closest
    passage is quoted as an answer is, under its hedge line and in its own colour and footer."""
    if not answer.shows_quotes or not answer.quotes:
        return [Reply(content=status_text(answer, story_count))]
    per_block = (CONTENT_LIMIT if style == "plain" else EMBED_DESCRIPTION_LIMIT) - 40
    blocks = [quote_block(q, per_block) for q in answer.quotes]
    closest = answer.status is AnswerStatus.CLOSEST
    if closest:
        blocks.insert(0, closest_header(answer))
    title = f"“{escape(' '.join(answer.question.split()))}”" if show_question else None
    footer = (CLOSEST_FOOTER if closest else ANSWER_FOOTER) if style == "embed" else None
    return _replies(blocks, style, title=title, footer=footer, colour=CLOSEST_COLOUR if closest else COLOUR)


def render_summary(summary: Summary, style: Style = "embed") -> list[Reply]:
    """A Summary: its sentences, verbatim and in story order, each quoted with its paragraph number."""
    per_block = (CONTENT_LIMIT if style == "plain" else EMBED_DESCRIPTION_LIMIT) - 40
    blocks = [block_quote(q.text, per_block - 8) + f"\n— ¶{q.paragraph}" for q in summary.quotes]
    updated = next((f" · updated {q.updated:%Y-%m-%d}" for q in summary.quotes if q.updated), "")
    sources = f"Sources: {'; '.join(summary.sources) or 'not listed'}{updated}"
    if style == "plain":
        blocks.append(f"— {title_link(summary.title, summary.url)} · Sources: {sources_text(summary.sources)}{updated}")
        return _replies(blocks, style, title=f"Summary of {escape(summary.title)}")
    footer = f"{sources} · {SUMMARY_FOOTER}"
    return _replies(blocks, style, title=f"Summary: {escape(summary.title)}", url=summary.url, footer=footer)


def render_stories(stories: Sequence[StoryInfo], style: Style = "embed") -> list[Reply]:
    """The indexed stories, one block each: linked title, slug to use in commands, size, sources."""
    if not stories:
        return [Reply(content=f"{NO_STORIES} {NO_STORIES_ADMIN_HINT}")]
    blocks = [
        f"{title_link(s.title, s.url)}\n`{s.slug}` · {s.paragraphs} paragraphs · Sources: {sources_text(s.sources)}"
        f" · indexed {s.indexed_at:%Y-%m-%d}" + (f" · updated {s.updated:%Y-%m-%d}" if s.updated else "")
        for s in stories
    ]
    return _replies(blocks, style, title=f"{len(stories)} {'story' if len(stories) == 1 else 'stories'} indexed")


def render_sources(stories: Sequence[StoryInfo], style: Style = "embed") -> list[Reply]:
    """Where each story's reporting comes from."""
    if not stories:
        return [Reply(content=NO_STORIES)]
    blocks = [f"{title_link(s.title, s.url)} · Sources: {sources_text(s.sources)}" for s in stories]
    return _replies(blocks, style, title="Sources")
