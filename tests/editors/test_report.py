"""The editors' report from a real question log: grouping by meaning, figures, Markdown and a real PNG."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot import cli
from bot.editorial.grouping import LoggedQuestion, group_questions, normalise
from bot.editorial.questionlog import QuestionLog, QuestionRecord, QuoteRef, open_reader
from bot.editorial.report import gather, topic_vectors
from bot.editorial.report_render import discord_summary, markdown, write_report
from index import Encoder, Library

from ..conftest import SEED_SLUG
from ..support.tiers import sure_of

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
# Paraphrases well within the fitted cut (bot/editorial/grouping.json): story-centred cosine distance 0.05 to 0.08
ROADS = ["Why were the roads blocked?", "Why are the roads blocked?", "Why were the roads blocked?"]
MONEY = ["Who pays the White Helmets?", "Who is paying the White Helmets?", "Who pays the White Helmets"]
ANSWERED_Q = "How many White Helmets are still trapped in Syria?"


def _fill(log: QuestionLog, library: Library) -> list[int]:
    """Eleven questions over three days, plus one too old for a 7-day report; returns the answered ids."""
    answer = sure_of(library, ANSWERED_Q).ask(ANSWERED_Q, SEED_SLUG)
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
def filled(log_target: str | Path, library: Library) -> tuple[str | Path, list[int]]:
    log = QuestionLog(log_target, retention_days=0)
    ids = _fill(log, library)
    log.vote(ids[0], 1, 1)
    log.vote(ids[0], 2, 1)
    log.vote(ids[1], 1, -1)
    log.vote(ids[2], 3, 1)
    log.close()
    return log_target, ids


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
        "who pays the white helmets",
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
    assert len(post) <= 2000 and "roads" in post and "Who pays" in post


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"), dtype=np.float64)


def test_cli_writes_markdown_and_a_real_chart(
    filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: Library, built_index: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INDEX_DIR", str(built_index))
    out = tmp_path / "reports"
    if isinstance(filled[0], Path):
        where = ["--log", str(filled[0])]
    else:  # DATABASE_URL set: the report reads the log in PostgreSQL
        monkeypatch.setenv("DATABASE_URL", filled[0])
        where = []
    served = cli.Services(open_library=lambda index, settings: library)
    assert cli.main(["report", "--since", "3650", *where, "--out", str(out)], services=served) == 0
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


def test_report_without_a_log_says_where_it_looked(tmp_path: Path, library: Library, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    served = cli.Services(open_library=lambda index, settings: library)
    assert cli.main(["report", "--log", str(tmp_path / "none.sqlite3")], services=served) == 1
    assert "no question log at" in capsys.readouterr().err


def test_quote_refs_mark_paragraphs_changed_since(tmp_path: Path, encoder: Encoder, library: Library) -> None:
    log = QuestionLog(tmp_path / "q.sqlite3")
    log.record(QuestionRecord("q", "answered", user_id=1, refs=(QuoteRef(SEED_SLUG, 2, "0" * 16),), asked_at=NOW))
    log.close()
    data = gather(open_reader(tmp_path / "q.sqlite3"), encoder, days=1, library=library, now=NOW)
    assert data.quoted[0].status == "paragraph 2 (text changed since)"


TRAPPED, DIED, KILLED = (
    "How many White Helmets are still trapped?",
    "How many white helmets died?",
    "How many White Helmets have been killed?",
)


def test_an_answered_question_is_never_grouped_with_declined_ones(
    tmp_path: Path, encoder: Encoder, library: Library
) -> None:
    """Issue 13's log: one answered, two declined. Was one group "3 times, 33% answered"."""
    log = QuestionLog(tmp_path / "q.sqlite3")
    answer = library.ask(TRAPPED, SEED_SLUG)
    assert answer.shows_quotes
    log.record(QuestionRecord.from_answer(answer, user_id=1, asked_at=NOW))
    for user, question in enumerate((DIED, KILLED), 2):
        log.record(QuestionRecord(question, "not_covered", user_id=user, story=SEED_SLUG, asked_at=NOW))
    log.close()
    data = gather(open_reader(tmp_path / "q.sqlite3"), encoder, days=1, library=library, now=NOW)
    # trapped, asked once and answered, is a group of its own (not among the repeats); died/killed are one group
    assert [{p for p, _ in g.phrasings} for g in data.most_asked] == [{DIED, KILLED}]
    paraphrases = data.most_asked[0]
    assert (paraphrases.count, paraphrases.answered, paraphrases.passage) == (2, 0, None)
    assert [{p for p, _ in g.phrasings} for g in data.unanswered] == [{DIED, KILLED}]
    assert "| 1 | How many white helmets died? | 2 | 2 | 0% |" in markdown(data)


def test_groups_mix_outcomes_only_for_one_phrasing_asked_both_ways(encoder: Encoder, library: Library) -> None:
    """The same words answered once and declined once (the story changed in between) stay one group; a
    paraphrase answered by a passage and one declined never share a group, nor do two passages."""
    rows = [
        LoggedQuestion(TRAPPED, SEED_SLUG, True, "a", "story#p1"),
        LoggedQuestion(TRAPPED.lower(), SEED_SLUG, False, "b"),
        LoggedQuestion("How many of the White Helmets are still stuck?", SEED_SLUG, False, "c"),
        LoggedQuestion("Where will the White Helmets be resettled?", SEED_SLUG, True, "d", "story#p2"),
        LoggedQuestion("Where are the White Helmets going to live?", SEED_SLUG, True, "e", "story#p2"),
        LoggedQuestion(DIED, SEED_SLUG, False, "f"),
        LoggedQuestion(KILLED, SEED_SLUG, False, "g"),
    ]
    groups = group_questions(rows, encoder, topic_vectors(library))
    by_phrasing = {normalise(p): g for g in groups for p, _ in g.phrasings}
    trapped = by_phrasing[normalise(TRAPPED)]
    assert (trapped.count, trapped.answered, trapped.passage) == (2, 1, "story#p1")
    assert by_phrasing[normalise(rows[2].question)] is not trapped
    died = by_phrasing[normalise(DIED)]
    assert died is by_phrasing[normalise(KILLED)] and died is not trapped
    assert (died.passage, died.answered) == (None, 0)
    for group in groups:
        assert group.passage is None or group.answered > 0
        assert group.passage is not None or group.answered == 0
