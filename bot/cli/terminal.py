"""How `newsroom-bot` shows things on a terminal: answers and summaries as wrapped quotes, build progress as a bar."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from index import Answer, StoryInfo, Summary


def format_quote_lines(
    text: str,
    title: str,
    paragraph: int,
    sources: Sequence[str],
    url: str | None,
    updated: dt.date | None = None,
) -> str:
    body = textwrap.fill(f"“{text}”", width=100, initial_indent="  ", subsequent_indent="   ")
    note = f" (updated {updated:%Y-%m-%d})" if updated else ""
    cite = f"   — {title}{note}, ¶{paragraph} · Sources: {'; '.join(sources) or 'not listed'}"
    return body + "\n" + cite + (f"\n     {url}" if url else "")


def format_answer(answer: Answer) -> str:
    """The quotes of an answer; the hedge line, then the quotes, for the closest passage; else the engine's line."""
    if not answer.shows_quotes:
        return answer.message
    quotes = [format_quote_lines(q.text, q.title, q.paragraph, q.sources, q.url, q.updated) for q in answer.quotes]
    return "\n\n".join(quotes if answer.answered else [answer.message, *quotes])


def format_summary(summary: Summary) -> str:
    lines = [f"Summary of “{summary.title}” (sources: {'; '.join(summary.sources) or 'not listed'})"]
    for q in summary.quotes:
        lines.append(textwrap.fill(f"¶{q.paragraph}  “{q.text}”", width=100, subsequent_indent="     "))
    if summary.url:
        lines.append(summary.url)
    return "\n".join(lines)


def format_stories(stories: Sequence[StoryInfo]) -> str:
    lines = []
    for s in stories:
        lines.append(
            f"{s.slug}\n  {s.title} · {s.paragraphs} paragraphs · sources: {'; '.join(s.sources) or 'not listed'}"
        )
        updated = f" · updated {s.updated:%Y-%m-%d}" if s.updated else ""
        lines.append(f"  indexed {s.indexed_at:%Y-%m-%d %H:%M} UTC{updated}" + (f" · {s.url}" if s.url else ""))
    return "\n".join(lines)


def count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def nothing_built(bad_files: int, folder: Path) -> str:
    """Why a build made nothing: an empty content folder (say where stories go), or only unusable files."""
    if not bad_files:
        return (
            f"There are no stories in {folder}: put story files there (.md, .markdown or .txt, one story each) "
            "and build again."
        )
    which = "The one story file" if bad_files == 1 else f"None of the {bad_files} story files"
    return (
        f"{which} in {folder} could {'not ' if bad_files == 1 else ''}be used; see the errors above. Nothing was built."
    )


class ProgressBar:
    """tqdm progress for `build`, only on a terminal."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="text", desc="Embedding", file=sys.stderr)

    def update(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()
