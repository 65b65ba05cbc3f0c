"""`ask --batch`: every good line is answered; each bad line gets an error object with its number in its place."""

from __future__ import annotations

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
    assert len(answered) == 999 and all(r["status"] == "answered" for r in answered)
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
    assert [r["status"] for r in rows].count("answered") == 2
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
