"""Text from a story or a reader made inert for Discord Markdown (no Discord import: the editors' report uses it)."""

from __future__ import annotations

import re

# Every character that can open Discord Markdown anywhere in a line: formatting, code, masked links (`[`, and `]`
# `(` `)` because Discord's link rule ignores backslashes in a label: a `](` later in the line would end it), mentions,
# channels, timestamps, slash commands, custom emoji and `<http://…>` autolinks (`<`), bare-URL autolinks and
# `:emoji:` (`:`), headings and quotes (`#`, `>`). discord.py's escape_markdown is not enough: it escapes only the
# first `[…](…)` and leaves URLs alone. Discord shows `\x` as `x` for any punctuation x, so readers see the text as is.
_INLINE = re.compile(r"[\\*_~|`\[\]()<>#:]")
# Line-start list and sub-text markers (`- `, `+ `, `-# `, `1. `): escaped at the start of the text and of each line,
# since the caller may put the text at the start of a line.
_LINE_START = re.compile(r"^([ \t]*)([-+])", re.MULTILINE)
_ORDERED = re.compile(r"^([ \t]*\d+)\.", re.MULTILINE)
# @everyone, @here and raw user/role ids get a zero-width space after the @ (as discord.utils.escape_mentions does).
_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")


def escape(text: str) -> str:
    """Story or reader text made inert for Discord: no link, mention, emoji, heading, list or formatting survives.

    Escaping is display-only: Discord drops each backslash, so the reader sees the text verbatim.
    """
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _ORDERED.sub(r"\1\\.", _LINE_START.sub(r"\1\\\2", text))
    return _MENTION.sub("@\u200b\\1", text)
