"""The `newsroom-bot` process ends without taking the interpreter apart (`bot.cli.entry.run`), and loses nothing by it:
what it printed reaches its reader, the atexit handlers run, the exit code is main's and a live thread is waited for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT

QUESTION = "How many White Helmets are still trapped in Syria?"


def _process(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _env(built_index: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "INDEX_DIR": str(built_index), "HF_HUB_OFFLINE": "1", "LANG": "C.UTF-8"}


def test_what_a_command_printed_reaches_a_pipe(built_index: Path, run) -> None:  # type: ignore[no-untyped-def]
    """`ask` prints its answer with plain print(): buffered, so only the flush before the exit sends it."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", QUESTION],
        cwd=ROOT,
        env=_env(built_index),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    code, out, _ = run("ask", QUESTION)
    assert (done.returncode, code) == (0, 0), done.stderr
    assert done.stdout == out and "trapped" in out


def test_atexit_handlers_run_and_the_exit_code_is_mains(tmp_path: Path) -> None:
    done = _process(
        "import atexit, sys\n"
        "atexit.register(lambda: print('the handler ran'))\n"
        f"sys.argv = ['newsroom-bot', 'ask', '--index', {str(tmp_path / 'none')!r}, 'a question']\n"
        "from bot.cli.entry import run\n"
        "run()\n"
    )
    assert done.returncode == 1 and done.stderr.startswith("error: "), done.stderr
    assert done.stdout == "the handler ran\n"


def test_a_thread_still_running_is_waited_for() -> None:
    """The thread prints only once the main thread has finished: an exit that didn't wait would lose its line."""
    done = _process(
        "import sys, threading, time\n"
        "def after_main():\n"
        "    while threading.main_thread().is_alive():\n"
        "        time.sleep(0.01)\n"
        "    print('the thread finished')\n"
        "threading.Thread(target=after_main).start()\n"
        "sys.argv = ['newsroom-bot', '--help']\n"
        "from bot.cli.entry import run\n"
        "run()\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage:") and done.stdout.endswith("the thread finished\n")
