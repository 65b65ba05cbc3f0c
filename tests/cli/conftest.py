"""`run(*argv)`: the command line run in-process on the session's real index; returns (exit code, stdout, stderr).

The commands are handed the session's Library through `cli.Services` (what `main` gives Click's context), so no
model loads per command; `run(*argv, open_library=...)` hands in another opener."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from index import Library


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INDEX_DIR", str(built_index))

    def invoke(*argv: str, open_library=lambda index, settings: library) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
        code = cli.main(list(argv), services=cli.Services(open_library=open_library))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke
