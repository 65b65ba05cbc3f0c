"""No tracked file is a built artefact in disguise: every file in the repository stays under 5 MB.

Indexes, model exports and venvs are built, not committed. The fitted files the project ships (weights, the
embedder's adapter, the cross-encoder's deltas) are small on purpose; a bigger one means something built slipped in.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 5_000_000


def test_every_tracked_file_is_under_5_mb() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name]
    assert files
    big = {str(p.relative_to(ROOT)): p.stat().st_size for p in files if p.is_file() and p.stat().st_size >= LIMIT}
    assert big == {}
