"""Starting the Discord bot from the command line (filled in by the Discord issue)."""

from __future__ import annotations

import sys

from .settings import Settings


def run_bot(settings: Settings) -> int:
    print("The Discord bot is not built yet; use `newsroom-bot chat` meanwhile.", file=sys.stderr)
    return 1
