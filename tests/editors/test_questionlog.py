"""The question log on a real SQLite file: schema, hashed ids, refs, votes, bindings, retention, shutdown."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.editorial.logdb import SqliteLog
from bot.editorial.migrations import MIGRATIONS, POSTGRES_MIGRATIONS, SchemaTooNew
from bot.editorial.questionlog import (
    QuestionLog,
    QuestionLogError,
    QuestionRecord,
    QuoteRef,
    UnknownQuestion,
    open_reader,
)
from bot.runner import run_bot
from bot.settings import load_settings
from index import Library

from ..support.tiers import sure_of

USER = 123456789012345678


def _rec(question: str = "How many are trapped?", **kw: object) -> QuestionRecord:
    return QuestionRecord(question=question, status="answered", user_id=USER, **kw)  # type: ignore[arg-type]


@pytest.fixture
def qlog(log_target: str | Path):  # type: ignore[no-untyped-def]
    log = QuestionLog(log_target, retention_days=30)
    yield log
    log.close()


def test_schema_is_versioned_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "data" / "q.sqlite3"
    QuestionLog(path).close()
    QuestionLog(path).close()  # reopening runs no migration twice
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in conn.execute("SELECT version FROM schema_version")] == list(range(1, len(MIGRATIONS) + 1))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"questions", "quote_refs", "feedback", "channel_stories", "meta"} <= tables
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    conn.commit()
    conn.close()
    with pytest.raises(QuestionLogError, match="schema 99") as caught:
        QuestionLog(path)
    assert isinstance(caught.value.__cause__, SchemaTooNew)


def test_both_backends_have_every_migration() -> None:
    assert len(POSTGRES_MIGRATIONS) == len(MIGRATIONS)  # a log's schema version means the same in both


def test_an_unusable_path_stops_start_up_naming_the_variable(
    tmp_path: Path, built_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    bad = tmp_path / "a-file" / "q.sqlite3"
    with pytest.raises(QuestionLogError, match="QUESTION_LOG_PATH"):
        QuestionLog(bad)
    settings = load_settings(
        _env_file=None, discord_token="not-a-real-token", index_dir=built_index, question_log_path=bad
    )
    assert run_bot(settings) == 1  # before any connection attempt
    assert "QUESTION_LOG_PATH: cannot use" in capsys.readouterr().err


def test_a_logged_answer_keeps_refs_and_no_user_id(qlog: QuestionLog, library: Library) -> None:
    trapped = "How many White Helmets are still trapped in Syria?"
    answer = sure_of(library, trapped).ask(trapped)
    asked = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    qid = qlog.record(
        QuestionRecord.from_answer(
            answer, user_id=USER, source="mention", guild_id=7, channel_id=8, latency_ms=41.26, asked_at=asked
        )
    )
    qlog.flush()
    conn = open_reader(qlog.backend)
    row = conn.execute("SELECT * FROM questions WHERE id = ?", (qid,)).fetchone()
    stored = "2026-11-20T09:30:00.000000Z" if isinstance(qlog.backend, SqliteLog) else asked  # TEXT or timestamptz
    assert (row["asked_at"], row["guild_id"], row["channel_id"], row["source"]) == (stored, 7, 8, "mention")
    assert (row["question"], row["status"], row["latency_ms"]) == (answer.question, "answered", 41.3)
    assert str(USER) not in row["user_hash"] and row["user_hash"] == qlog.hash_user(USER)
    refs = conn.execute("SELECT story, paragraph, paragraph_hash FROM quote_refs ORDER BY position").fetchall()
    assert [tuple(r) for r in refs] == [(q.story, q.paragraph, q.paragraph_hash) for q in answer.quotes]
    paragraph = library.story(refs[0]["story"]).paragraphs[refs[0]["paragraph"] - 1]
    assert refs[0]["paragraph_hash"] == paragraph.content_hash
    rows = [tuple(r) for table in ("questions", "quote_refs", "meta") for r in conn.execute(f"SELECT * FROM {table}")]
    assert rows and str(USER) not in repr(rows)
    if isinstance(qlog.backend, SqliteLog):  # nor anywhere in the files, WAL included
        dump = b"".join(p.read_bytes() for p in qlog.path.parent.iterdir())
        assert str(USER).encode() not in dump


def test_user_hash_is_stable_per_salt(tmp_path: Path) -> None:
    a = QuestionLog(tmp_path / "a.sqlite3")
    a_again_hash = a.hash_user(USER)
    a.close()
    reopened = QuestionLog(tmp_path / "a.sqlite3")
    b = QuestionLog(tmp_path / "b.sqlite3")
    keyed = QuestionLog(tmp_path / "c.sqlite3", salt="newsroom-secret")
    try:
        assert reopened.hash_user(USER) == a_again_hash  # the stored salt survives a restart
        assert b.hash_user(USER) != a_again_hash  # each file gets its own random salt
        assert keyed.hash_user(USER) == QuestionLog(tmp_path / "d.sqlite3", salt="newsroom-secret").hash_user(USER)
        assert keyed.hash_user(USER) != keyed.hash_user(USER + 1)
    finally:
        for log in (reopened, b, keyed):
            log.close()


def test_record_returns_before_the_write_and_close_loses_nothing(log_target: str | Path) -> None:
    log = QuestionLog(log_target)
    gate = threading.Event()
    log.submit(lambda conn: gate.wait(10))  # the writer is busy: record() must still return at once
    ids = [log.record(_rec(f"question {i}")) for i in range(300)]
    assert ids == list(range(1, 301))
    assert open_reader(log_target).execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 0
    gate.set()
    log.close()
    assert open_reader(log_target).execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 300
    again = QuestionLog(log_target)
    assert again.record(_rec()) == 301  # ids keep counting after a restart
    again.close()


def test_one_vote_per_reader_and_changeable(qlog: QuestionLog) -> None:
    qid = qlog.record(_rec())
    qlog.vote(qid, USER, 1)
    tally = qlog.vote(qid, USER, 1).result(5)
    assert (tally.up, tally.down) == (1, 0)  # a second 👍 from the same reader is still one
    tally = qlog.vote(qid, USER, -1).result(5)
    assert (tally.up, tally.down) == (0, 1)  # changed mind
    tally = qlog.vote(qid, USER + 1, 1).result(5)
    assert (tally.up, tally.down) == (1, 1)
    with pytest.raises(UnknownQuestion):
        qlog.vote(qid + 100, USER, 1).result(5)
    with pytest.raises(ValueError):
        qlog.vote(qid, USER, 2)


def test_channel_bindings_survive_a_restart(log_target: str | Path) -> None:
    log = QuestionLog(log_target)
    log.bind_channel(10, "white-helmets-trapped-in-syria", guild_id=1)
    log.bind_channel(11, "other")
    log.bind_channel(11, None)
    assert log.channel_story(10) == "white-helmets-trapped-in-syria" and log.channel_story(11) is None
    log.close()
    again = QuestionLog(log_target)
    assert again.channel_story(10) == "white-helmets-trapped-in-syria" and again.channel_story(11) is None
    again.close()


def test_retention_prunes_old_questions_with_their_refs_and_votes(log_target: str | Path) -> None:
    now = dt.datetime.now(dt.UTC)
    log = QuestionLog(log_target, retention_days=30)
    old = log.record(_rec("old", refs=(QuoteRef("s", 1, "ab"),), asked_at=now - dt.timedelta(days=31)))
    new = log.record(_rec("new", refs=(QuoteRef("s", 2, "cd"),), asked_at=now - dt.timedelta(days=29)))
    log.vote(old, USER, 1)
    log.vote(new, USER, 1)
    assert log.prune().result(5) == 1
    conn = open_reader(log_target)
    assert [r[0] for r in conn.execute("SELECT question FROM questions")] == ["new"]
    assert [r[0] for r in conn.execute("SELECT question_id FROM quote_refs")] == [new]
    assert [r[0] for r in conn.execute("SELECT question_id FROM feedback")] == [new]
    log.close()
    keep_all = QuestionLog(log_target, retention_days=0)
    assert keep_all.prune(now + dt.timedelta(days=999)).result(5) == 0
    keep_all.close()


def test_settings_put_the_log_beside_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEX_DIR", "/srv/news/index")
    settings = load_settings(_env_file=None)
    assert settings.question_log_file == Path("/srv/news/questions.sqlite3")
    assert load_settings(_env_file=None, question_log_path="/tmp/q.db").question_log_file == Path("/tmp/q.db")
    monkeypatch.setenv("QUESTION_LOG_RETENTION_DAYS", "-1")
    with pytest.raises(Exception, match="QUESTION_LOG_RETENTION_DAYS"):
        load_settings(_env_file=None)


def test_sigterm_still_writes_every_queued_row(tmp_path: Path) -> None:
    """A process stopped with SIGTERM (docker stop) mid-queue: with the runner's handler, no row is lost."""
    script = f"""
import os, signal, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from bot.editorial.questionlog import QuestionLog, QuestionRecord
from bot.runner import stop_on_sigterm
stop_on_sigterm()
log = QuestionLog({str(tmp_path / "q.sqlite3")!r})
for i in range(20000):
    log.record(QuestionRecord(f"question {{i}}", "answered", user_id=i))
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(60)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "KeyboardInterrupt" in done.stderr, done.stderr[-2000:]
    count = open_reader(tmp_path / "q.sqlite3").execute("SELECT COUNT(*) FROM questions").fetchone()[0]
    assert count == 20000
