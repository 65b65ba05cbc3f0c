"""The command line's JSON contract and exit codes, run in-process against a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import SEED_SLUG

QUOTED = ("answered", "closest")  # the statuses that carry quotes; which tier is the engine's (tests/engine)


def test_ask_json(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("ask", "How many White Helmets are still trapped in Syria?", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] in QUOTED
    assert set(data["quotes"][0]) == {
        *("text", "story", "title", "paragraph", "paragraph_hash", "sources", "url", "score", "updated")
    }
    assert data["quotes"][0]["paragraph"] == 1


def test_ask_batch_keeps_order(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        json.dumps({"question": "Who painted the Mona Lisa?"})
        + "\n"
        + json.dumps({"question": "How many lives have the White Helmets saved?", "story": SEED_SLUG})
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = run("ask", "--batch", str(batch))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and lines[0]["status"] == "not_covered" and lines[1]["status"] in QUOTED
    assert lines[1]["quotes"][0]["paragraph"] == 3


def test_unknown_story_is_a_clear_error(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("ask", "anything?", "--story", "nope")
    assert code == 1 and "no story 'nope'" in err and SEED_SLUG in err


def test_summary_and_stories_json(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("summary", "--json", "--sentences", "2")
    summary = json.loads(out)
    assert code == 0 and summary["story"] == SEED_SLUG and len(summary["quotes"]) == 2
    code, out, _ = run("stories", "--json")
    (story,) = json.loads(out)
    assert story["slug"] == SEED_SLUG and story["paragraphs"] == 4 and story["sources"] == ["NPR", "CNN"]


def test_invalid_setting_names_the_variable(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TOP_K", "many")
    code, _, err = run("stories")
    assert code == 2 and "TOP_K" in err


def test_each_command_s_help_is_its_docstring(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import inspect

    from bot.cli.batch import LINE_FORMAT
    from bot.cli.commands import cli

    monkeypatch.setenv("COLUMNS", "120")  # as wide as the help is laid out (max_content_width 100)
    code, out, _ = run("--help")
    assert code == 0 and "Exit codes:" in out
    for name, command in cli.commands.items():
        assert command.help and command.callback and inspect.cleandoc(command.help) == inspect.getdoc(command.callback)
        assert command.get_short_help_str(100) in out  # the list shows each one's first sentence, uncut
        code, out_one, _ = run(name, "--help")
        first = command.help.strip().splitlines()[0]
        assert code == 0 and first in out_one, name
    code, out, _ = run("ask", "--help")
    assert LINE_FORMAT in out and '{"line": N, "status": "error", "error": "..."}' in out


def test_usage_mistakes_exit_2_in_one_line(run) -> None:  # type: ignore[no-untyped-def]
    for argv in (["ask"], ["ask", "--no-such-option", "x"], ["summary", "--sentences", "0"], ["nope"]):
        code, out, err = run(*argv)
        assert code == 2 and out == "" and "Traceback" not in err and "rror" in err, argv


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(run) -> None:  # type: ignore[no-untyped-def]
    def broken(index: Path | None, settings: object) -> None:
        raise RuntimeError("boom")

    code, out, err = run("stories", open_library=broken)
    assert code == 1 and out == "" and err == "error: unexpected RuntimeError: boom. " + err.split("boom. ", 1)[1]
    assert "--debug" in err and err.count("\n") == 1
    with pytest.raises(RuntimeError, match="boom"):
        run("--debug", "stories", open_library=broken)


def test_report_since_must_be_a_finite_number_of_days_within_retention(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 19 item 4: inf and 1e308 ended in "unexpected OverflowError", nan passed the check and failed later."""
    from bot.editorial.questionlog import QuestionLog, QuestionRecord

    log = tmp_path / "q.sqlite3"
    questions = QuestionLog(log, salt="test")
    questions.record(QuestionRecord(question="How many are trapped?", status="answered", user_id=1))
    questions.close()
    for since in ("inf", "1e308", "nan", "-nan", "36501", "0", "-1"):
        code, out, err = run("report", "--since", since, "--log", str(log), "--out", str(tmp_path / "out"))
        assert code == 2 and out == "" and "--since" in err and "bug" not in err, (since, err)
        assert "Error: Invalid value for '--since'" in err and "Traceback" not in err, err
    code, out, err = run("report", "--since", "36500", "--log", str(log), "--out", str(tmp_path / "out"))
    assert code == 0 and out.startswith("1 questions in the last 36500 days"), err


def test_batch_with_no_standard_output_is_one_line(run, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`ask --batch - >&-`: Python starts with sys.stdout None; it ended in "unexpected AttributeError"."""
    import sys

    batch = tmp_path / "q.jsonl"
    batch.write_text(json.dumps({"question": "How many are trapped?"}) + "\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", None)
    code, _, err = run("ask", "--batch", str(batch))
    assert code == 1 and "standard output" in err and "bug" not in err and err.count("\n") == 1, err
