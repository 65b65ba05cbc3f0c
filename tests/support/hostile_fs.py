"""Folders that refuse writes for real: read-only (even for root) and full.

The tests run as root, and chmod doesn't stop root.

`read_only(folder)` makes `folder` read-only for as long as the `with` lasts, the first way that works here:

1. a read-only bind mount of the folder onto itself (`mount --bind`, then `mount -o remount,bind,ro`): every
   write under it fails with EROFS, as on a read-only volume. Needs CAP_SYS_ADMIN, which root has on this
   machine (a plain VM or CI runner; not in an unprivileged container).
2. `chattr -R +i` (immutable files and folders: EPERM on any change). Needs CAP_LINUX_IMMUTABLE and ext2/3/4,
   XFS or btrfs (not tmpfs or overlayfs).

Both work on this project's machines (ext4, root); where neither does, the test is skipped, saying why. Each
way is checked by trying a write before the test relies on it, so a test never passes on a writable folder.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _writable(folder: Path) -> bool:
    probe = folder / ".write-probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


def _run(*command: str) -> bool:
    if shutil.which(command[0]) is None:
        return False
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


@contextmanager
def _bind_mount(folder: Path) -> Iterator[bool]:
    mounted = _run("mount", "--bind", str(folder), str(folder))
    try:
        yield mounted and _run("mount", "-o", "remount,bind,ro", str(folder)) and not _writable(folder)
    finally:
        if mounted:
            _run("umount", str(folder))


@contextmanager
def _immutable(folder: Path) -> Iterator[bool]:
    made = _run("chattr", "-R", "+i", str(folder))
    try:
        yield made and not _writable(folder)
    finally:
        if made:
            _run("chattr", "-R", "-i", str(folder))


@contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """Make `folder` read-only for the `with`; yields how ("bind mount" or "chattr +i"), or skips the test."""
    for how, way in (("bind mount", _bind_mount), ("chattr +i", _immutable)):
        with way(folder) as works:
            if works:
                yield how
                return
    pytest.skip("cannot make a folder read-only for root here: no bind mount (CAP_SYS_ADMIN) and no chattr +i")


@contextmanager
def full_disk(tmp_path: Path, megabytes: int) -> Iterator[Path]:
    """A folder on a tmpfs of `megabytes` MB: copy into it what must fit, then `fill(folder)` takes the rest.

    Needs `mount -t tmpfs` (root with CAP_SYS_ADMIN); skips the test where that fails."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if not _run("mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)):
        pytest.skip("cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        yield folder
    finally:
        _run("umount", str(folder))


def fill(folder: Path, leave: int = 16_384) -> None:
    """Take all but `leave` bytes of the free space on `folder`'s file system."""
    import os

    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with (folder / "filler").open("wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, max(free - leave, 0))
