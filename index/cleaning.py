"""What the engine reads of a question: the words a reader asked, without what chat wraps around them.

Readers paste links, bold their question, hide it in a spoiler, @mention the bot and a friend, add custom
emoji, or paste a log in a code block above it. None of that is the question, and all of it hurts: a pasted
link's path words and a mention's digits are terms the story never uses, which is exactly what makes the engine
decline (issue 12 measured a question going from 0.95 to 0.45 with a link pasted before it). This is the one
place that cleans a question; the bot calls it too, so what it logs and shows is what the engine read.

The markup is Discord's (the chat readers use) and plain Markdown's. Inline code is unwrapped, not dropped:
readers put a name in backticks (what is `Khalid ibn al-Walid`?). A fenced code block is pasted material and is
dropped, unless it is all there is, when its text is the question.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_question", "valid_text"]

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_FENCE = re.compile(r"```(?:[A-Za-z0-9_+.#-]*\n)?(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`+([^`]*?)`+")
# parentheses only in balanced pairs, so "(see https://x.org/a)" keeps its ")" and "Sky_(UK)" stays one URL
_URL_BODY = r"<?(?:https?://|www\.)[^\s<>()]*(?:\([^\s<>()]*\)[^\s<>()]*)*>?"
_URL = re.compile(_URL_BODY, re.IGNORECASE)
_LINK = re.compile(rf"\[([^\[\]]*)\]\(\s*{_URL_BODY}\s*\)", re.IGNORECASE)
# <@id> <@!id> (users) <@&id> (roles) <#id> (channels) <:name:id> <a:name:id> (custom emoji) <t:stamp:R>
# (timestamps) </command:id> (slash commands) <id:browse> (guide links), @everyone, @here, :shortcode: emoji
_TOKENS = re.compile(
    r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::\w)?|/[\w -]+:\d+|id:\w+)>"
    r"|(?<!\S)@(?:everyone|here)\b"
    r"|:(?=[\w+-]*[A-Za-z])[\w+-]{2,}:",
)
_LINE_MARKS = re.compile(r"^[ \t]*(?:>>> ?|> ?|#{1,3} |-# )", re.MULTILINE)
_EMPHASIS = re.compile(r"\*+|\|\|+|~~+|`+|(?<!\w)_+|_+(?!\w)")
# In ASCII text, what any pattern above needs at least one of (a URL's "://" has its colon): without one, cleaning
# only folds white space (NFC and _INVISIBLE change no ASCII character).
_MAY_HOLD_MARKUP = re.compile(r"[`\[<>@:*|~_#]|www\.", re.IGNORECASE)


def valid_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so it can be tokenised, logged and sent as UTF-8.

    A Python string can hold a surrogate code point that no UTF-8 encoder accepts: JSON's `"\\ud800"`, or a
    command line byte that isn't UTF-8 (decoded with surrogateescape). The tokenizer, SQLite and JSON output all
    raise on one, so the engine never lets one through. A surrogate pair that was split into two code points is
    joined back into its character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean_question(question: str) -> str:
    """The question as the engine reads it: links, chat markup and pasted code gone, white space folded.

    Never raises, and cleaning a cleaned question changes nothing (markup removal can reveal more markup, as in
    `[[a](x)](y)`, so the pass repeats until nothing changes; every repeat makes the text shorter)."""
    if question.isascii() and not _MAY_HOLD_MARKUP.search(question):
        return " ".join(question.split())  # what `_cleaned` leaves of text without a character it acts on
    return _cleaned(question)


def _cleaned(question: str) -> str:
    """`clean_question` by every pass (the fast path's reference)."""
    text = unicodedata.normalize("NFC", valid_text(question)).translate(_INVISIBLE)
    while True:
        cleaned = _clean_once(text)
        if cleaned == text:
            return cleaned
        text = cleaned


def _clean_once(text: str) -> str:
    without_code = _strip_markup(_FENCE.sub(" ", text))
    if any(ch.isalnum() for ch in without_code):
        return without_code
    return _strip_markup(_FENCE.sub(r" \1 ", text))  # nothing but code: the code is the question


def _strip_markup(text: str) -> str:
    text = _INLINE_CODE.sub(r"\1", text)
    linked = 1
    while linked:  # a link's text can itself be a link: [[a](x)](y)
        text, linked = _LINK.subn(r"\1", text)
    text = _URL.sub(" ", text)
    text = _LINE_MARKS.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _TOKENS.sub(" ", text)
    return " ".join(text.split())
