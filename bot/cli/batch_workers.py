"""`ask --batch` on every core: forked processes answer chunks of lines, the parent writes their answers in order.

Ranking and quoting a question is Python (about two thirds of a batch's time), so one process keeps one core busy
however the encoding is spread. The parent reads and checks the lines and loads the library once; each worker is
forked from it after the load (copy-on-write: no second start-up) and answers a chunk as `ask` would: its questions
encoded together where the encoder is batch-invariant (`Library.encode_ahead`), then each asked. Answers are the
bytes `ask` prints, whichever worker gives them. Only where `fork` exists (Linux; a spawned worker would load the
index again), for a file-backed library (a PostgreSQL connection must not be shared across a fork) and an ONNX
encoder (see `can_fork`).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from index import Library

from .batch import Asked, BadLine, BatchQuestion

# Lines a worker takes at a time: a small first chunk (the first answers come at once), then a share of what is left
# (`guided_chunks`), within these bounds.
FIRST_CHUNK, SMALLEST_CHUNK, LARGEST_CHUNK = 16, 16, 256
_library: Library | None = None  # the parent's library, inherited by each forked worker


def can_fork(library: Library) -> bool:
    """Where workers can be forked: `fork` exists and the library encodes with onnxruntime (torch's OpenMP threads
    don't survive a fork: a torch encoder, as for an index built by a custom fp32 encoder, answers in one process)."""
    return "fork" in multiprocessing.get_all_start_methods() and library.encoder.backend == "onnx"


def answered_in_processes(
    lines: Iterator[Asked],
    library: Library,
    *,
    top_k: int,
    workers: int,
    bytes_read: Callable[[], tuple[int, int]] | None = None,
) -> Iterator[tuple[int, BadLine | str]]:
    """Each line's number and its answer's JSON (or its BadLine), in order, answered by `workers` forked processes.
    `bytes_read`: (bytes read of the file so far, its size), to size the chunks by what is left (`guided_chunks`)."""
    global _library
    _library = library
    pending: deque[tuple[list[Asked], Future[list[str]]]] = deque()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk in guided_chunks(lines, workers, bytes_read):
            good = [(a.question, a.story) for _, a in chunk if isinstance(a, BatchQuestion)]
            pending.append((chunk, pool.submit(_answer, good, top_k)))
            while len(pending) > 2 * workers:  # a few chunks in flight, not the whole file in memory
                yield from _merged(*pending.popleft())
        while pending:
            yield from _merged(*pending.popleft())


def guided_chunks(
    lines: Iterator[Asked], workers: int, bytes_read: Callable[[], tuple[int, int]] | None
) -> Iterator[list[Asked]]:
    """`lines` in chunks of a 1/(2 x workers) share of the lines left (guided self-scheduling), between
    SMALLEST_CHUNK and LARGEST_CHUNK; lines left are estimated from the bytes left at the bytes per line read so far.

    Long chunks early encode in larger batches (one onnxruntime call per token length in a chunk: 256 lines cost
    about 0.05 ms a question less than 128); short ones at the end leave no worker idle while another finishes a
    long one (the last of even 128-line chunks left one worker idle for up to 0.2 s). Without `bytes_read`, even
    chunks of LARGEST_CHUNK / 2."""
    size, taken = FIRST_CHUNK, 0
    while chunk := list(itertools.islice(lines, size)):
        yield chunk
        taken += len(chunk)
        done, total = bytes_read() if bytes_read is not None else (0, 0)
        if done <= 0:
            size = LARGEST_CHUNK // 2
            continue
        left = (total - done) * taken / done
        size = min(max(math.ceil(left / (2 * workers)), SMALLEST_CHUNK), LARGEST_CHUNK)


def _merged(chunk: list[Asked], answers: Future[list[str]]) -> Iterator[tuple[int, BadLine | str]]:
    given = iter(answers.result())
    for number, asked in chunk:
        yield number, asked if isinstance(asked, BadLine) else next(given)


def _answer(questions: list[tuple[str, str | None]], top_k: int) -> list[str]:
    """In a worker: the chunk's questions encoded together (where that gives each its own vector), then asked."""
    assert _library is not None, "answered_in_processes sets the library before forking"
    _library.encode_ahead([q for q, _ in questions])
    return [_library.ask(q, story, top_k=top_k).model_dump_json() for q, story in questions]
