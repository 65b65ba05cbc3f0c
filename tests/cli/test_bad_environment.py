"""No command ends in a traceback on bad input or a bad environment: one line says what is wrong, and the exit
code is clean (0, 1 or 2).

Every subcommand runs in-process against a missing, a read-only and a corrupt index and question log. Read-only
is a real read-only folder, not chmod (the tests run as root): see tests/support/readonly.py for how, which way
worked here, and when the test is skipped instead. A full disk is simulated by making the write of the new build's
vectors fail with ENOSPC, the error a full disk gives.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.editorial.questionlog import QuestionLog, QuestionRecord
from index import Library

from ..conftest import CONTENT, ROOT
from ..support.hostile_fs import fill, full_disk, read_only

Run = Callable[..., tuple[int, str, str]]
COMMANDS = {
    "build": ["build"],
    "ask": ["ask", "How many White Helmets are still trapped?"],
    "ask --batch": ["ask", "--batch", "{batch}"],
    "summary": ["summary"],
    "stories": ["stories"],
    "chat": ["chat"],
    "report": ["report", "--out", "{out}"],
    "run": ["run"],
    "start": ["start"],
}
CLEAN = {0, 1, 2}


def make_log(path: Path, questions: int = 5) -> Path:
    log = QuestionLog(path, salt="test")
    for n in range(questions):
        log.record(QuestionRecord(question=f"How many White Helmets are trapped? ({n})", status="answered", user_id=n))
    log.close()
    return path


def _env(root: Path, index: Path, content: Path, log: Path) -> dict[str, str]:
    batch = root / "batch.jsonl"
    if root.exists() and not batch.exists():
        batch.write_text(json.dumps({"question": "How many are trapped?"}) + "\n", encoding="utf-8")
    return {"INDEX_DIR": str(index), "CONTENT_DIR": str(content), "QUESTION_LOG_PATH": str(log), "root": str(root)}


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    """Run the command line in-process with the environment `env`, stdin closed and no Discord token."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setattr(sys, "stdin", None)  # `chat` with standard input closed
    monkeypatch.chdir(tmp_path)  # .env files and the default reports/ folder stay out of the repository

    def run(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
        for name, value in env.items():
            if name.isupper():
                monkeypatch.setenv(name, value)
        args = [a.format(batch=Path(env["root"]) / "batch.jsonl", out=tmp_path / "reports") for a in argv]
        code = cli.main(args)
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err, (argv, out.err)
        assert code in CLEAN, (argv, code, out.err)
        return code, out.out, out.err

    return run


@pytest.fixture(scope="module")
def read_only_env(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> Iterator[dict[str, str]]:
    """A good index and log in a folder nothing can write (module-wide: nothing can change it)."""
    root = tmp_path_factory.mktemp("read-only")
    shutil.copytree(built_index, root / "index", symlinks=True)
    make_log(root / "questions.sqlite3")
    env = _env(root, root / "index", CONTENT, root / "questions.sqlite3")
    with read_only(root):
        yield env


@pytest.fixture
def missing_env(tmp_path: Path) -> dict[str, str]:
    """Index, stories and log all pointing where nothing is (a fresh machine with the wrong paths)."""
    root = tmp_path / "env"
    root.mkdir()
    return _env(root, root / "no-index", root / "no-content", root / "no-questions.sqlite3")


@pytest.fixture
def corrupt_env(tmp_path: Path, built_index: Path) -> dict[str, str]:
    """An index whose manifest was cut short, and a log that is random bytes."""
    root = tmp_path / "env"
    shutil.copytree(built_index, root / "index", symlinks=True)
    ((root / "index" / "current").resolve() / "manifest.json").write_text('{"format_version": 1, "mod', "utf-8")
    (root / "questions.sqlite3").write_bytes(bytes(range(256)) * 32)
    return _env(root, root / "index", CONTENT, root / "questions.sqlite3")


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_on_a_missing_environment(invoke: Run, missing_env: dict[str, str], command: str) -> None:
    code, _, err = invoke(missing_env, *COMMANDS[command])
    assert (code != 0 and err.startswith("error: ")) or command == "run"
    if command == "run":
        assert code == 2 and "DISCORD_TOKEN" in err


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_on_a_read_only_environment(invoke: Run, read_only_env: dict[str, str], command: str) -> None:
    code, out, err = invoke(read_only_env, *COMMANDS[command])
    if command in ("build", "start"):  # can't take the build lock; start serves the index that is there
        assert "read-only file system" in err or "not allowed" in err
        assert "Any index already there is unchanged" in err and err.count("\n") <= 3
        assert code == (1 if command == "build" else 0)
    elif command == "run":
        assert code == 2 and "DISCORD_TOKEN" in err
    else:  # reading works: an index and a log on a read-only volume are served
        assert code == 0 and out and "error" not in err, err


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_on_a_corrupt_environment(invoke: Run, corrupt_env: dict[str, str], command: str) -> None:
    code, _, err = invoke(corrupt_env, *COMMANDS[command])
    if command in ("build", "start"):  # a build writes a good index over the damaged one
        assert code == 0
    elif command == "report":
        assert code == 1 and "is not a readable question log" in err
    elif command == "run":
        assert code == 2 and "DISCORD_TOKEN" in err
    else:
        assert code == 1 and err.startswith("error: manifest") and "newsroom-bot build" in err


# ----------------------------------------------------------------- the question log, one case at a time
@pytest.fixture
def report(invoke: Run, tmp_path: Path, built_index: Path) -> Callable[..., tuple[int, str, str]]:
    def run(log: Path, *extra: str) -> tuple[int, str, str]:
        env = _env(tmp_path, built_index, CONTENT, log)
        return invoke(env, "report", "--out", str(tmp_path / "reports"), *extra)

    return run


def test_report_on_a_truncated_log(report: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    good = make_log(tmp_path / "good.sqlite3", questions=50)
    cut = tmp_path / "cut.sqlite3"
    cut.write_bytes(good.read_bytes()[:3000])
    code, _, err = report(cut)
    assert code == 1 and "is not a readable question log" in err and "backup" in err


def test_report_on_a_log_from_a_newer_or_older_bot(report: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    log = make_log(tmp_path / "q.sqlite3")
    with sqlite3.connect(log) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'later')")
    code, _, err = report(log)
    assert code == 1 and "newer newsroom-bot (log schema 99" in err and "update newsroom-bot" in err
    with sqlite3.connect(log) as conn:
        conn.execute("DELETE FROM schema_version")
    code, _, err = report(log)
    assert code == 1 and "log schema 0" in err and "start the bot once" in err


def test_report_on_a_file_that_is_not_a_log(report: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    code, _, err = report(other)
    assert code == 1 and "is not a question log" in err


def test_report_on_a_log_in_a_read_only_folder(report: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    log = make_log(folder / "q.sqlite3")
    with read_only(folder):
        code, out, err = report(log)
    assert code == 0 and "5 questions" in out, err


def test_report_into_a_read_only_folder(report: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    log = make_log(tmp_path / "q.sqlite3")
    folder = tmp_path / "shared"
    folder.mkdir()
    with read_only(folder):
        code, _, err = report(log, "--out", str(folder / "reports"))
    assert code == 1 and err.startswith("error: writing the report: ") and "--out DIR" in err
    assert err.count("\n") == 1


# ----------------------------------------------------------------- builds
def test_a_full_disk_during_a_build_is_one_line_and_the_old_index_still_serves(
    invoke: Run, tmp_path: Path, built_index: Path
) -> None:
    """A real full disk: the index on a small tmpfs with all but 16 KB of it taken, then `build --force`.

    QUANTIZATION is the index's own (fp32), so the build re-embeds with the export it has and the full disk
    is met writing the new build's files."""
    size = sum(f.stat().st_size for f in built_index.rglob("*") if f.is_file() and not f.is_symlink())
    with full_disk(tmp_path, size // 2**20 + 8) as disk:
        index = disk / "index"
        shutil.copytree(built_index, index, symlinks=True)
        before = (index / "current").resolve()
        fill(disk)
        env = {**_env(tmp_path, index, CONTENT, tmp_path / "q.sqlite3"), "QUANTIZATION": "fp32"}
        code, _, err = invoke(env, "build", "--force")
        assert code == 1 and "no space left on the device" in err and "free some space" in err
        assert "Any index already there is unchanged" in err and err.count("\n") == 1
        assert (index / "current").resolve() == before
        assert [p.name for p in (index / "builds").iterdir() if p.name.startswith(".")] == []  # nothing half-written
        (disk / "filler").unlink()
        assert Library.load(index).ask("How many White Helmets are still trapped in Syria?").shows_quotes


# ----------------------------------------------------------------- text that isn't text
def test_a_question_in_bytes_that_are_not_utf8(tmp_path: Path, built_index: Path) -> None:
    """A real process: Python turns argv bytes that aren't UTF-8 into lone surrogates before main sees them."""
    env = {"PATH": "/usr/bin:/bin", "INDEX_DIR": str(built_index), "HF_HUB_OFFLINE": "1", "LANG": "C.UTF-8"}
    for argv in ([b"ask", b"caf\xe9 trapped?"], [b"ask", b"--story", b"\xff\xfe", b"trapped?"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *argv], cwd=ROOT, env=env, capture_output=True, timeout=120
        )
        err = done.stderr.decode("utf-8", "replace")
        assert done.returncode == 2 and "Traceback" not in err and "aren't UTF-8" in err, err
