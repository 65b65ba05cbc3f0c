"""The README's terminal session is what the engine prints today, question by question.

The README promises a real transcript. When the engine starts answering one of its questions differently (a new
model, new weights), this fails and says which: run `make run` (or `newsroom-bot chat` in a terminal), ask the same
questions, and paste what it prints into the README.
"""

from __future__ import annotations

import re

import pytest

from bot.cli.terminal import format_answer, format_summary
from index import Library

from ..conftest import ROOT, SEED_SLUG


def transcript() -> list[tuple[str, str]]:
    """(question, what was printed) for each prompt of the first text block under "What you'll see"."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## What you'll see", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert block, "the README's 'What you'll see' has no ```text block"
    turns = []
    for turn in block.group(1).split("\n> ")[1:]:
        question, _, printed = turn.partition("\n")
        turns.append((question, printed.rstrip("\n")))
    return turns


def test_the_readme_has_a_session() -> None:
    questions = [q for q, _ in transcript()]
    assert len(questions) >= 3 and "summary" in questions


@pytest.mark.parametrize("question, printed", transcript(), ids=lambda value: value[:40])
def test_the_engine_prints_what_the_readme_shows(library: Library, question: str, printed: str) -> None:
    shown = (
        format_summary(library.summary(SEED_SLUG)) if question == "summary" else format_answer(library.ask(question))
    )
    assert shown == printed, f"the engine now prints, for {question!r}:\n{shown}\n(update the README's session)"
