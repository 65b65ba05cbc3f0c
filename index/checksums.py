"""Files checked against the sha256 digests recorded when they were written (a build's manifest, an export's
encoder.json): one check for every file the engine loads, so a truncated or overwritten file is named and
refused instead of crashing whatever parses it (FAISS, onnxruntime, tokenizers).

A file already verified by this process is not hashed again while its inode, size and mtime are unchanged: a
server that reloads builds sharing one model export hashes the ~23 MB int8 model once, and a test session that
builds many indexes from hard links of one export does not hash it per build. Writing to a file (truncating it,
overwriting it) changes its mtime, so damage made after a check is still caught at the next one.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_verified: dict[tuple[int, int, int, int], str] = {}  # (device, inode, size, mtime) -> sha256 hex digest
_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    """The file's sha256 as hex."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _digest(path: Path) -> str:
    stat = os.stat(path)
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _lock:
        known = _verified.get(key)
    if known is None:
        known = sha256_file(path)
        with _lock:
            _verified[key] = known
    return known


@dataclass(frozen=True)
class FileProblem:
    """One file that does not match its record; `str()` names it and says how, e.g. "tokenizer.json is missing"."""

    name: str
    missing: bool
    how: str

    def __str__(self) -> str:
        return f"{self.name} {self.how}"


def file_problem(folder: Path, recorded: Mapping[str, str], names: Iterable[str] | None = None) -> FileProblem | None:
    """The first bad file among `names` (default: every recorded file), or None when each matches its record.

    `recorded` maps a file name in `folder` to its sha256. A name asked for but not recorded counts as bad: what
    was never recorded cannot be trusted.
    """
    for name in recorded if names is None else names:
        path = folder / name
        if not path.is_file():
            return FileProblem(name, True, "is missing")
        if name not in recorded:
            return FileProblem(name, False, f"is not among the files recorded when {folder.name} was written")
        try:
            digest = _digest(path)
        except OSError as exc:
            return FileProblem(name, False, f"cannot be read ({exc.strerror or type(exc).__name__})")
        if digest != recorded[name]:
            return FileProblem(name, False, "is damaged (its sha256 is not the one recorded when it was written)")
    return None
