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
# Characters a reader doesn't see that change what they see: Unicode's format characters (Cf) and the controls
# (Cc). Direction controls reorder the text after them, our closing quote and attribution too; the rest are
# invisible (zero-width space, word joiner, BOM, soft hyphen, invisible operators, annotation marks, C0/C1
# controls). They are removed, and line and paragraph separators other than "\n" become a space (the line-start
# escapes below look only after "\n"). Kept: the zero-width joiner and non-joiner (emoji sequences, Persian and
# Indic spelling) and tag characters (flag emoji). The list is Unicode 14's (Python 3.11), written out so the
# module needn't scan every code point at import; tests/bot/test_render.py checks it against unicodedata.
_HIDDEN = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001]"
)
_BREAK = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")


def escape(text: str) -> str:
    """Story or reader text made inert for Discord: no link, mention, emoji, heading, list or formatting survives,
    and no invisible or direction character (a U+202E at a question's start reversed the rest of the line).

    Escaping is display-only: Discord drops each backslash, so the reader sees the text as written, less the
    characters no reader sees; the question log and the JSON keep them.
    """
    text = _HIDDEN.sub("", _BREAK.sub(" ", text))
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _ORDERED.sub(r"\1\\.", _LINE_START.sub(r"\1\\\2", text))
    return _MENTION.sub("@\u200b\\1", text)
