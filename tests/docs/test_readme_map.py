"""The README's map of the top-level folders names every folder of the repository, and only folders that exist.

The map is short on purpose (one line a folder): a hand-kept list of modules drifted before. Folders git ignores
(.venv, data, reports, build outputs) and hidden ones are not part of the repository, so they are not expected.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ignored(name: str) -> bool:
    patterns = [p.strip().strip("/") for p in (ROOT / ".gitignore").read_text().splitlines() if p.strip()]
    return name.startswith(".") or any(fnmatch.fnmatch(name, p) for p in patterns if not p.startswith("#"))


def mapped_folders(readme: str) -> set[str]:
    """The first-column folders of the table under '## Where things are'."""
    section = readme.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`/]+)/` \|", section, re.MULTILINE))


def test_the_readme_maps_every_top_level_folder() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and not ignored(p.name)}
    assert mapped_folders((ROOT / "README.md").read_text(encoding="utf-8")) == folders


def test_the_map_is_read_from_the_table() -> None:
    readme = "## Where things are\n\n| folder | what |\n|---|---|\n| `index/` | x |\n| `bot/` | y `bot/cli/` |\n\n## Next\n| `no/` | z |\n"
    assert mapped_folders(readme) == {"index", "bot"}
