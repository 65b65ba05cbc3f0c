"""What a build killed part-way (kill -9, a crash, a power cut) leaves in an index folder, and its removal.

A build writes each thing in a staging place and renames it into place, so readers never see half of it. Killed
before the rename, the staging place stays, and pruning (which keeps the newest finished builds) never sees it:

- `builds/.<id>.partial/`: a build being written (store.write_build),
- `.current.<id>`: the link that was about to replace `current`,
- `models/.<name>.<pid>.partial/`: a model or cross-encoder export being written (~110 MB each),
- `models/<name>/.<file>.<pid>`: an export's json being rewritten.

Only a build makes these, and only while it holds the index's build lock, so a build that holds the lock knows
that none of them belongs to a live process: `build_index` removes them first. The served build, `current`,
finished builds and finished exports are never touched.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .store import BUILDS, CURRENT, MODELS

log = logging.getLogger(__name__)


def leftovers(index_dir: Path) -> list[Path]:
    """The staging files and folders of interrupted builds in `index_dir` (only meaningful under the build lock)."""
    models = index_dir / MODELS
    found = [
        *index_dir.glob(f".{CURRENT}.*"),
        *(index_dir / BUILDS).glob(".*.partial"),
        *models.glob(".*.partial"),
        *(p for p in models.glob("*/.*") if p.is_file() and not p.is_symlink()),
    ]
    return sorted(found)


def remove_leftovers(index_dir: Path) -> list[Path]:
    """Remove `leftovers(index_dir)`; call it holding the build lock. Returns what was removed (and logs it)."""
    found = leftovers(index_dir)
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if found:
        names = ", ".join(str(p.relative_to(index_dir)) for p in found)
        log.warning("removed %d leftover(s) of interrupted builds from %s: %s", len(found), index_dir, names)
    return found
