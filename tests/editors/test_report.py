"""The editors' report from a real question log: grouping by meaning, figures, Markdown and a real PNG."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import commands as cli
from bot.editorial.questionlog import QuestionLog, QuestionRecord, QuoteRef, open_reader
from bot.editorial.report import gather, normalise
from bot.editorial.report_render import discord_summary, markdown, write_report
from index import Encoder, Library

from ..conftest import SEED_SLUG

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
ROADS = ["Why were the roads blocked?", "what roads were closed", "Why were the roads blocked?"]
MONEY = [
    "Who funds the White Helmets?",
    "Where does the White Helmets' money come from?",
    "Who funds the White Helmets",
]
ANSWERED_Q = "How many White Helmets are still trapped in Syria?"


def _fill(log: QuestionLog, library: Library) -> list[int]:
    """Eleven questions over three days, plus one too old for a 7-day report; returns the answered ids."""
    answer = library.ask(ANSWERED_Q, SEED_SLUG)
    assert answer.answered
    answered = []
    for day in range(3):
        when = NOW - dt.timedelta(days=day, hours=1)
        answered.append(
            log.record(QuestionRecord.from_answer(answer, user_id=day, latency_ms=50.0 + day, asked_at=when))
        )
    questions = [*ROADS, *MONEY, "What is the weather in Damascus?", "<@123> **bold** [x](http://evil)"]
    for i, question in enumerate(questions):
        log.record(
            QuestionRecord(
                question, "not_covered", user_id=10 + i, story=SEED_SLUG, asked_at=NOW - dt.timedelta(hours=i)
            )
        )
    log.record(QuestionRecord("Old question?", "not_covered", user_id=1, asked_at=NOW - dt.timedelta(days=30)))
    log.record(QuestionRecord("   ", "empty_question", user_id=1, asked_at=NOW))
    return answered


@pytest.fixture
def filled(tmp_path: Path, library: Library) -> tuple[Path, list[int]]:
    log = QuestionLog(tmp_path / "q.sqlite3", retention_days=0)
    ids = _fill(log, library)
    log.vote(ids[0], 1, 1)
    log.vote(ids[0], 2, 1)
    log.vote(ids[1], 1, -1)
    log.vote(ids[2], 3, 1)
    log.close()
    return tmp_path / "q.sqlite3", ids


def test_unanswered_questions_are_grouped_by_meaning(filled, encoder: Encoder, library: Library) -> None:  # type: ignore[no-untyped-def]
    data = gather(open_reader(filled[0]), encoder, days=7, library=library, now=NOW)
    groups = [{normalise(p) for p, _ in g.phrasings} for g in data.unanswered]
    assert {normalise(q) for q in ROADS} in groups and {normalise(q) for q in MONEY} in groups
    assert {"what is the weather in damascus"} in groups
    assert all("old question" not in g for g in groups)  # outside the window
    assert [g.count for g in data.unanswered] == [3, 3, 1, 1]
    assert [len(g.readers) for g in data.unanswered] == [3, 3, 1, 1]
    biggest = data.unanswered[0]
    assert biggest.count == 3 and normalise(biggest.label) in (
        "why were the roads blocked",
        "who funds the white helmets",
    )
    assert data.most_asked[0].count == 3 and data.most_asked[0].answered in (0, 3)


def test_figures_per_story_day_and_votes(filled, encoder: Encoder, library: Library) -> None:  # type: ignore[no-untyped-def]
    data = gather(open_reader(filled[0]), encoder, days=7, library=library, now=NOW)
    assert data.total == 12 and data.readers == 11
    assert (data.statuses["answered"], data.statuses["not_covered"], data.statuses["empty_question"]) == (3, 8, 1)
    assert (data.up, data.down) == (3, 1) and data.helpful_rate == pytest.approx(0.75)
    assert data.answered_rate == pytest.approx(3 / 11)
    story = data.per_story[SEED_SLUG]
    assert (story["answered"], story["not_covered"], story["up"], story["down"]) == (3, 8, 3, 1)
    assert sorted(data.per_day) == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert data.per_day["2026-11-23"]["answered"] == 1
    assert data.median_latency_ms is not None
    top = data.quoted[0]
    assert (top.story, top.quoted, top.up, top.down) == (SEED_SLUG, 3, 3, 1)
    assert top.status.endswith("(unchanged)")

    narrow = gather(open_reader(filled[0]), encoder, days=7, story="no-such-story", library=library, now=NOW)
    assert narrow.total == 0 and narrow.unanswered == [] and narrow.helpful_rate is None
    wide = gather(open_reader(filled[0]), encoder, days=60, library=library, now=NOW)
    assert wide.total == 13


def test_markdown_escapes_reader_text_and_discord_summary_fits(filled, encoder: Encoder, library: Library) -> None:  # type: ignore[no-untyped-def]
    data = gather(open_reader(filled[0]), encoder, days=7, library=library, now=NOW)
    text = markdown(data, "chart.png")
    assert "## What readers wanted to know that the story didn't say" in text
    assert "helpful 75% (3 👍, 1 👎)" in text and "![Questions per day and per story](chart.png)" in text
    assert "White Helmets Trapped in Syria" in text  # titles from the index, not slugs
    assert "— asked 3× by 3 readers" in text
    assert "[x](http://evil)" not in text and "\\*\\*bold\\*\\*" in text
    post = discord_summary(data)
    assert len(post) <= 2000 and "roads" in post and "Who funds" in post


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"), dtype=np.float64)


def test_cli_writes_markdown_and_a_real_chart(
    filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: Library, built_index: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INDEX_DIR", str(built_index))
    monkeypatch.setattr(cli, "_library", lambda args, settings: library)
    out = tmp_path / "reports"
    assert cli.main(["report", "--since", "3650", "--log", str(filled[0]), "--out", str(out)]) == 0
    [md] = out.glob("*.md")
    [png] = out.glob("*.png")
    assert f"![Questions per day and per story]({png.name})" in md.read_text(encoding="utf-8")
    pixels = _pixels(png)
    assert pixels.shape == (500, 1500)
    assert pixels.std() > 20  # not blank: bars, labels and text
    assert (pixels < 128).mean() > 0.02


def test_an_empty_log_still_makes_a_report(tmp_path: Path, encoder: Encoder) -> None:
    QuestionLog(tmp_path / "q.sqlite3").close()
    data = gather(open_reader(tmp_path / "q.sqlite3"), encoder, days=7, now=NOW)
    md, png = write_report(data, tmp_path / "out")
    assert "0 questions from 0 readers" in md.read_text(encoding="utf-8")
    assert _pixels(png).std() > 5


def test_report_without_a_log_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: Library, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(cli, "_library", lambda args, settings: library)
    assert cli.main(["report", "--log", str(tmp_path / "none.sqlite3")]) == 1
    assert "no question log at" in capsys.readouterr().err


def test_quote_refs_mark_paragraphs_changed_since(tmp_path: Path, encoder: Encoder, library: Library) -> None:
    log = QuestionLog(tmp_path / "q.sqlite3")
    log.record(QuestionRecord("q", "answered", user_id=1, refs=(QuoteRef(SEED_SLUG, 2, "0" * 16),), asked_at=NOW))
    log.close()
    data = gather(open_reader(tmp_path / "q.sqlite3"), encoder, days=1, library=library, now=NOW)
    assert data.quoted[0].status == "paragraph 2 (text changed since)"
