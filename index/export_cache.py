"""The models' ONNX exports, made once per model on a machine and shared by every index built there.

An export (the embedder's, `index.onnx_export`; the cross-encoder's, `index.cross_encoder_export`) depends only on the model's files
(its fingerprint) and on how this code exports it (its export format), not on the index: exporting it again for a
second index, a test's temporary index or a benchmark's cost half a minute of torch each time. So exports live in
one cache folder (`MODEL_CACHE`, default `~/.cache/newsroom-bot`), one folder per model and format::

    <cache>/exports/<name>/                  a finished export, every file recorded with its sha256 in its json
    <cache>/exports/.<name>.lock             held while a process checks, makes or repairs <name>
    <cache>/exports/.<name>.<pid>.partial/   an export being written (renamed into place when finished)

An index still holds what it serves, in `models/<name>/`: hard links to the cache's files (copies where the index
is on another file system), with its own json naming only those. So an index folder is complete on its own (copy
it, back it up, serve it elsewhere), and a file damaged or deleted in it is repaired from the cache at the next
build, checked by checksum, without exporting again. A damaged cache entry is exported again, under its lock.
Removing the cache folder is always safe: the next build exports again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)
EXPORTS = "exports"


def default_cache() -> Path | None:
    """`~/.cache/newsroom-bot`, or None where the process has no home folder (exports then go in each index)."""
    try:
        return Path.home() / ".cache" / "newsroom-bot"
    except RuntimeError:
        return None


def provide(
    cache: Path | None,
    name: str,
    target: Path,
    *,
    ready: Callable[[Path], bool],
    make: Callable[[Path], None],
    info_file: str,
    files: Iterable[str],
) -> Path:
    """Make `target` a checked export holding `files` (and its `info_file`), from the cache entry `name`.

    `ready(folder)` says whether a folder holds a finished, undamaged export with what serving needs;
    `make(folder)` exports (or completes) one there. Without a usable cache, `make(target)` exports into the
    index itself, as every index did before the cache.
    """
    if ready(target):
        return target
    exports = _writable(cache)
    if exports is None:
        make(target)
        return target
    with _entry(exports, name, ready, make) as entry:
        link_export(entry, target, info_file, [*files, *_recorded(target, info_file, entry)])
    return target


def cached(cache: Path | None, name: str, *, ready: Callable[[Path], bool], make: Callable[[Path], None]) -> Path:
    """The cache entry `name` itself, made or repaired if needed (benchmarks and notebooks serve from it)."""
    exports = _writable(cache)
    if exports is None:
        raise OSError(f"no usable model cache ({cache}) to export {name} into")
    with _entry(exports, name, ready, make) as entry:
        return entry


def _writable(cache: Path | None) -> Path | None:
    if cache is None:
        return None
    exports = cache.expanduser() / EXPORTS
    try:
        exports.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("model cache %s is not usable (%s): exporting into the index instead", cache, exc.strerror)
        return None
    return exports


@contextmanager
def _entry(exports: Path, name: str, ready: Callable[[Path], bool], make: Callable[[Path], None]) -> Iterator[Path]:
    """Hold the entry's lock, make or repair the entry, and yield it (still locked: no one re-makes it meanwhile)."""
    lock = FileLock(exports / f".{name}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for another process making the export %s in %s", name, exports)
        lock.acquire()
    try:
        entry = exports / name
        for partial in exports.glob(f".{name}.*.partial"):  # under the lock: left by a killed export
            shutil.rmtree(partial, ignore_errors=True)
        if not ready(entry):
            if entry.exists():
                log.warning("the export %s in the model cache is incomplete or damaged: exporting it again", name)
            make(entry)
        yield entry
    finally:
        lock.release()


def _recorded(target: Path, info_file: str, entry: Path) -> list[str]:
    """The files `target` already served that the cache entry also has: a second quantisation asked for later
    joins the first instead of replacing it."""
    theirs, ours = read_info(target, info_file), read_info(entry, info_file)
    return [n for n in (theirs or {}).get("files", {}) if n in (ours or {}).get("files", {})]


def read_info(folder: Path, info_file: str) -> dict[str, Any] | None:
    try:
        info = json.loads((folder / info_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def link_export(source: Path, target: Path, info_file: str, names: Iterable[str]) -> None:
    """Put `names` of the export `source` in `target` (hard links, else copies) with an `info_file` that records
    only them, in a staging folder renamed into place: no process ever sees half of it."""
    info = read_info(source, info_file) or {}
    recorded: dict[str, str] = info.get("files", {})
    wanted = sorted({n for n in names if n in recorded})
    with staged(target) as staging:
        for file in wanted:
            try:
                os.link(source / file, staging / file)
            except OSError:  # another file system, or one without hard links
                shutil.copy2(source / file, staging / file)
        write_info(staging, info_file, info | {"files": {n: recorded[n] for n in wanted}})


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """A fresh staging folder beside `target` (`.<name>.<pid>.partial`) to write an export or its links in: renamed
    over `target` when the block ends, removed when it fails, so no one sees half of it. Write the json last."""
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_info(folder: Path, info_file: str, info: dict[str, Any]) -> None:
    """Replace the json by rename: never write through a hard link into the cache or another index."""
    tmp = folder / f".{info_file}.{os.getpid()}"
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.replace(tmp, folder / info_file)


def swap_in(staging: Path, target: Path) -> None:
    """Rename a finished staging folder over `target` (removed first when there)."""
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
