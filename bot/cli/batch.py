"""`newsroom-bot ask --batch`: a JSONL file of questions in, one JSON line per question out, in order.

A bad line never stops the batch. In its place on standard output goes an error object,
`{"line": 11, "status": "error", "error": "..."}`, so the Nth output line is about the Nth non-blank input
line and a script can zip the two; the same message goes to standard error as `FILE:11: ...` for the person watching. Blank lines
are skipped (they get no output line). The exit code is 1 at the end when any line was bad, 0 otherwise.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from index import MAX_QUESTION_CHARS, Library, UnknownStory

from .failures import CommandError, describe_os_error

LINE_FORMAT = '{"question": "...", "story": "optional-slug"}'
# The longest line a question can need: 1,000 characters, each written as a \uXXXX escape (6 bytes; 12 for a
# character outside the BMP, as a surrogate pair), the story's slug and the JSON around them.
MAX_LINE_BYTES = 16 * MAX_QUESTION_CHARS
SKIP_PIECE = 1 << 16  # how much of an over-long line is read at a time while skipping it
# Lines read ahead at a time from a file; well under the question cache's 2,048 (two chunks wait there at most).
AHEAD_CHUNKS = (16, 64, 256, 512)


class BadLine(ValueError):
    """One batch line that can't be asked; the message says why."""


@dataclass(frozen=True)
class BatchQuestion:
    """A good batch line: the question and the story it is scoped to."""

    question: str
    story: str | None


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def parse_line(raw: bytes, library: Library, *, first: bool = False) -> BatchQuestion:
    """The question on one line of a batch, or BadLine saying what is wrong with it."""
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")  # a BOM on line 1 is an editor's, not the data's
    except UnicodeDecodeError as exc:
        raise BadLine(
            f"not UTF-8 text (byte {exc.start + 1} is {raw[exc.start]:#04x}); save the file as UTF-8"
        ) from None
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not a complete JSON object ({exc.msg}, column {exc.colno}); expected {LINE_FORMAT}") from None
    if not isinstance(item, dict):
        raise BadLine(f"expected a JSON object like {LINE_FORMAT}, got {type(item).__name__}")
    question, story = item.get("question"), item.get("story")
    if not isinstance(question, str):
        found = "missing" if "question" not in item else f"{json.dumps(question)[:40]}"
        raise BadLine(f'"question" must be a string; it is {found}')
    if story is not None and not isinstance(story, str):
        raise BadLine(f'"story" must be a story slug (a string) or null; it is {json.dumps(story)[:40]}')
    if _has_surrogate(question) or (story and _has_surrogate(story)):
        raise BadLine("the line holds a lone surrogate escape (\\ud800 to \\udfff), which is not text; fix the escape")
    if story is not None:
        try:
            library.story(story)
        except UnknownStory:
            raise BadLine(f"no story {story!r} in the index; `newsroom-bot stories` lists them") from None
    return BatchQuestion(question, story)


@contextmanager
def open_batch(name: str) -> Iterator[BinaryIO]:
    """The batch's lines as bytes (each line is decoded on its own, so one bad byte spoils one line only)."""
    if name == "-":
        if sys.stdin is None:
            raise CommandError("--batch - reads standard input, and this process has none; give a file instead")
        yield sys.stdin.buffer
        return
    try:
        handle = Path(name).open("rb")  # noqa: SIM115  (closed below)
    except IsADirectoryError:
        raise CommandError(f"--batch {name} is a folder; give a JSONL file with one {LINE_FORMAT} a line") from None
    except OSError as exc:
        raise CommandError(describe_os_error(exc, "reading the batch")) from None
    with handle:
        yield handle


def run_batch(
    library: Library,
    name: str,
    *,
    top_k: int,
    out: TextIO | None = None,
    err: TextIO | None = None,
    workers: int = 1,
) -> int:
    """Answer every good line of the batch `name` (a file, or - for stdin); returns how many lines were bad.

    Each line is answered as `newsroom-bot ask` would answer it, whatever its neighbours: a batch must give the
    answers `ask` gives. Reading line by line also lets a program drive it through a pipe, one question at a
    time. From a file (not a pipe or a terminal), lines are read ahead in chunks and their questions encoded on a
    thread while the lines before are ranked and quoted: two cores' work at once. A chunk is encoded in one call
    where the encoder is batch-invariant (int8 exports of format 2: each question's vector is then what it gets
    alone, bit for bit); with an older export, whose int8 gave a batch one scale and so moved a question's vector
    with its batch-mates (that changed whether 7 of 256 made-up questions were answered), one at a time.
    With `workers` > 1 (a file, where `fork` exists), that many forked processes answer chunks of lines instead
    (`bot.cli.batch_workers`): ranking is Python, so one process keeps only one core busy.
    """
    out, err = out or sys.stdout, err or sys.stderr
    if out is None:  # started with standard output closed (`>&-`): Python leaves sys.stdout None
        raise CommandError(
            "--batch writes its answers to standard output, and this process has none; redirect it to a file "
            "(> answers.jsonl)"
        )
    bad = 0
    with open_batch(name) as stream:
        for number, answer in _answered(stream, library, top_k, workers):
            if isinstance(answer, BadLine):
                bad += 1
                out.write(json.dumps({"line": number, "status": "error", "error": str(answer)}) + "\n")
                print(f"error: {'stdin' if name == '-' else name}:{number}: {answer}", file=err)
            else:
                out.write(answer + "\n")
            out.flush()
    return bad


def _answered(stream: BinaryIO, library: Library, top_k: int, workers: int) -> Iterator[tuple[int, BadLine | str]]:
    """Each non-blank line's number and its answer's JSON, or the BadLine saying why it can't be asked, in order."""
    lines = _asked(stream, library)
    if not _is_file(stream):  # a pipe may be waiting for each answer before it writes the next line
        yield from ((n, a if isinstance(a, BadLine) else _ask(library, a, top_k)) for n, a in lines)
        return
    from .batch_workers import answered_in_processes, can_fork

    if workers > 1 and can_fork(library):
        size = os.fstat(stream.fileno()).st_size
        yield from answered_in_processes(
            lines, library, top_k=top_k, workers=workers, bytes_read=lambda: (stream.tell(), size)
        )
        return
    with ThreadPoolExecutor(1, thread_name_prefix="encode-ahead") as ahead:
        for n, a in _encoded_ahead(lines, library, ahead):
            yield n, a if isinstance(a, BadLine) else _ask(library, a, top_k)


def _ask(library: Library, asked: BatchQuestion, top_k: int) -> str:
    return library.ask(asked.question, asked.story, top_k=top_k).model_dump_json()


Asked = tuple[int, BatchQuestion | BadLine]  # a line's number and its question, or what is wrong with it


def _asked(stream: BinaryIO, library: Library) -> Iterator[Asked]:
    """Each non-blank line's question, in order, or the BadLine that says why it can't be asked."""
    for number, raw in _lines(stream):
        try:
            if raw is None:
                raise BadLine(
                    f"the line is longer than {MAX_LINE_BYTES:,} bytes, and a question is at most "
                    f"{MAX_QUESTION_CHARS:,} characters; shorten it (one {LINE_FORMAT} a line)"
                )
            asked: BatchQuestion | BadLine = parse_line(raw, library, first=number == 1)
        except BadLine as exc:
            asked = exc
        yield number, asked


def _encoded_ahead(lines: Iterator[Asked], library: Library, ahead: ThreadPoolExecutor) -> Iterator[Asked]:
    """`lines` a chunk behind: each chunk's good questions are handed to `ahead` to encode (`Library.encode_ahead`)
    before the chunk before it is answered. Their vectors wait in the library's cache of recent questions (a
    failed encode is met again by ask). The first chunk is small so that the first answers come at once."""
    previous: list[Asked] = []
    for chunk in chunked(lines, AHEAD_CHUNKS):
        questions = [asked.question for _, asked in chunk if isinstance(asked, BatchQuestion)]
        if questions:
            ahead.submit(library.encode_ahead, questions)
        yield from previous
        previous = chunk
    yield from previous


def chunked(lines: Iterator[Asked], sizes: tuple[int, ...]) -> Iterator[list[Asked]]:
    """`lines` in lists of `sizes[0]`, `sizes[1]`, ... lines, the last size repeated to the end."""
    each = itertools.chain(sizes, itertools.repeat(sizes[-1]))
    while chunk := list(itertools.islice(lines, next(each))):
        yield chunk


def _is_file(stream: BinaryIO) -> bool:
    """A regular file, which reading ahead cannot stall (a pipe or a terminal may be waiting for the answer)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """Each non-blank line with its number, or None in place of a line over MAX_LINE_BYTES (never held whole)."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (piece := stream.readline(SKIP_PIECE)) and not piece.endswith(b"\n"):
                pass
            yield number, None
        elif raw.strip():
            yield number, raw
