"""An independent model of how Discord reads a message's Markdown, for checking what the bot sends.

It does not call bot.render: it re-implements the rules of simple-markdown (the parser Discord's client is built on)
that can make something live, so a test can say which links, mentions and formatting a rendered message has.
Where the real rules are unclear it errs towards "live" (any `:word:` counts as an emoji, any `<…>` that looks
like a mention, timestamp, slash command, emoji, navigation or URL counts), so it can only over-report.

`parse(text)` gives `Parsed(visible, nodes)`: `visible` is what a reader sees, with a marker character (`\\x00`)
around everything that is not plain text, so a string that was consumed as syntax or wrapped in a link no longer
appears in `visible` as it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "\x00"

# Discord shows `\x` as `x` for any x that is not a letter, digit or white space.
_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
_CODE_BLOCK = re.compile(r"```(?:[\s\S]*?)```")
_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
# simple-markdown's link: the label does NOT honour backslashes; the href does (`\\.`), and is unescaped after.
_LINK_INSIDE = r"(?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*"
_HREF = r"\s*<?((?:\([^)]*\)|[^\s\\]|\\.)*?)>?(?:\s+['\"]([\s\S]*?)['\"])?\s*"
_LINK = re.compile(r"\[(" + _LINK_INSIDE + r")\]\(" + _HREF + r"\)")
_ANGLE = re.compile(
    r"<(?:(?P<url>[A-Za-z][\w+.-]*:/[^\s>]*)|(?P<mention>@[!&]?\d+)|(?P<channel>#\d+)|(?P<slash>/[^<>\n]+:\d+)"
    r"|(?P<time>t:-?\d+(?::\w)?)|(?P<emoji>a?:\w+:\d+)|(?P<nav>id:[\w-]+))>"
)
_AUTOLINK = re.compile(r"(?:https?|steam)://[^\s<]+[^<.,:;\"')\]\s]")
_EMOJI = re.compile(r":[\w+-]+:")
_EVERYONE = re.compile(r"@(?:everyone|here)")
# Formatting, each honouring backslash escapes inside as simple-markdown does.
_FORMATS = [
    ("bold", re.compile(r"\*\*((?:\\[\s\S]|[^\\])+?)\*\*(?!\*)")),
    ("underline", re.compile(r"__((?:\\[\s\S]|[^\\])+?)__(?!_)")),
    ("italic", re.compile(r"\*(?=\S)((?:\*\*|\\[\s\S]|\s+(?:\\[\s\S]|[^\s*\\]|\*\*)|[^\s*\\])+?)\*(?!\*)")),
    ("italic", re.compile(r"_((?:__|\\[\s\S]|[^\\_])+?)_(?!\w)")),
    ("strike", re.compile(r"~~((?:\\[\s\S]|[^\\])+?)~~")),
    ("spoiler", re.compile(r"\|\|((?:\\[\s\S]|[^\\])+?)\|\|")),
]
_QUOTE = re.compile(r"(?:>>>|>) ")
_BLOCK = [
    ("heading", re.compile(r"#{1,3} +(?=\S)")),
    ("subtext", re.compile(r"-# +(?=\S)")),
    ("list", re.compile(r"[ \t]*(?:[-*+]|\d+\.) +(?=\S)")),
]


@dataclass
class Node:
    kind: str  # link, mention, channel, slash, time, emoji, nav, code, bold, italic, …, quote, heading, list
    url: str | None = None


@dataclass
class Parsed:
    visible: str
    nodes: list[Node] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return sorted(n.kind for n in self.nodes)

    def links(self) -> list[str]:
        return [n.url or "" for n in self.nodes if n.kind == "link"]


def parse(text: str) -> Parsed:
    """What Discord makes of `text`: visible text (markers around anything live) and the live nodes."""
    nodes: list[Node] = []
    lines = [_block(line, nodes) for line in text.split("\n")]
    return Parsed(_inline("\n".join(lines), nodes), nodes)


def _block(line: str, nodes: list[Node]) -> str:
    """Line-start syntax: a quote, then a heading, sub-text or list item; the marker stands for what it consumed."""
    out = ""
    if m := _QUOTE.match(line):
        nodes.append(Node("quote"))
        out, line = MARK, line[m.end() :]
    for kind, rule in _BLOCK:
        if m := rule.match(line):
            nodes.append(Node(kind))
            return out + MARK + line[m.end() :]
    return out + line


def _unescape_href(href: str) -> str:
    return re.sub(r"\\(.)", r"\1", href)


def _inline(text: str, nodes: list[Node]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        rest = text[i:]
        if m := _ESCAPE.match(rest):
            out.append(m.group(1))
        elif (m := _CODE_BLOCK.match(rest)) or (m := _CODE.match(rest)):
            nodes.append(Node("code"))
            out.append(MARK + m.group(0).strip("`") + MARK)
        elif m := _LINK.match(rest):
            nodes.append(Node("link", _unescape_href(m.group(2))))
            out.append(MARK + _inline(m.group(1), nodes) + MARK)
        elif m := _ANGLE.match(rest):
            kind = next(k for k, v in m.groupdict().items() if v is not None)
            nodes.append(Node("link" if kind == "url" else kind, m.group("url")))
            out.append(MARK + m.group(0)[1:-1] + MARK)
        elif m := _AUTOLINK.match(rest):
            nodes.append(Node("link", m.group(0)))
            out.append(MARK + m.group(0) + MARK)
        elif (m := _EMOJI.match(rest)) or (m := _EVERYONE.match(rest)):
            nodes.append(Node("emoji" if m.group(0).startswith(":") else "mention"))
            out.append(MARK + m.group(0) + MARK)
        elif found := _format(rest):
            kind, m = found
            nodes.append(Node(kind))
            out.append(MARK + _inline(m.group(1), nodes) + MARK)
        else:
            out.append(text[i])
            i += 1
            continue
        i += m.end()
    return "".join(out)


def _format(text: str) -> tuple[str, re.Match[str]] | None:
    for kind, rule in _FORMATS:
        if m := rule.match(text):
            return kind, m
    return None
