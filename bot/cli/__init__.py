"""The command line face: `newsroom-bot` (build, ask, summary, stories, chat, report, run, start)."""

from .commands import Services
from .entry import main, run

__all__ = ["Services", "main", "run"]
