"""`ask --batch`: every good line is answered; each bad line gets an error object with its number in its place."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ..conftest import SEED_SLUG

GOOD = {"question": "How many White Helmets are still trapped in Syria?"}


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_a_bad_line_among_a_thousand_is_reported_in_place_and_the_rest_answered(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [json.dumps(GOOD).encode()] * 1000
    lines[10] = b'{"question": "How many White Hel'  # line 11: a truncated object
    code, out, err = run("ask", "--batch", str(_write(tmp_path / "q.jsonl", lines)))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(rows) == 1000
    assert rows[10]["status"] == "error" and rows[10]["line"] == 11 and "JSON" in rows[10]["error"]
    answered = [r for i, r in enumerate(rows) if i != 10]
    assert len(answered) == 999 and all(r["status"] in ("answered", "closest") for r in answered)
    assert "q.jsonl:11:" in err and "1 line of the batch could not be asked" in err


def test_each_kind_of_bad_line_names_its_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = json.dumps(GOOD).encode()
    bad = {
        2: b'{"question": "How many',  # truncated JSON
        3: json.dumps({"question": "How many?", "story": "no-such-story"}).encode(),  # unknown story
        4: b'{"question": "caf\xe9?"}',  # not UTF-8
        5: b'{"question": null}',
        6: b'{"question": 42}',
        7: b'{"question": "\\ud800 trapped?"}',  # a lone surrogate escape
        8: b'["question"]',
        9: b'{"question": "How many?", "story": 7}',
        10: b"{}",
    }
    lines = [bad.get(n, good) for n in range(1, 12)]
    lines.insert(5, b"   ")  # a blank line is skipped: numbers count it, the output has no row for it
    bad = {(n + 1 if n >= 6 else n): v for n, v in bad.items()}
    code, out, err = run("ask", "--batch", str(_write(tmp_path / "q.jsonl", lines)))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(rows) == 11 and "Traceback" not in err
    errors = [r for r in rows if r["status"] == "error"]
    assert [r["line"] for r in errors] == sorted(bad)
    assert sum(r["status"] in ("answered", "closest") for r in rows) == 2
    for row in errors:
        assert f"q.jsonl:{row['line']}: {row['error']}" in err
    by_line = {r["line"]: r["error"] for r in errors}
    assert "no-such-story" in by_line[3] and "UTF-8" in by_line[4] and "surrogate" in by_line[8]
    assert '"question" must be a string' in by_line[5] and "null" in by_line[5]


def test_a_good_batch_exits_zero_and_keeps_story_scope(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [b"\xef\xbb\xbf" + json.dumps(GOOD).encode(), json.dumps({**GOOD, "story": SEED_SLUG}).encode()]
    code, out, err = run("ask", "--batch", str(_write(tmp_path / "q.jsonl", lines)))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and err == "" and [r["story"] for r in rows] == [None, SEED_SLUG]


def test_a_folder_or_a_missing_file_is_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("ask", "--batch", str(tmp_path))
    assert code == 1 and out == "" and err.strip().count("\n") == 0 and "is a folder" in err
    code, out, err = run("ask", "--batch", str(tmp_path / "nope.jsonl"))
    assert code == 1 and out == "" and "does not exist" in err and "Traceback" not in err


def test_batch_from_a_closed_stdin_is_one_line(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    monkeypatch.setattr(sys, "stdin", None)
    code, out, err = run("ask", "--batch", "-")
    assert code == 1 and out == "" and "has none; give a file" in err and err.count("\n") == 1


class HugeLine(io.RawIOBase):
    """A batch whose line 2 is `size` bytes long, made as it is read: nothing holds it whole but the reader."""

    def __init__(self, size: int) -> None:
        head = json.dumps(GOOD).encode() + b'\n{"question": "'
        tail = b'"}\n' + json.dumps(GOOD).encode() + b"\n"
        self.parts: list[bytes | int] = [head, size - len(b'{"question": "') - 2, tail]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                n = min(part, len(buffer))
                buffer[:n] = b"a" * n
                self.parts[0] = part - n
            else:
                n = min(len(part), len(buffer))
                buffer[:n] = part[:n]
                self.parts[0] = part[n:]
            if not self.parts[0]:
                self.parts.pop(0)
            if n:
                return n
        return 0


def test_a_huge_line_is_refused_while_it_is_read_and_not_echoed(run, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 19 item 3: a 20 MB line took 594 MB and came back whole in the output before it was refused."""
    import sys
    import tracemalloc

    size = 20_000_000
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(HugeLine(size))))
    tracemalloc.start()
    try:
        code, out, err = run("ask", "--batch", "-")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["status"] != "error" and bool(r["quotes"]) for r in rows] == [True, False, True]
    assert rows[1]["line"] == 2 and "longer than" in rows[1]["error"] and "1,000 characters" in rows[1]["error"]
    assert len(out) < 10_000 and len(err) < 1_000  # the line is not echoed
    assert peak < size / 4, f"{peak:,} bytes traced for a {size:,}-byte line"


def test_a_line_just_under_the_bound_is_still_read(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The bound is bytes of a line: a 1,000-character question written as \\uXXXX escapes (6 bytes each) fits."""
    question = "Where will they stay? ".ljust(1000, "\u00e9")
    escaped = json.dumps({"question": question}, ensure_ascii=True).encode()
    assert len(escaped) > 5_000
    code, out, err = run("ask", "--batch", str(_write(tmp_path / "q.jsonl", [escaped])))
    assert code == 0 and json.loads(out)["status"] in ("answered", "closest", "not_covered"), err


def test_a_refused_long_question_is_echoed_only_in_part(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = json.dumps({"question": "Where will they stay? " * 300}).encode()  # 6,600 characters: too long
    code, out, _ = run("ask", "--batch", str(_write(tmp_path / "q.jsonl", [line])))
    answer = json.loads(out)
    assert code == 0 and answer["status"] == "question_too_long"
    assert answer["question"].startswith("Where will they stay? ") and len(answer["question"]) <= 1_001


def test_from_a_file_the_next_question_is_encoded_ahead_and_the_answers_are_the_same(
    run, library, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A file is read ahead in chunks, their questions encoded on a thread; standard input (a pipe may be waiting
    for each answer) is not. Both give the same answers, as `ask` gives them."""
    import sys

    questions = [f"How many White Helmets were trapped in Syria in week {n}?" for n in range(12)]
    lines = [json.dumps({"question": q}).encode() for q in questions]
    lines.insert(4, b'{"question": 5}')  # a bad line in the middle is not encoded, and keeps its place
    ahead: list[str] = []
    encode_ahead = library.encode_ahead

    def recorded(chunk: list[str]) -> None:
        ahead.extend(chunk)
        encode_ahead(chunk)

    monkeypatch.setattr(library, "encode_ahead", recorded)
    code, from_file, _ = run("ask", "--batch", str(_write(tmp_path / "q.jsonl", lines)))
    assert code == 1 and ahead == questions
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n")))
    code, from_stdin, _ = run("ask", "--batch", "-")
    assert code == 1 and ahead == questions  # nothing more was read ahead
    assert from_file == from_stdin
    rows = [json.loads(line) for line in from_file.splitlines()]
    assert [r.get("question") for r in rows] == [*questions[:4], None, *questions[4:]]
    assert rows[4]["status"] == "error" and rows[4]["line"] == 5


def test_worker_processes_give_the_answers_in_order_that_one_process_gives(run, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """From a file, forked workers answer chunks of lines (an ONNX library: the CLI's own); the output is byte for
    byte what standard input (each line asked alone, in this process) gives, bad lines in their places."""
    import sys

    from bot.cli import batch_workers
    from index import EngineOptions, Library, build_index

    from ..conftest import CONTENT

    build_index(CONTENT, tmp_path / "index", EngineOptions(quantization="int8"))
    served = Library.load(tmp_path / "index")
    assert batch_workers.can_fork(served)
    questions = [f"How many White Helmets were trapped in Syria in week {n}?" for n in range(150)]
    lines = [json.dumps({"question": q}).encode() for q in questions]
    lines[3] = b'{"question": 5}'
    lines[140] = b'{"question": "Who'
    used = []
    real = batch_workers.answered_in_processes
    monkeypatch.setattr(batch_workers, "answered_in_processes", lambda *a, **k: used.append(k) or real(*a, **k))
    batch = str(_write(tmp_path / "q.jsonl", lines))
    code, by_workers, _ = run("ask", "--batch", batch, "--workers", "2", open_library=lambda index, settings: served)
    assert code == 1 and len(used) == 1 and used[0]["workers"] == 2 and used[0]["top_k"] == 3
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n")))
    code, alone, _ = run("ask", "--batch", "-", open_library=lambda index, settings: served)
    assert code == 1 and len(used) == 1
    assert by_workers == alone and len(alone.splitlines()) == 150
    rows = [json.loads(line) for line in by_workers.splitlines()]
    assert rows[3]["line"] == 4 and rows[140]["line"] == 141 and rows[149]["question"] == questions[149]


def test_worker_chunks_shrink_toward_the_end_of_the_file() -> None:
    """Chunks are a share of the lines left: long ones first (larger encoder batches), short ones at the end (no
    worker waits long for another's last chunk); every line once, in order."""
    from bot.cli.batch import BatchQuestion
    from bot.cli.batch_workers import FIRST_CHUNK, LARGEST_CHUNK, SMALLEST_CHUNK, guided_chunks

    read = [0]

    def lines():  # type: ignore[no-untyped-def]
        for number in range(1, 2001):
            read[0] = number
            yield number, BatchQuestion(f"question {number}?", None)

    chunks = list(guided_chunks(lines(), 2, lambda: (read[0] * 40, 2000 * 40)))
    sizes = [len(c) for c in chunks]
    assert [n for c in chunks for n, _ in c] == list(range(1, 2001))
    assert sizes[0] == FIRST_CHUNK and max(sizes) == LARGEST_CHUNK and sizes[-1] <= SMALLEST_CHUNK
    assert sizes[1:] == sorted(sizes[1:], reverse=True)
    assert len(sizes) < 2000 // SMALLEST_CHUNK
    even = [len(c) for c in guided_chunks(lines(), 2, None)]
    assert even[0] == FIRST_CHUNK and set(even[1:-1]) == {LARGEST_CHUNK // 2}
