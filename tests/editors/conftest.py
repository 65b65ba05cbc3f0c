"""The question log's two homes: every test that takes `log_target` runs on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def log_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a question log goes: a fresh SQLite file, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return tmp_path / "q.sqlite3"
    return str(request.getfixturevalue("database_url"))
