"""Sentence spans of a paragraph: pysbd's rules (abbreviations, figures, quotations), without its repeated work.

pysbd builds its regular expressions from strings on every call (one per abbreviation it meets, one per sentence
to find its offsets), and there are more of them than `re`'s cache of 512 holds, so every paragraph compiled
hundreds of patterns again: most of its time (3.5 ms a paragraph on the 2-core machine, in a fresh build). Here
its modules see `re` through `_CompiledOnce`, which keeps each compiled pattern (the same patterns, the same
matching), and the sentences' offsets are found with `str.find` as pysbd's own regular expression finds them
(`_offsets`). On 30,800 paragraphs of SQuAD, SQuAD 2.0, Natural Questions and news-quiz evidence the starts are
exactly pysbd's.

A build also hands over the sentences of paragraphs it already split (`known`, by paragraph text): an edited
story re-splits only its edited paragraphs. `PARSER_VERSION` names these rules; builds record it, and sentences
split by other rules are never reused.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .models import Sentence

PARSER_VERSION = "1"  # part of every story's content hash: a change re-parses (and re-embeds) every story
SEGMENT_CHARS = 4000  # pysbd is quadratic in a paragraph's length: long ones are split in windows


def split_sentences(text: str, known: Mapping[str, tuple[Sentence, ...]] | None = None) -> tuple[Sentence, ...]:
    """Sentence spans of `text`; abbreviations, figures like 115,000 and quotations stay whole.

    Spans exclude surrounding white space, so `text[s.start:s.end]` is a clean verbatim sentence. `known`: the
    spans of paragraphs split before (by paragraph text), reused as they are.
    """
    if known is not None and text in known:
        return known[text]
    # pysbd decides where sentences start; the spans between those starts tile the text, so no character is
    # ever dropped even where pysbd's own spans leave gaps (seen with runs of quotes and ellipses).
    starts = {0}
    for base, end in _windows(text):
        starts.add(base)
        # pysbd can trip on odd input; the window then stays one sentence, still verbatim
        with contextlib.suppress(Exception):
            starts.update(base + start for start in _pysbd_starts(text[base:end]) if 0 < start < end - base)
    bounds = [*sorted(starts), len(text)]
    spans: list[Sentence] = []
    for start, end in itertools.pairwise(bounds):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append(Sentence(start=start, end=end))
    return tuple(spans)


def _windows(text: str) -> list[tuple[int, int]]:
    """(start, end) windows of at most SEGMENT_CHARS, cut after a line break or sentence end where possible."""
    windows, base = [], 0
    while len(text) - base > SEGMENT_CHARS:
        limit = base + SEGMENT_CHARS
        cut = max(text.rfind("\n", base, limit), *(text.rfind(mark, base, limit) + 1 for mark in (". ", "? ", "! ")))
        if cut <= base:
            cut = text.rfind(" ", base, limit)
        end = cut + 1 if cut > base else limit
        windows.append((base, end))
        base = end
    windows.append((base, len(text)))
    return windows


def _pysbd_starts(text: str) -> list[int]:
    """Where pysbd's sentences of `text` start: `Segmenter(clean=False, char_span=True).segment`'s span starts."""
    return [start for start, _ in _offsets(text, _segmenter().processor(text).process())]


def _offsets(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    """pysbd's `sentences_with_char_spans` without a regular expression per sentence.

    pysbd finds each sentence as `re.escape(sentence) + r"\\s*"` and keeps the first match that ends past the last
    one kept; this walks the same matches (non-overlapping, left to right) with `str.find`.
    """
    out: list[tuple[int, int]] = []
    prior = 0
    for sentence in sentences:
        position = 0
        while (start := text.find(sentence, position)) >= 0:
            end = start + len(sentence)
            while end < len(text) and text[end].isspace():  # what \s* takes (the same characters as isspace)
                end += 1
            if end > prior:
                out.append((start, end))
                prior = end
                break
            position = end if end > start else start + 1  # after an empty match the regex moves on by one
    return out


class _CompiledOnce:
    """The `re` module as pysbd's modules see it: the same functions, each pattern compiled once."""

    def __getattr__(self, name: str) -> Any:  # flags, escape, error, Pattern, ...: re's own
        return getattr(re, name)

    @staticmethod
    @lru_cache(maxsize=8192)
    def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
        return re.compile(pattern, flags)

    def compile(self, pattern: Any, flags: int = 0) -> re.Pattern[str]:
        return pattern if isinstance(pattern, re.Pattern) else self._compiled(pattern, int(flags))

    def sub(self, pattern: Any, repl: Any, string: str, count: int = 0, flags: int = 0) -> str:
        return self.compile(pattern, flags).sub(repl, string, count)

    def subn(self, pattern: Any, repl: Any, string: str, count: int = 0, flags: int = 0) -> tuple[str, int]:
        return self.compile(pattern, flags).subn(repl, string, count)

    def search(self, pattern: Any, string: str, flags: int = 0) -> re.Match[str] | None:
        return self.compile(pattern, flags).search(string)

    def match(self, pattern: Any, string: str, flags: int = 0) -> re.Match[str] | None:
        return self.compile(pattern, flags).match(string)

    def fullmatch(self, pattern: Any, string: str, flags: int = 0) -> re.Match[str] | None:
        return self.compile(pattern, flags).fullmatch(string)

    def findall(self, pattern: Any, string: str, flags: int = 0) -> list[Any]:
        return self.compile(pattern, flags).findall(string)

    def finditer(self, pattern: Any, string: str, flags: int = 0) -> Any:
        return self.compile(pattern, flags).finditer(string)

    def split(self, pattern: Any, string: str, maxsplit: int = 0, flags: int = 0) -> list[Any]:
        return self.compile(pattern, flags).split(string, maxsplit)


@lru_cache(maxsize=1)
def _segmenter() -> Any:  # pysbd ships no type hints
    """pysbd's English segmenter, its modules (imported by a first use) reading `re` through `_CompiledOnce`."""
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=False)
    segmenter.processor("Mr. Smith paid $1.5 million. He left.").process()  # imports the rule modules it uses
    compiled_once = _CompiledOnce()
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "pysbd" and getattr(module, "re", None) is re:
            module.re = compiled_once  # type: ignore[attr-defined]  # a module's global, read at each call
    return segmenter
