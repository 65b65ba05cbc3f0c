"""Closest replies in the question log and the editors' report: logged with their tier, quote refs and votes, and
shown as their own list, grouped by meaning like declined questions: what readers asked that the story may leave
open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.editorial.questionlog import QuestionLog, QuestionRecord, open_reader
from bot.editorial.report import gather
from bot.editorial.report_render import LEFT_OPEN, discord_summary, markdown
from index import AnswerStatus, Encoder, Library

from ..conftest import SEED_SLUG
from ..support.tiers import sure_of, with_thresholds

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
TRAPPED = "How many White Helmets are still trapped in Syria?"
KILLED, DIED = "How many White Helmets have been killed?", "How many white helmets died?"
DECLINED = "Who painted the Mona Lisa?"


def unsure(library: Library) -> Library:
    """The session's index with thresholds this test sets: nothing is confident, nothing is declined."""
    return with_thresholds(library, 1.0, 0.0)


@pytest.fixture
def log_path(tmp_path: Path, library: Library) -> Path:
    path = tmp_path / "q.sqlite3"
    log = QuestionLog(path, retention_days=0)
    answered = sure_of(library, TRAPPED).ask(TRAPPED, SEED_SLUG)
    assert answered.status is AnswerStatus.ANSWERED
    log.record(QuestionRecord.from_answer(answered, user_id=1, asked_at=NOW))
    closest_ids = []
    for user, question in enumerate((KILLED, DIED, KILLED), 2):
        answer = unsure(library).ask(question, SEED_SLUG)
        assert answer.status is AnswerStatus.CLOSEST and answer.quotes
        closest_ids.append(log.record(QuestionRecord.from_answer(answer, user_id=user, asked_at=NOW)))
    log.record(QuestionRecord(DECLINED, "not_covered", user_id=9, story=SEED_SLUG, asked_at=NOW))
    log.vote(closest_ids[0], 2, -1)  # a reader says the closest passage didn't help
    log.vote(closest_ids[1], 3, 1)
    log.close()
    return path


def test_closest_replies_are_logged_with_their_tier_refs_and_votes(log_path: Path) -> None:
    conn = open_reader(log_path)
    statuses = [r["status"] for r in conn.execute("SELECT status FROM questions ORDER BY id")]
    assert statuses == ["answered", "closest", "closest", "closest", "not_covered"]
    refs = conn.execute(
        "SELECT COUNT(DISTINCT r.question_id) FROM quote_refs r JOIN questions q ON q.id = r.question_id"
        " WHERE q.status = 'closest'"
    ).fetchone()[0]
    assert refs == 3
    assert sorted(v[0] for v in conn.execute("SELECT vote FROM feedback")) == [-1, 1]


def test_the_report_lists_closest_replies_apart_grouped_by_meaning(
    log_path: Path, encoder: Encoder, library: Library
) -> None:
    data = gather(open_reader(log_path), encoder, days=1, library=library, now=NOW)
    assert (data.statuses["answered"], data.statuses["closest"], data.statuses["not_covered"]) == (1, 3, 1)
    assert data.asked == 5 and data.answered_rate == pytest.approx(1 / 5) and data.closest_rate == pytest.approx(3 / 5)
    (left_open,) = data.left_open  # killed and died are one question
    assert {p for p, _ in left_open.group.phrasings} == {KILLED, DIED}
    assert (left_open.group.count, len(left_open.group.readers), left_open.group.answered) == (3, 3, 0)
    shown = unsure(library).ask(KILLED, SEED_SLUG).quotes[0].paragraph
    assert (left_open.story, left_open.paragraph) == (SEED_SLUG, shown)
    assert [{p for p, _ in g.phrasings} for g in data.unanswered] == [{DECLINED}]  # declined ones stay apart
    assert (data.up, data.down) == (1, 1)
    assert data.per_story[SEED_SLUG]["closest"] == 3

    text = markdown(data)
    section = text.split(f"## {LEFT_OPEN}", 1)[1].split("\n## ", 1)[0]
    assert "may leave open" in LEFT_OPEN and "closest passage under a hedge" in section
    assert f"closest passage shown: White Helmets Trapped in Syria, ¶{shown}" in section
    assert "asked 3× by 3 readers" in section and DECLINED not in section
    assert "closest passage 60%" in text and "| Closest passage |" in text
    post = discord_summary(data)
    assert len(post) <= 2000 and "**The story may leave open** (closest passage shown):" in post


def test_a_log_without_closest_replies_says_so(tmp_path: Path, encoder: Encoder) -> None:
    log = QuestionLog(tmp_path / "q.sqlite3")
    log.record(QuestionRecord(DECLINED, "not_covered", user_id=1, asked_at=NOW))
    log.close()
    data = gather(open_reader(tmp_path / "q.sqlite3"), encoder, days=1, now=NOW)
    assert data.left_open == [] and data.closest_rate == 0.0
    assert "Nothing: every quote the bot showed, it showed as an answer." in markdown(data)
    assert "may leave open" not in discord_summary(data)
