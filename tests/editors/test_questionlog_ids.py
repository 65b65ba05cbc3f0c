"""Question ids when several processes (or several logs) share one file: no row lost, no vote misfiled."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from bot.editorial.migrations import migrate
from bot.editorial.questionlog import QuestionLog, QuestionRecord, open_reader

ROOT = Path(__file__).resolve().parents[2]
PER_PROCESS = 1000

# One bot process: open the log, wait for "go" on stdin (so both write at once), then for each question record
# it and vote on the id it got back, as the 👍/👎 button under that answer would. Prints the ids it handed out.
WRITER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from bot.editorial.questionlog import QuestionLog, QuestionRecord
path, proc, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
log = QuestionLog(path, salt="shared-salt", retention_days=0)
print("ready", flush=True)
sys.stdin.readline()
ids, votes = [], []
for i in range(n):
    user = proc * 100_000 + i
    qid = log.record(QuestionRecord(f"process {proc} question {i}", "answered", user_id=user))
    ids.append(qid)
    votes.append(log.vote(qid, user, 1 if i % 2 else -1))
failed = 0
for vote in votes:
    try:
        vote.result(120)
    except Exception:
        failed += 1
log.close()
print(json.dumps({"ids": ids, "failed_votes": failed}), flush=True)
"""


def test_two_processes_on_one_log_keep_every_row_and_file_every_vote(log_target: str | Path) -> None:
    path = log_target
    QuestionLog(path, salt="shared-salt").close()  # created once, as the first bot to start would
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ROOT), str(path), str(proc), str(PER_PROCESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for proc in (1, 2)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))

    conn = open_reader(path)
    assert conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 2 * PER_PROCESS
    assert all(r["failed_votes"] == 0 for r in results)
    for proc, result in zip((1, 2), results):
        assert len(result["ids"]) == PER_PROCESS
        stored = dict(conn.execute("SELECT id, question FROM questions WHERE question LIKE ?", (f"process {proc} %",)))
        # the id a process handed to the buttons is the id of its own question
        assert [stored.get(qid) for qid in result["ids"]] == [f"process {proc} question {i}" for i in range(1000)]
    # every vote sits on the question it was cast under: the voter is the asker, and the vote is the asker's
    votes = conn.execute(
        "SELECT q.question, f.vote, q.user_hash = f.user_hash FROM feedback f JOIN questions q ON q.id = f.question_id"
    ).fetchall()
    assert len(votes) == 2 * PER_PROCESS
    for question, vote, same_user in votes:
        assert same_user and vote == (1 if int(question.rsplit(" ", 1)[1]) % 2 else -1)


def test_logs_sharing_a_file_interleave_small_blocks_without_a_collision(log_target: str | Path) -> None:
    """Blocks of 3: reserved ahead by the writer, or on the caller's own connection when the writer is busy."""
    path = log_target
    logs = [QuestionLog(path, retention_days=0, id_block=3) for _ in range(3)]
    gate = threading.Event()
    # one writer stuck outside a transaction (the file stays free): its log must reserve blocks itself
    logs[0].submit(lambda conn: None).add_done_callback(lambda _: gate.wait(10))
    ids = [log.record(QuestionRecord(f"log {n} q {i}", "answered", user_id=i)) for i in range(40) for n, log in enumerate(logs)]  # fmt: skip
    gate.set()
    for log in logs:
        log.close()
    assert len(set(ids)) == len(ids) == 120 and None not in ids
    rows = dict(open_reader(path).execute("SELECT id, question FROM questions"))
    assert len(rows) == 120
    assert [rows[qid] for qid in ids] == [f"log {n} q {i}" for i in range(40) for n in range(3)]


def test_ids_stay_dense_for_one_process_and_an_older_log_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)  # a log as the previous version left it: AUTOINCREMENT rows
    migrate(old)
    for i in range(1, 6):
        old.execute(
            "INSERT INTO questions (asked_at, user_hash, source, question, status, confidence, latency_ms)"
            " VALUES ('2026-11-01T00:00:00.000000Z', 'u', 'slash', ?, 'answered', 0.5, 1.0)",
            (f"old {i}",),
        )
    old.close()
    log = QuestionLog(path, retention_days=0)
    assert [log.record(QuestionRecord(f"new {i}", "answered", user_id=i)) for i in range(3)] == [6, 7, 8]
    log.close()
    again = QuestionLog(path, retention_days=0)
    assert again.record(QuestionRecord("after a restart", "answered", user_id=1)) == 9  # the unused tail came back
    again.close()
    rows = [r[0] for r in open_reader(path).execute("SELECT question FROM questions ORDER BY id")]
    assert rows == [*(f"old {i}" for i in range(1, 6)), "new 0", "new 1", "new 2", "after a restart"]


def _open_at_once(path: Path, barrier: threading.Barrier, failures: list[BaseException]) -> None:
    barrier.wait()
    try:
        QuestionLog(path, retention_days=0).close()
    except BaseException as e:  # the test reports what any opener hit
        failures.append(e)


def test_processes_opening_a_new_log_at_once_each_find_it_migrated(tmp_path: Path) -> None:
    """Two bot processes sharing one QUESTION_LOG_PATH start together: each migration step must see what another
    process already applied (one of two shard processes stopped on 'table questions already exists')."""
    for attempt in range(10):
        barrier, failures = threading.Barrier(6), []  # type: ignore[var-annotated]
        args = (tmp_path / f"log{attempt}.sqlite3", barrier, failures)
        threads = [threading.Thread(target=_open_at_once, args=args) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert failures == []
