"""`python -m bot`: run the Discord bot with settings from the environment and `.env`."""

from __future__ import annotations

import sys

from .runner import run_bot
from .settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_bot(settings)


if __name__ == "__main__":
    sys.exit(main())
