"""`run(*argv)`: the command line run in-process on the session's real index; returns (exit code, stdout, stderr)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.cli import commands
from index import Library


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INDEX_DIR", str(built_index))
    monkeypatch.setattr(commands, "_library", lambda index, settings: library)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke
