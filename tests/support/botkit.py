"""Helpers for the Discord tests: settings without a .env, reading quotes back out of rendered replies."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import create_bot
from bot.settings import Settings
from index import Library

if TYPE_CHECKING:
    from bot.client import NewsroomBot

    from .fake_discord import FakeDiscord

_ESCAPED = re.compile(r"\\([^0-9A-Za-z\s])")  # Discord shows `\x` as `x` for any x not a letter, digit or space
ATTRIBUTION = re.compile(
    r"^— (?:\[)?\*(?P<title>.+?)\*(?:\]\(<(?P<url>[^>]+)>\))?, ¶(?P<para>\d+) · Sources: (?P<src>.+)$"
)


def make_settings(index_dir: Path, content_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test bot: never read from a `.env` in the working directory.

    The index watch is off unless a test turns it on: SimCord runs a sleeping loop in virtual time, so a periodic
    watch would keep every settle busy (the watch is tested against the fake Discord, in real time).
    """
    overrides.setdefault("index_watch_seconds", 0)
    return Settings(_env_file=None, index_dir=index_dir, content_dir=content_dir, **overrides)  # type: ignore[call-arg]


@asynccontextmanager
async def connected(
    fake: FakeDiscord, index_dir: Path, library: Library, **settings: Any
) -> AsyncIterator[NewsroomBot]:
    """The real bot started against the loopback `fake` Discord, ready; closed (and its task awaited) on exit."""
    from ..conftest import CONTENT

    bot = create_bot(make_settings(index_dir, CONTENT, discord_token=fake.token, **settings), library)
    runner = asyncio.create_task(bot.start(fake.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 30)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(runner, 30)


def unescape(text: str) -> str:
    """Undo render.escape: Markdown backslashes and the zero-width space after '@'."""
    return _ESCAPED.sub(r"\1", text).replace("@\u200b", "@")


def quoted_passages(text: str) -> list[tuple[str, int | None]]:
    """(quote text, paragraph number) for each block quote in `text`, with the paragraph from the line after it."""
    lines = text.split("\n")
    out: list[tuple[str, int | None]] = []
    for i, line in enumerate(lines):
        if line.startswith("> "):
            body = unescape(line[2:]).removesuffix(" …").removesuffix("…")
            cite = lines[i + 1] if i + 1 < len(lines) else ""
            number = re.search(r"¶(\d+)", cite)
            out.append((body, int(number.group(1)) if number else None))
    return out


def paragraph_text(library: Library, number: int, slug: str | None = None) -> str:
    story = library.story(slug) if slug else library.data.stories[0]
    return next(p.text for p in story.paragraphs if p.number == number)


def assert_verbatim(library: Library, text: str, slug: str | None = None) -> list[tuple[str, int | None]]:
    """Every block quote in `text` is a verbatim slice of the paragraph its attribution names."""
    quotes = quoted_passages(text)
    assert quotes, f"no block quote in {text!r}"
    for body, number in quotes:
        assert number is not None, text
        assert body and body in " ".join(paragraph_text(library, number, slug).split()), (body, number)
    return quotes


def refused_by_checks(env: Any) -> int:
    """How many commands the bot's discord.py checks refused (`admin_only`). The tree's error handler answers each
    refusal, and SimCord records the CheckFailure it got as an error of the bot: these are the ones a test expects,
    so they are acknowledged here, and any other error still fails the test."""
    from discord import app_commands

    errors = env.errors
    assert all(isinstance(e, app_commands.CheckFailure) for e in errors), errors
    return len(errors)


def last_callback_type(env: Any) -> int:
    """The interaction response type of the bot's latest callback (5 = deferred "thinking…", 4 = message)."""
    callbacks = [r for r in env.http_requests if r.method == "POST" and r.path.endswith("/callback")]
    assert callbacks, "the bot never acknowledged the interaction"
    return int(callbacks[-1].json["type"])


def answered_after_defer(env: Any, result: Any) -> list[Any]:
    """The messages an interaction produced, checking it was deferred first and then completed."""
    assert result.acknowledged and last_callback_type(env) == 5, result
    assert not result.deferred, "still 'thinking…': the bot never followed up"
    return [m for m in [result.response, *result.followups] if m is not None]
