"""PostgreSQL (DATABASE_URL) going wrong under the bot, on a real server: down at start, restarted while the bot
writes its question log, a wrong password, no pgvector, a wrong URL. Each says one line and loses nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from bot.editorial.questionlog import QuestionLog, QuestionLogError, QuestionRecord, open_reader
from bot.runner import run_bot, wait_for_database
from bot.settings import SettingsError, load_settings
from index import DatabaseMisconfigured, postgres

from ..support.postgres import ThrowawayPostgres


@pytest.fixture
def own_postgres():  # type: ignore[no-untyped-def]
    """A server of the test's own, which it may stop and start (the session's serves the other tests)."""
    server = ThrowawayPostgres()
    yield server
    server.close()


def _count(url: str) -> int:
    return int(open_reader(url).execute("SELECT COUNT(*) FROM questions").fetchone()[0])


def test_a_restart_while_the_bot_writes_loses_no_question_row(own_postgres: ThrowawayPostgres) -> None:
    url = own_postgres.new_database()
    log = QuestionLog(url, retention_days=0)
    before = [log.record(QuestionRecord(f"before {i}", "answered", user_id=i)) for i in range(50)]
    log.flush()
    own_postgres.stop()  # every connection is cut, as in a restart or a failover
    during = [log.record(QuestionRecord(f"during {i}", "answered", user_id=i)) for i in range(50)]
    votes = [log.vote(qid, 7, 1) for qid in before[:10]]  # type: ignore[arg-type]
    time.sleep(1.0)  # the writer is now failing to reconnect, the rows waiting in memory
    own_postgres.start()
    log.flush(timeout=60)
    after = [log.record(QuestionRecord(f"after {i}", "answered", user_id=i)) for i in range(50)]
    log.close()
    assert None not in before + during + after and len(set(before + during + after)) == 150
    assert _count(url) == 150
    assert all(v.result(5).up == 1 for v in votes)
    rows = dict(open_reader(url).execute("SELECT id, question FROM questions").fetchall())
    assert [rows[qid] for qid in during] == [f"during {i}" for i in range(50)]


def test_the_bot_waits_for_a_database_that_is_down_at_start(
    own_postgres: ThrowawayPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    url = own_postgres.new_database()
    own_postgres.stop()
    later = threading.Timer(1.5, own_postgres.start)
    later.start()
    wait_for_database(url, first=0.2, cap=0.4)  # returns once the server is back
    later.join()
    err = capsys.readouterr().err
    tries = [line for line in err.splitlines() if "can't be reached" in line]
    assert len(tries) >= 2 and all("trying again in" in line and "(try " in line for line in tries)
    assert "reachable again after" in err


def test_a_wrong_password_is_one_line_that_never_shows_it(
    postgres_server: ThrowawayPostgres, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database = postgres_server.name_of(postgres_server.new_database())
    postgres_server.require_password("newsroom", "right-horse-battery")
    with postgres_server.admin() as conn:
        conn.execute(f"ALTER DATABASE {database} OWNER TO newsroom")
    wrong = postgres_server.url(database, "newsroom", "Tr0ub4dor-and-3")
    settings = load_settings(_env_file=None, discord_token="x" * 30, index_dir=tmp_path / "index", database_url=wrong)
    assert run_bot(settings) == 1  # at once: no retrying a refused password
    err = capsys.readouterr().err
    assert err.startswith("error: DATABASE_URL: PostgreSQL at") and "refused the login of newsroom" in err
    assert "Tr0ub4dor" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(QuestionLogError, match="refused the login") as caught:
        QuestionLog(wrong)
    assert "Tr0ub4dor" not in str(caught.value)
    QuestionLog(postgres_server.url(database, "newsroom", "right-horse-battery")).close()  # the right one works


def test_a_database_without_pgvector_says_what_an_admin_must_do(postgres_server: ThrowawayPostgres) -> None:
    url = postgres_server.new_database(vector=False)
    database = postgres_server.name_of(url)
    postgres_server.require_password("editor", "pw-editor")
    with postgres_server.admin() as conn:
        conn.execute(f"GRANT ALL ON DATABASE {database} TO editor")
    as_editor = postgres_server.url(database, "editor", "pw-editor")
    with pytest.raises(DatabaseMisconfigured, match="ask an admin to run CREATE EXTENSION vector") as caught:
        wait_for_database(as_editor)
    assert "pw-editor" not in str(caught.value)
    wait_for_database(url)  # a superuser's URL creates it
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() == (1,)


SYSTEM_POSTGRES = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def _system_postgres_without_pgvector() -> Path | None:
    """The bin folder of a Debian PostgreSQL that has no pgvector, with its `postgres` user; None if there is none."""
    for initdb in reversed(SYSTEM_POSTGRES):
        version = initdb.parent.parent.name
        if not Path(f"/usr/share/postgresql/{version}/extension/vector.control").exists():
            return initdb.parent if shutil.which("runuser") and os.geteuid() == 0 and _has_user("postgres") else None
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.skipif(_system_postgres_without_pgvector() is None, reason="no system PostgreSQL without pgvector here")
def test_a_server_without_the_pgvector_package_is_named(tmp_path: Path) -> None:
    """A PostgreSQL that lacks pgvector altogether (Debian's postgresql without postgresql-NN-pgvector)."""
    bin_dir = _system_postgres_without_pgvector()
    assert bin_dir is not None
    folder = Path(tempfile.mkdtemp(prefix="nb-pg15-"))  # short: the socket path
    shutil.chown(folder, "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-A", "trust"], check=True, capture_output=True)  # fmt: skip
    ctl = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-w"]
    options = f"-k {folder} -c listen_addresses=''"
    subprocess.run([*ctl, "-o", options, "-l", str(folder / "log"), "start"], check=True, capture_output=True)
    try:
        with pytest.raises(DatabaseMisconfigured, match="has no pgvector"):
            wait_for_database(f"postgresql://postgres@/postgres?host={folder}")
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_wrong_url_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://admin:hunter22@db/news")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert "DATABASE_URL must start with postgresql://" in str(caught.value) and "hunter22" not in str(caught.value)


def test_a_missing_database_is_named(postgres_server: ThrowawayPostgres) -> None:
    url = postgres_server.url("no_such_newsroom")
    with pytest.raises(DatabaseMisconfigured, match="the database no_such_newsroom does not exist"):
        postgres.connect(url)


def test_redacted_urls_hide_every_password() -> None:
    assert (
        postgres.redacted("postgresql://bot:s3cret@db.example:5432/news") == "postgresql://bot:***@db.example:5432/news"
    )
    assert "s3cret" not in postgres.redacted("postgresql://db/news?user=bot&password=s3cret&sslmode=require")
    assert postgres.redacted("postgresql://bot@db/news") == "postgresql://bot@db/news"
