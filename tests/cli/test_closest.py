"""The closest passage on the command line: `ask` prints the hedge line then the quote, `--json` and `--batch` give
`"status": "closest"` with its quotes, `chat` shows it the same way, and none of it is an error (exit 0)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from bot.cli.commands import DEMO_QUESTION
from index import Library

from ..support.tiers import unsure_of

QUESTION = DEMO_QUESTION
OFF_TOPIC = "Who painted the Mona Lisa?"
HEDGE = "“White Helmets Trapped in Syria” may not answer this directly; the closest passage is ¶1."


@pytest.fixture
def unsure(run, library: Library):  # type: ignore[no-untyped-def]
    """`run` with an index unsure of QUESTION (its closest passage) that still declines OFF_TOPIC."""
    unsure = unsure_of(library, QUESTION, OFF_TOPIC)
    return functools.partial(run, open_library=lambda index, settings: unsure)


def test_ask_prints_the_hedge_then_the_quote_and_exits_0(unsure) -> None:  # type: ignore[no-untyped-def]
    code, out, err = unsure("ask", QUESTION)
    hedge, quote = out.rstrip("\n").split("\n\n", 1)
    assert code == 0 and err == "" and hedge == HEDGE
    assert quote.startswith("  “") and "300 White Helmets" in quote
    assert "   — White Helmets Trapped in Syria, ¶1 · Sources: NPR; CNN" in quote


def test_ask_json_says_closest_with_its_quotes(unsure) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = unsure("ask", QUESTION, "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "closest" and data["message"] == HEDGE
    assert data["quotes"][0]["paragraph"] == 1 and data["quotes"][0]["title"] == "White Helmets Trapped in Syria"
    assert 0.0 < data["confidence"] < 1.0


def test_batch_lines_carry_each_tier_and_exit_0(unsure, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps({"question": q}) for q in (QUESTION, OFF_TOPIC)) + "\n", encoding="utf-8")
    code, out, _ = unsure("ask", "--batch", str(batch))
    closest, declined = (json.loads(line) for line in out.splitlines())
    assert code == 0 and (closest["status"], declined["status"]) == ("closest", "not_covered")
    assert closest["quotes"] and declined["quotes"] == []


def test_chat_without_a_terminal_shows_the_closest_passage(unsure, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", None)
    code, out, _ = unsure("chat")
    assert code == 0 and f"> {QUESTION}\n\n{HEDGE}\n\n  “" in out
